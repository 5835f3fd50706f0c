"""Informed-consent API (issue 13): the screening consent recorded at screening (and back-filled for
older subjects), re-consent to a new consent-form version with its refusals, the re-consent flag at
the next visit (overdue once that visit passed, cleared once signed) and the derived deviation of a
visit done without the required re-consent. SQLite and PostgreSQL.

The rules are ICH E6(R2) 4.8.2 (a revised consent form, approved before use, is signed by subjects
already in the trial) and 4.8.8 (signed and dated by the subject and the person who obtained it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from tests.integration.api_helpers import Api, fill_enrolment
from trialdesk.adapters.db.models import AuditRecord
from trialdesk.domain.protocol.consent import ConsentVersion
from trialdesk.protocols.loader import ProtocolRegistry
from trialdesk.services import clock

IVO = "ivo-shfrt-2l"
BASE = f"/api/trials/{IVO}/subjects"
REVISED = "2026-06-01"
"""Version 2.0 of the test protocol's consent form is in use from this day (the seed has only 1.0)."""


def _revise_consent(api: Api, effective: str = REVISED) -> None:
    """The running app's protocol gains consent version 2.0 (as a new protocol file version would)."""
    app: Any = api.client.app
    registry: ProtocolRegistry = app.state.registry
    protocol = registry.get(IVO)
    revised = ConsentVersion(
        version="2.0",
        effective_date=dt.date.fromisoformat(effective),
        provenance="default",
        rationale="test: revised form with new safety information",
    )
    amended = protocol.model_copy(update={"consent_versions": [*protocol.consent_versions, revised]})
    app.state.registry = ProtocolRegistry([amended if p.id == IVO else p for p in registry])


@contextmanager
def _on(day: str) -> Iterator[None]:
    with clock.pinned_at(dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.UTC)):
        yield


def _treated(api: Api, number: str = "IVO-IC-1") -> int:
    subject_id = api.enrolled_subject(IVO, number)
    with _on("2026-03-10"):
        start = {"treatment_start_date": "2026-03-09"}
        assert api.put("inv1", f"{BASE}/{subject_id}/follow-up", start).status_code == 200
    return subject_id


def _consent(api: Api, subject_id: int, user: str = "coord1", **changes: Any) -> Any:
    body = {"version": "2.0", "consent_date": "2026-06-05", "obtained_by": "inv1"}
    body.update(changes)
    return api.post(user, f"{BASE}/{subject_id}/consents", body)


def test_the_screening_consent_is_recorded_when_the_subject_is_screened(api: Api) -> None:
    screened = api.screen(IVO, "IVO-IC-0")
    assert screened.status_code == 201, screened.text
    data = api.get("coord1", f"{BASE}/{screened.json()['id']}/consents").json()
    assert [v["version"] for v in data["versions"]] == ["1.0"]
    assert data["consents"] == [
        {
            "version": "1.0",
            "consent_date": "2026-02-27",  # the signed date of the screening record
            "obtained_by": "coord1",
            "obtained_by_name": "Coord1",
            "entered_by": "coord1",
            "screening": True,
            "stored": True,
        }
    ]
    assert data["reconsent"] is None
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        audited = connection.scalars(
            select(AuditRecord.action).where(AuditRecord.table_name == "consent_records")
        ).all()
    assert "insert" in audited


def test_a_subject_without_a_consent_record_gets_the_screening_consent_back_filled(api: Api) -> None:
    fill_enrolment(api, IVO, "main", "ivo-shfrt", 1)  # stored before consent records existed
    subject_id = next(
        s["id"]
        for s in api.get("monitor", f"/api/trials/{IVO}/subjects").json()
        if s["screening_number"] == "FILL-000"
    )
    data = api.get("monitor", f"{BASE}/{subject_id}/consents").json()
    assert [(c["version"], c["consent_date"], c["stored"]) for c in data["consents"]] == [
        ("1.0", "2026-03-30", False)
    ]
    _revise_consent(api)
    with _on("2026-06-05"):
        assert _consent(api, subject_id).status_code == 201
    stored = api.get("monitor", f"{BASE}/{subject_id}/consents").json()["consents"]
    assert [(c["version"], c["stored"], c["screening"]) for c in stored] == [
        ("1.0", True, True),
        ("2.0", True, False),
    ]


REFUSALS: list[tuple[dict[str, Any], str, str]] = [
    ({"version": "9.9"}, "version", "not a version of this protocol"),
    ({"version": "1.0"}, "version", "not the form in use on 2026-06-05: version 2.0"),
    ({"version": "2.0", "consent_date": "2026-05-31"}, "version", "not the form in use"),
    ({"consent_date": "2026-06-20"}, "consent_date", "in the future"),
    ({"version": "1.0", "consent_date": "2026-02-01"}, "consent_date", "before the screening consent"),
    ({"obtained_by": "coord2"}, "obtained_by", "not a coordinator or investigator of the subject's site"),
    ({"obtained_by": "monitor"}, "obtained_by", "site staff"),
    ({"obtained_by": "nobody"}, "obtained_by", "site staff"),
    ({"consent_date": "June 5th"}, "consent_date", ""),
]


