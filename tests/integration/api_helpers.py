"""Helpers for API tests: an app on a given database, bootstrap users and sites, log in, patients."""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.config import Settings
from trialdesk.entrypoints.api.app import create_app
from trialdesk.services import admin, clock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
PASSWORD = "correct horse battery"

ROLES_AT_SITE = {
    "coord1": ("coordinator", "S01"),
    "inv1": ("investigator", "S01"),
    "coord2": ("coordinator", "S02"),
    "inv2": ("investigator", "S02"),
    "stat": ("statistician", None),
    "safety": ("safety_reviewer", None),
    "monitor": ("monitor", None),
    "dm": ("data_manager", None),
    "admin": ("admin", None),
}


def patient(protocol_id: str, screening_number: str, *, keep_attestations: bool = False) -> dict[str, Any]:
    """An eligible example patient of the protocol with a new screening number."""
    data: dict[str, Any] = json.loads((EXAMPLES / f"{protocol_id}-eligible.json").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["id"] = screening_number
    if not keep_attestations:
        data["attestations"] = {}
    return data


@dataclass
class Api:
    """A TestClient on a fresh database with sites S01/S02 per trial and one user per role."""

    client: TestClient
    site_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            response = self.client.post("/api/auth/token", data={"username": user, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self.tokens[user] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: str, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, headers=self.headers(user), **kwargs)

    def post(self, user: str, url: str, body: Any = None) -> Any:
        return self.client.post(url, headers=self.headers(user), json=body)

    def patch(self, user: str, url: str, body: Any = None) -> Any:
        return self.client.patch(url, headers=self.headers(user), json=body)

    def put(self, user: str, url: str, body: Any = None) -> Any:
        return self.client.put(url, headers=self.headers(user), json=body)

    # --- trial flows -----------------------------------------------------------------------
    def screen(self, protocol_id: str, number: str, user: str = "coord1", site: str = "S01") -> Any:
        return self.post(
            user,
            f"/api/trials/{protocol_id}/subjects",
            {"site_code": site, "patient": patient(protocol_id, number)},
        )

    def attest_all(self, protocol_id: str, subject_id: int, user: str = "inv1") -> Any:
        record = patient(protocol_id, "x", keep_attestations=True)
        response = None
        for criterion_id, answer in record["attestations"].items():
            response = self.post(
                user,
                f"/api/trials/{protocol_id}/subjects/{subject_id}/attestations",
                {"criterion_id": criterion_id, "answer": answer["answer"]},
            )
            assert response.status_code == 200, response.text
        return response

    def enrol(self, protocol_id: str, subject_id: int, user: str = "inv1") -> Any:
        """Enrol on the trial clock two days after the example's screening date (the screening
        verdict must be current at enrolment: the protocol's screening window)."""
        with clock.pinned_at(enrolment_moment(protocol_id)):
            return self.post(
                user,
                f"/api/trials/{protocol_id}/subjects/{subject_id}/enrol",
                {"consent_date": consent_date(protocol_id), "password": PASSWORD},
            )

    def enrolled_subject(self, protocol_id: str, number: str, user: str = "coord1", site: str = "S01") -> int:
        screened = self.screen(protocol_id, number, user, site)
        assert screened.status_code == 201, screened.text
        subject_id: int = screened.json()["id"]
        investigator = "inv1" if site == "S01" else "inv2"
        self.attest_all(protocol_id, subject_id, investigator)
        enrolled = self.enrol(protocol_id, subject_id, investigator)
        assert enrolled.status_code == 200, enrolled.text
        return subject_id

    def ae(self, protocol_id: str, subject_id: int, grade: int, related: bool, user: str = "inv1") -> Any:
        level = "probable" if related else "unrelated"
        body = {
            "term": "Pneumonitis" if grade < 5 else "Death NOS",
            "grade": grade,
            "onset_date": "2026-05-01",
            "death_date": "2026-05-03" if grade == 5 else None,
            "site_aware_at": "2026-05-03T09:00:00+00:00" if grade == 5 else None,
            "attributions": {
                "pd1": level,
                "ldrt": level,
                "paclitaxel": "unlikely",
                "platinum": "unlikely",
                "cfrt": "unlikely",
            }
            if protocol_id == "scr-escc-01"
            else {"ivonescimab": level},
        }
        return self.post(user, f"/api/trials/{protocol_id}/subjects/{subject_id}/adverse-events", body)


def enrolment_moment(protocol_id: str) -> dt.datetime:
    """Two days after the example patient's screening date, 09:00 UTC."""
    data = json.loads((EXAMPLES / f"{protocol_id}-eligible.json").read_text(encoding="utf-8"))
    day = dt.date.fromisoformat(data["screening_date"]) + dt.timedelta(days=2)
    return dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC)


def consent_date(protocol_id: str) -> str:
    data = json.loads((EXAMPLES / f"{protocol_id}-eligible.json").read_text(encoding="utf-8"))
    return str(data["consent"]["signed_date"])


def build_api(database_url: str, data_dir: Path, protocol_dirs: list[Path] | None = None) -> Api:
    """Create the app on ``database_url`` and bootstrap sites and users through the admin services."""
    app = create_app(
        Settings(database_url=database_url, data_dir=data_dir, protocol_dirs=protocol_dirs or [])
    )
    client = TestClient(app)
    api = Api(client)
    registry = app.state.registry
    with unit_of_work(app.state.engine, "bootstrap") as session:
        for protocol in registry:
            protocol_id = protocol.id
            codes = ["S01", "S02"] if protocol.design.centres == "multi" else ["S01"]
            for code in codes:
                site = admin.add_site(
                    session, None, registry, protocol_id, code, f"Site {code} of {protocol_id}"
                )
                api.site_ids[(protocol_id, code)] = site.id
        for username, (role, site_code) in ROLES_AT_SITE.items():
            sites = (
                [sid for (pid, code), sid in api.site_ids.items() if code == site_code] if site_code else []
            )
            admin.add_user(
                session,
                None,
                username=username,
                full_name=username.title(),
                role=role,
                password=PASSWORD,
                site_ids=sites,
            )
    return api


def fill_enrolment(api: Api, protocol_id: str, phase_id: str, arm_id: str, count: int) -> None:
    """Add ``count`` enrolled subjects directly through the ORM (audited) to reach a capacity limit fast."""

    from trialdesk.adapters.db.models import Subject

    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "bootstrap", reason="test set-up") as session:
        for index in range(count):
            session.add(
                Subject(
                    protocol_id=protocol_id,
                    site_id=api.site_ids[(protocol_id, "S01")],
                    screening_number=f"FILL-{index:03d}",
                    status="enrolled",
                    screening_date=dt.date(2026, 4, 1),
                    patient_record=patient(protocol_id, f"FILL-{index:03d}"),
                    consent_date=dt.date(2026, 3, 30),
                    phase_id=phase_id,
                    arm_id=arm_id,
                    enrolled_at=dt.datetime.now(dt.UTC),
                    created_at=dt.datetime.now(dt.UTC),
                )
            )


