"""Role x subject-level endpoint families (attest, enrol, status, randomize, tumour data, override),
on SQLite and PostgreSQL: only the roles the policy names may act; the others get 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.api_helpers import (
    Api,
    consent_date,
    enrolled_in_phase,
    enrolment_moment,
    open_randomized_phase,
)
from trialdesk.services import clock

SCR = "scr-escc-01"
IVO = "ivo-shfrt-2l"
ROLES = ["coord1", "inv1", "stat", "safety", "monitor", "admin"]
LESIONS = [{"id": "T1", "site": "liver", "nodal": False, "role": "target", "diameter_mm": 40}]


def _attest(api: Api, user: str, n: int) -> Any:
    subject_id = api.screen(IVO, f"A-{n}").json()["id"]
    body = {"criterion_id": "inc-g-compliance", "answer": True}
    return api.post(user, f"/api/trials/{IVO}/subjects/{subject_id}/attestations", body)


def _enrol(api: Api, user: str, n: int) -> Any:
    subject_id = api.screen(IVO, f"E-{n}").json()["id"]
    api.attest_all(IVO, subject_id)
    body = {"consent_date": consent_date(IVO), "password": "correct horse battery"}
    with clock.pinned_at(enrolment_moment(IVO)):
        return api.post(user, f"/api/trials/{IVO}/subjects/{subject_id}/enrol", body)


def _status(api: Api, user: str, n: int) -> Any:
    subject_id = api.screen(IVO, f"S-{n}").json()["id"]
    body = {"status": "screen_failed", "reason": "declined"}
    return api.post(user, f"/api/trials/{IVO}/subjects/{subject_id}/status", body)


def _baseline(api: Api, user: str, n: int) -> Any:
    subject_id = api.enrolled_subject(IVO, f"B-{n}")
    return api.put(
        user,
        f"/api/trials/{IVO}/subjects/{subject_id}/tumour-baseline",
        {"date": "2026-04-20", "lesions": LESIONS},
    )


def _override(api: Api, user: str, n: int) -> Any:
    subject_id = api.enrolled_subject(IVO, f"O-{n}")
    base = f"/api/trials/{IVO}/subjects/{subject_id}"
    api.put("inv1", f"{base}/tumour-baseline", {"date": "2026-04-20", "lesions": LESIONS})
    body = {"target": "best_overall_response", "value": "PR", "reason": "central review"}
    return api.post(user, f"{base}/tumour-response/overrides", body)


def _randomize_setup(api: Api) -> list[tuple[int, str]]:
    assert open_randomized_phase(api, SCR).status_code == 200
    api.post("stat", f"/api/trials/{SCR}/randomization-lists", {"slots_per_stratum": 8})
    return [s for s in enrolled_in_phase(api, SCR, "iib", 12) if s[1] == "S01"]


FAMILIES: dict[str, tuple[Callable[[Api, str, int], Any], set[str]]] = {
    "attest": (_attest, {"inv1"}),
    "enrol": (_enrol, {"inv1"}),
    "status": (_status, {"coord1", "inv1"}),
    "tumour_baseline": (_baseline, {"coord1", "inv1"}),
    "response_override": (_override, {"inv1"}),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_subject_family_role_matrix(api: Api, family: str) -> None:
    action, allowed = FAMILIES[family]
    codes = {user: action(api, user, n).status_code for n, user in enumerate(ROLES)}
    assert {u for u, c in codes.items() if c < 400} == allowed, codes
    assert {c for u, c in codes.items() if u not in allowed} == {403}, codes


def test_randomize_role_matrix(api: Api) -> None:
    subjects = _randomize_setup(api)
    codes = {}
    for (subject_id, _site), user in zip(subjects, ROLES, strict=False):
        codes[user] = api.post(user, f"/api/trials/{SCR}/subjects/{subject_id}/randomize", {}).status_code
    assert {u for u, c in codes.items() if c < 400} == {"coord1", "inv1"}, codes
    assert {c for u, c in codes.items() if u not in ("coord1", "inv1")} == {403}, codes