def test_bad_consents_are_refused_naming_the_field_and_nothing_is_written(api: Api) -> None:
    subject_id = _treated(api)
    _revise_consent(api)
    with _on("2026-06-10"):
        for changes, field, words in REFUSALS:
            response = _consent(api, subject_id, **changes)
            assert response.status_code == 422, (changes, response.text)
            assert response.json()["field"] == field, (changes, response.json())
            assert words in response.json()["detail"], (changes, response.json())
        assert _consent(api, subject_id, user="monitor").status_code == 403  # monitors read only
        assert _consent(api, subject_id, user="coord2").status_code == 404  # another site's subject
        consents = api.get("coord1", f"{BASE}/{subject_id}/consents").json()["consents"]
    assert [c["version"] for c in consents] == ["1.0"]


def test_a_version_is_signed_once_and_consent_and_death_dates_agree(api: Api) -> None:
    subject_id = _treated(api)
    _revise_consent(api)
    with _on("2026-06-20"):
        assert _consent(api, subject_id).status_code == 201
        again = _consent(api, subject_id, consent_date="2026-06-06")
        assert again.status_code == 409 and again.json()["rule"] == "consent_version_signed"
        early_death = api.put("inv1", f"{BASE}/{subject_id}/follow-up", {"death_date": "2026-06-04"})
        assert early_death.status_code == 422 and early_death.json()["field"] == "death_date"
        assert "consent version 2.0 signed" in early_death.json()["detail"]
    other = _treated(api, "IVO-IC-2")
    with _on("2026-06-20"):
        died = api.put("inv1", f"{BASE}/{other}/follow-up", {"death_date": "2026-06-03"})
        assert died.status_code == 200, died.text
        late = _consent(api, other)
    assert late.status_code == 422
    assert late.json()["field"] == "consent_date" and "death" in late.json()["detail"]


def test_reconsent_is_flagged_at_the_next_visit_and_cleared_once_signed(api: Api) -> None:
    subject_id = _treated(api)
    _revise_consent(api)
    url = f"{BASE}/{subject_id}/consents"
    with _on("2026-05-20"):  # version 2.0 is not in use yet
        assert api.get("coord1", url).json()["reconsent"] is None
        assert api.get("coord1", f"/api/trials/{IVO}/reconsent-due").json() == []
    with _on("2026-06-02"):
        flag = api.get("coord1", url).json()["reconsent"]
        # cycles every 21 days from 2026-03-09: cycle 5 day 1 on 2026-06-01, the first visit from 2.0 on
        assert flag["version"] == "2.0" and flag["latest_signed"] == "1.0"
        assert flag["due_date"] == "2026-06-01" and flag["visit_id"] == "C5"
        assert flag["overdue"] is False
    with _on("2026-06-10"):  # cycle 5's window (up to 3 days late) has passed without re-consent
        assert api.get("coord1", url).json()["reconsent"]["overdue"] is True
        due = api.get("monitor", f"/api/trials/{IVO}/reconsent-due").json()
        assert [(d["subject_id"], d["site_code"], d["overdue"]) for d in due] == [(subject_id, "S01", True)]
        assert api.get("coord2", f"/api/trials/{IVO}/reconsent-due").json() == []  # not their site
        signed = _consent(api, subject_id, consent_date="2026-06-09")
        assert signed.status_code == 201, signed.text
        assert signed.json()["entered_by"] == "coord1" and signed.json()["obtained_by_name"] == "Inv1"
        assert api.get("coord1", url).json()["reconsent"] is None
        assert api.get("coord1", f"/api/trials/{IVO}/reconsent-due").json() == []


def test_a_visit_done_without_the_required_reconsent_is_a_derived_deviation(api: Api) -> None:
    late = _treated(api, "IVO-IC-3")
    on_time = _treated(api, "IVO-IC-4")
    _revise_consent(api)
    with _on("2026-06-02"):
        assert _consent(api, on_time, consent_date="2026-06-01").status_code == 201
        for subject_id in (late, on_time):
            done = api.put(
                "coord1", f"{BASE}/{subject_id}/visits/C5", {"status": "done", "date": "2026-06-01"}
            )
            assert done.status_code == 200, done.text
        assert _consent(api, late, consent_date="2026-06-02").status_code == 201  # signed a day late
        listing = api.get("monitor", f"/api/trials/{IVO}/deviations").json()
    consent = [d for d in listing if d["category"] == "consent"]
    assert [(d["screening_number"], d["severity"], d["date"]) for d in consent] == [
        ("IVO-IC-3", "major", "2026-06-01")
    ]
    assert "without re-consent to consent version 2.0" in consent[0]["description"]