def enrolled_in_phase(
    api: Api, protocol_id: str, phase_id: str, n: int, example: str = "scr-escc-01"
) -> list[tuple[int, str]]:
    """(subject id, site code) of n subjects enrolled in a phase, added through the audited ORM.

    Sites alternate S01/S02; the patient record's ECOG alternates 0,0,1,1 (a stratification factor).
    """

    from trialdesk.adapters.db.models import Subject

    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    out = []
    with unit_of_work(engine, "bootstrap", reason="test set-up") as session:
        for index in range(n):
            site = "S01" if index % 2 == 0 else "S02"
            record = patient(example, f"{phase_id.upper()}-{index:04d}")
            record["ecog"] = index % 4 // 2
            subject = Subject(
                protocol_id=protocol_id,
                site_id=api.site_ids[(protocol_id, site)],
                screening_number=record["id"],
                status="enrolled",
                screening_date=dt.date(2026, 4, 15),
                patient_record=record,
                consent_date=dt.date(2026, 4, 13),
                phase_id=phase_id,
                arm_id=None,
                enrolled_at=dt.datetime.now(dt.UTC),
                created_at=dt.datetime.now(dt.UTC),
            )
            session.add(subject)
            session.flush()
            out.append((subject.id, site))
    return out


RUN_IN_TREATMENT_START = dt.date(2026, 4, 20)
"""Treatment start of the run-in cohort added by :func:`followed_run_in`: long enough ago that the
protocol's observation window (90 days) has passed."""


def followed_run_in(
    api: Api, protocol_id: str = "scr-escc-01", phase_id: str = "iia", example: str = "scr-escc-01"
) -> None:
    """Top the run-in up to its minimum size with subjects followed for the observation window (the
    gate may be signed open only then), through the audited ORM."""
    from sqlalchemy import func, select

    from trialdesk.adapters.db.models import Subject

    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "bootstrap", reason="test set-up") as session:
        have = session.scalar(
            select(func.count(Subject.id)).where(
                Subject.protocol_id == protocol_id, Subject.phase_id == phase_id
            )
        )
        for index in range(max(0, 20 - int(have or 0))):
            number = f"RUNIN-{index:03d}"
            session.add(
                Subject(
                    protocol_id=protocol_id,
                    site_id=api.site_ids[(protocol_id, "S01")],
                    screening_number=number,
                    status="on_treatment",
                    screening_date=dt.date(2026, 4, 15),
                    patient_record=patient(example, number),
                    consent_date=dt.date(2026, 4, 13),
                    phase_id=phase_id,
                    arm_id="A",
                    enrolled_at=dt.datetime(2026, 4, 17, 9, tzinfo=dt.UTC),
                    treatment_start_date=RUN_IN_TREATMENT_START,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )


def open_randomized_phase(api: Api, protocol_id: str = "scr-escc-01") -> Any:
    """Close the run-in for review, then open phase IIb with the safety reviewer's e-signature (after
    topping the run-in up to its minimum size, followed for the observation window)."""
    followed_run_in(api, protocol_id)
    moved = api.post(
        "safety", f"/api/trials/{protocol_id}/phase", {"target": "run_in_review", "reason": "run-in done"}
    )
    assert moved.status_code == 200, moved.text
    evidence = api.get("safety", f"/api/trials/{protocol_id}/gate-evidence").json()
    body = {
        "target": "randomized_open",
        "reason": "fewer than 2 related deaths",
        "password": PASSWORD,
        "meaning": "I approve opening phase IIb",
        "evidence_sha256": evidence["evidence_sha256"],
    }
    return api.post("safety", f"/api/trials/{protocol_id}/phase", body)
