"""A SYNTHETIC demonstration trial run end to end through the REST API, and the demo database.

Every step goes through the real application (routers, services, database, audit trail) on its
own SQLite file, exactly as site staff and the coordinating centre would use it:

* the synthetic sites and the demo accounts (:data:`~trialdesk.entrypoints.demo_accounts.DEMO_ACCOUNTS`)
  are created; synthetic patients (screening numbers ``SYN-...``, built from the
  example eligible patient with shifted dates) are screened, attested and enrolled with signatures;
* for SCR-ESCC-01 the run-in is closed, the safety reviewer signs the gate, the statistician
  generates the allocation list and phase IIb subjects are randomized;
* treatment dates, RECIST scans, adverse events, lab results (one confirmed into an AE) and follow-up
  are entered as of the data cut-off;
* :func:`run_demo` (``trialdesk demo``): the statistician downloads the trial report at the cut-off;
  :func:`build_demo_database` (``trialdesk serve --demo``): both trials in one database file of their
  own, which the web application then serves with the demo banner.

Simulated months of follow-up are replayed in seconds by pinning the trial clock
(:mod:`trialdesk.services.clock`) at each simulated date; the audit trail keeps real time. The
outcome model comes from :func:`trialdesk.analysis.synthetic.synthetic_snapshot`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import warnings
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import Engine

with warnings.catch_warnings():
    # Starlette's in-process client warns about its own httpx dependency; the demo only needs it to work.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from trialdesk.adapters.db.audit import verify_chain
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.analysis.synthetic import synthetic_snapshot
from trialdesk.config import Settings
from trialdesk.domain.dispensing import units_for_dose
from trialdesk.domain.dosing import BodySize, DoseUnit, planned_dose_mg
from trialdesk.domain.eligibility.rules import AttestationRule
from trialdesk.domain.endpoints import SubjectEndpointData
from trialdesk.domain.protocol import Protocol
from trialdesk.domain.protocol.model import DrugIntervention, RadiotherapyIntervention
from trialdesk.entrypoints.api.app import create_app
from trialdesk.entrypoints.demo_accounts import DEMO_ACCOUNTS, DEMO_SITES, demo_account
from trialdesk.protocols import load_registry
from trialdesk.services import admin, checks, clock
from trialdesk.services.actors import SYSTEM_ACTOR

AE_TERMS = ("Fatigue", "Anemia", "Esophagitis", "Pneumonitis", "Hypothyroidism", "Nausea")
LEVELS = ("unrelated", "unlikely", "possible", "probable", "definite")
DEMO_EOT_REASONS = {
    "progressive disease": "progressive_disease",
    "adverse event": "adverse_event",
    "death": "death",
    "lost to follow-up": "lost_to_follow_up",
}
"""The synthetic course's reason for ending treatment -> the coded end-of-treatment reason."""
ProgressCallback = Callable[[str, int, int], None]
DEMO_SUBJECTS = {"ivo-shfrt-2l": 10, "scr-escc-01": 28}
"""Enrolled subjects of each trial in the demo database: few enough to build in seconds, enough for a
full SCR-ESCC-01 run-in (20) and both randomized arms."""
DEMO_SEED = 2026
LAB_SUBJECTS = 2
DEMO_MAX_CYCLES = 40
"""Doses are entered for at most this many cycles per agent (about two years of 3-weekly cycles)."""
"""Subjects of each trial given lab results (a normal baseline ALT, then a raised one)."""
DEMO_QUERIES = 6
"""Subjects of each trial with a data query in the demo (issue 14)."""


@dataclass
class DemoResult:
    """What the demonstration did, and where its report and database are."""

    protocol_id: str
    cutoff: dt.date
    screened: int = 0
    enrolled: int = 0
    randomized: int = 0
    adverse_events: int = 0
    administrations: int = 0
    rt_fractions: int = 0
    assessments: int = 0
    screen_failed: int = 0
    lab_results: int = 0
    deaths: int = 0
    report: bytes = b""
    audit_rows: int = 0
    audit_ok: bool = False
    database_url: str = ""
    arms: dict[str, int] = field(default_factory=dict)


class _Client:
    """The API as the demo's users see it: one bearer token per user."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    @staticmethod
    def password(user: str) -> str:
        """The demo password of ``user`` (re-entered for signatures)."""
        return next(a.password for a in DEMO_ACCOUNTS if a.username == user)

    def _headers(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            credentials = {"username": user, "password": self.password(user)}
            response = self.client.post("/api/auth/token", data=credentials)
            _ok(response, "log in")
            self.tokens[user] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def call(self, method: str, user: str, url: str, body: Any = None, **params: Any) -> Any:
        response = self.client.request(
            method, url, headers=self._headers(user), json=body, params=params or None
        )
        _ok(response, f"{method} {url}")
        return response


def _ok(response: Any, what: str) -> None:
    if response.status_code >= 400:
        raise RuntimeError(f"demo step '{what}' failed ({response.status_code}): {response.text}")


def _example_patient(protocol_id: str, kind: str = "eligible") -> dict[str, Any]:
    """An example patient of the protocol (``examples/patients`` of the source tree)."""
    path = Path(__file__).resolve().parents[3] / "examples" / "patients" / f"{protocol_id}-{kind}.json"
    if not path.is_file():
        raise RuntimeError(f"the demo needs the example patient {path} (run it from the source tree)")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _shift_dates(node: Any, days: int) -> Any:
    """Shift every ISO date / date-time string in a patient record by ``days`` (ages are kept)."""
    if isinstance(node, dict):
        return {k: _shift_dates(v, days) for k, v in node.items()}
    if isinstance(node, list):
        return [_shift_dates(v, days) for v in node]
    if isinstance(node, str) and len(node) >= 10 and node[4] == "-" and node[7] == "-":
        try:
            if len(node) == 10:
                return (dt.date.fromisoformat(node) + dt.timedelta(days=days)).isoformat()
            return (dt.datetime.fromisoformat(node) + dt.timedelta(days=days)).isoformat()
        except ValueError:
            return node
    return node


def _patient(template: dict[str, Any], subject: SubjectEndpointData, screening: dt.date) -> dict[str, Any]:
    shift = (screening - dt.date.fromisoformat(template["screening_date"])).days
    record: dict[str, Any] = _shift_dates(template, shift)
    record["id"] = subject.subject_id
    record["attestations"] = {}
    ecog = subject.strata.get("ecog") or subject.baseline_characteristics.get("ECOG performance status")
    if ecog is not None:
        record["ecog"] = int(str(ecog))
    return record


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _moved(subject: SubjectEndpointData, origin: dt.date) -> SubjectEndpointData:
    """The same simulated course, re-timed to start at ``origin``."""
    delta = origin - subject.origin_date
    data = subject.model_dump()

    def move(value: Any) -> Any:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value + delta
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        return value

    return SubjectEndpointData.model_validate(move(data))


def _site_codes(protocol: Protocol) -> list[str]:
    """The demo sites of ``protocol``: the first only for a single-centre trial."""
    codes = [code for code, _name in DEMO_SITES]
    return codes if protocol.design.centres == "multi" else codes[:1]


def _open_app(database: Path, data_dir: Path) -> FastAPI:
    """The real application on the SQLite file ``database`` (schema created, trials registered).

    A synthetic database is rebuilt rather than recovered, so while it is built its commits are not
    flushed to disk one by one (``synchronous=OFF``); the file is complete once the engine is disposed.
    """
    app = create_app(Settings(database_url=f"sqlite:///{database}", data_dir=data_dir))
    engine: Engine = app.state.engine

    @event.listens_for(engine, "connect")
    def _unsynchronised(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    engine.dispose()  # connections opened from now on are unsynchronised
    return app


def _bootstrap(app: FastAPI, protocols: Sequence[Protocol]) -> None:
    """The synthetic sites of each protocol and the demo accounts (site roles at every site of their code)."""
    names = dict(DEMO_SITES)
    with unit_of_work(app.state.engine, "demo-bootstrap", reason="demo database") as session:
        site_ids: dict[str, list[int]] = {}
        for protocol in protocols:
            for code in _site_codes(protocol):
                site = admin.add_site(session, None, app.state.registry, protocol.id, code, names[code])
                site_ids.setdefault(code, []).append(site.id)
        for account in DEMO_ACCOUNTS:
            if account.site_code and account.site_code not in site_ids:
                continue  # a second site's staff, when only single-centre trials are built
            admin.add_user(
                session,
                None,
                username=account.username,
                full_name=f"Demo {account.role.replace('_', ' ')} {account.site_code or ''}".strip(),
                role=account.role,
                password=account.password,
                site_ids=site_ids.get(account.site_code, []) if account.site_code else [],
            )


class _Demo:
    """One protocol's synthetic trial, entered through the API of ``app`` by the demo accounts."""

    def __init__(
        self,
        protocol: Protocol,
        subjects: int,
        seed: int,
        api: _Client,
        progress: ProgressCallback,
        database_url: str,
    ) -> None:
        self.protocol = protocol
        self.progress = progress
        self.rng = np.random.default_rng(seed)
        # the allocation list's seed follows the demo's, so the same demo randomizes the same arms
        self.allocation_seed_hex = hashlib.sha256(f"trialdesk demo {protocol.id} {seed}".encode()).hexdigest()
        snapshot = synthetic_snapshot(protocol, subjects, seed)
        # replay the simulated calendar so that the data cut-off is yesterday: nothing is dated in the future
        shift = dt.timedelta(
            days=(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1) - snapshot.cutoff).days
        )
        self.timelines = [_moved(s, s.origin_date + shift) for s in snapshot.subjects]
        self.cutoff = snapshot.cutoff + shift
        self.api = api
        self.result = DemoResult(protocol.id, self.cutoff, database_url=database_url)
        self.template = _example_patient(protocol.id)
        self.failure_template = _example_patient(protocol.id, "ineligible")
        self.sites = _site_codes(protocol)
        self.ids: dict[str, int] = {}
        self.site_of: dict[int, int] = {}
        self.courses: dict[str, SubjectEndpointData] = {}
        self.safety = demo_account("safety_reviewer").username
        self.statistician = demo_account("statistician").username

    def staff(self, site: int, role: str) -> str:
        """The demo account of ``role`` at the protocol's ``site``-th site."""
        return demo_account(role, self.sites[site]).username

    # ---- enrolment ---------------------------------------------------------------------------
    def _screen(
        self, course: SubjectEndpointData, index: int, *, attest: bool = True
    ) -> tuple[int, dict[str, Any]]:
        """The coordinator screens the patient two days before ``course`` starts; the investigator
        attests the judgement criteria (unless ``attest`` is false: the patient waits for them)."""
        site = index % len(self.sites)
        base = f"/api/trials/{self.protocol.id}/subjects"
        screening = course.origin_date - dt.timedelta(days=2)
        record = _patient(self.template, course, screening)
        with clock.pinned_at(_at(screening)):
            subject_id = int(
                self.api.call(
                    "POST",
                    self.staff(site, "coordinator"),
                    base,
                    {"site_code": self.sites[site], "patient": record},
                ).json()["id"]
            )
            self.result.screened += 1
            self.site_of[subject_id] = site
            for criterion in self.protocol.eligibility.criteria if attest else ():
                if isinstance(criterion.rule, AttestationRule):
                    self.api.call(
                        "POST",
                        self.staff(site, "investigator"),
                        f"{base}/{subject_id}/attestations",
                        {"criterion_id": criterion.id, "answer": criterion.rule.satisfied_when},
                    )
        return subject_id, record

    def _screen_and_enrol(self, course: SubjectEndpointData, index: int) -> int:
        """Screen, attest and enrol (with the investigator's signature) on the course's start date."""
        subject_id, record = self._screen(course, index)
        investigator = self.staff(self.site_of[subject_id], "investigator")
        base = f"/api/trials/{self.protocol.id}/subjects"
        with clock.pinned_at(_at(course.origin_date)):
            self.api.call(
                "POST",
                investigator,
                f"{base}/{subject_id}/enrol",
                {
                    "consent_date": record["consent"]["signed_date"],
                    "password": self.api.password(investigator),
                },
            )
        self.result.enrolled += 1
        return subject_id

    def _screen_failure(self, course: SubjectEndpointData, index: int) -> None:
        """A patient screened the same day who fails eligibility (so the CONSORT flow has exclusions);
        one in four patients, at each site in turn."""
        site = (index // 4) % len(self.sites)
        screening = course.origin_date - dt.timedelta(days=2)
        shift = (screening - dt.date.fromisoformat(self.failure_template["screening_date"])).days
        record: dict[str, Any] = _shift_dates(self.failure_template, shift)
        record["id"] = f"SYN-F{index:03d}"
        base = f"/api/trials/{self.protocol.id}/subjects"
        coordinator = self.staff(site, "coordinator")
        with clock.pinned_at(_at(screening, 9)):
            subject_id = self.api.call(
                "POST", coordinator, base, {"site_code": self.sites[site], "patient": record}
            ).json()["id"]
            self.api.call(
                "POST",
                coordinator,
                f"{base}/{subject_id}/status",
                {"status": "screen_failed", "reason": "not eligible at screening"},
            )
        self.result.screened += 1
        self.result.screen_failed += 1

    def _open_randomization(self, day: dt.date) -> None:
        base = f"/api/trials/{self.protocol.id}"
        with clock.pinned_at(_at(day)):
            state = self.api.call("GET", self.safety, base).json()["phase_state"]
            if state == "run_in_open":
                self.api.call(
                    "POST",
                    self.safety,
                    f"{base}/phase",
                    {"target": "run_in_review", "reason": "run-in cohort complete: safety review"},
                )
            evidence = self.api.call("GET", self.safety, f"{base}/gate-evidence").json()
            self.api.call(
                "POST",
                self.safety,
                f"{base}/phase",
                {
                    "target": "randomized_open",
                    "reason": "fewer than 2 treatment-related deaths in the run-in",
                    "password": self.api.password(self.safety),
                    "meaning": "I approve opening the randomized phase IIb",
                    "evidence_sha256": evidence["evidence_sha256"],
                },
            )
            body = {"slots_per_stratum": 60, "seed_hex": self.allocation_seed_hex}
            self.api.call("POST", self.statistician, f"{base}/randomization-lists", body)

    def enrol_all(self) -> None:
        ordered = sorted(self.timelines, key=lambda s: (s.origin_date, s.subject_id))
        kinds = {p.id: p.kind for p in self.protocol.design.phases}
        pools: dict[str, list[SubjectEndpointData]] = {}
        for course in ordered:
            if kinds[course.phase_id] == "randomized":
                pools.setdefault(course.arm, []).append(course)
        gate_open = False
        for index, course in enumerate(ordered):
            self.progress("enrolling", index + 1, len(ordered))
            if kinds[course.phase_id] == "randomized" and not gate_open:
                self._open_randomization(course.origin_date - dt.timedelta(days=1))
                gate_open = True
            if index % 4 == 3:
                self._screen_failure(course, index)
            subject_id = self._screen_and_enrol(course, index)
            if kinds[course.phase_id] == "randomized":
                course = self._randomize(subject_id, course, pools)
            self.ids[course.subject_id] = subject_id
            self.courses[course.subject_id] = course
            self.result.arms[course.arm] = self.result.arms.get(course.arm, 0) + 1

    def latest_patients(self) -> None:
        """Two patients of the last days at the same site, so every stage has someone in it: one enrolled
        at the cut-off (not yet treated, nor randomized), one screened and waiting for the investigator's
        attestations."""
        last = max(self.timelines, key=lambda s: (s.origin_date, s.subject_id))
        index = len(self.timelines)
        enrolled = last.model_copy(update={"subject_id": "SYN-W01", "origin_date": self.cutoff})
        self._screen_and_enrol(enrolled, index)
        waiting = last.model_copy(update={"subject_id": "SYN-W02", "origin_date": self.cutoff})
        self._screen(waiting, index, attest=False)

    def _randomize(
        self, subject_id: int, course: SubjectEndpointData, pools: dict[str, list[SubjectEndpointData]]
    ) -> SubjectEndpointData:
        url = f"/api/trials/{self.protocol.id}/subjects/{subject_id}/randomize"
        user = self.staff(self.site_of[subject_id], "coordinator")
        with clock.pinned_at(_at(course.origin_date, 11)):
            arm = self.api.call(
                "POST", user, url, {"strata": {"ecog": course.strata.get("ecog", "0")}}
            ).json()["arm"]
        self.result.randomized += 1
        # the allocation list decides the arm: follow a simulated course of that arm
        pool = pools.get(arm) or next(p for p in pools.values() if p)
        chosen = pool.pop(0) if pool else course
        return _moved(chosen, course.origin_date).model_copy(
            update={"subject_id": course.subject_id, "arm": arm, "strata": course.strata}
        )

    # ---- data entry at the cut-off ---------------------------------------------------------
    def enter_follow_up(self) -> None:
        with clock.pinned_at(_at(self.cutoff, 18)):
            for index, (number, course) in enumerate(self.courses.items()):
                self.progress("entering data", index + 1, len(self.courses))
                subject_id = self.ids[number]
                investigator = self.staff(self.site_of[subject_id], "investigator")
                self._tumour(subject_id, course, investigator)
                self._rt_fields(subject_id, course)
                self._adverse_events(subject_id, course, investigator)
                if self.result.lab_results < 2 * LAB_SUBJECTS:
                    self._labs(subject_id, course)
                self._dates(subject_id, course, investigator)
                self._treatment(subject_id, course)
                self._end_of_treatment(subject_id, course, investigator)
                self._visits(subject_id, course)
                self._dispensing(subject_id)
                self._case_report_forms(subject_id, course)
                self._disposition(subject_id, course)

    def _tumour(self, subject_id: int, course: SubjectEndpointData, user: str) -> None:
        if course.tumour is None:
            return
        base = f"/api/trials/{self.protocol.id}/subjects/{subject_id}"
        baseline = course.tumour.baseline.model_dump(mode="json")
        self.api.call("PUT", user, f"{base}/tumour-baseline", baseline)
        for number, scan in enumerate(course.tumour.assessments, start=1):
            if scan.date > self.cutoff:
                break
            body = scan.model_dump(mode="json")
            self.api.call("PUT", user, f"{base}/tumour-assessments/V{number:02d}", body)
            self.result.assessments += 1

    def _rt_fields(self, subject_id: int, course: SubjectEndpointData) -> None:
        """The coordinator flags the baseline lesions in an RT field as RT is planned (before the first
        fraction): the synthetic baseline records metastases (T1 liver, T2 lung, T3 node) and a bone
        lesion but no primary, so T1 is the lesion irradiated by the arm's course that treats metastases
        (seed 000 SHFRT; seed 002 arm A LDRT, with the bone lesion); the others are out of field (their
        change is the out-of-field response). An arm without RT (seed 002 arm B) has no flags."""
        components = self.protocol.arm(course.arm).interventions
        courses = [
            i
            for i in self.protocol.interventions
            if isinstance(i, RadiotherapyIntervention) and i.id in components
        ]
        if course.tumour is None or not courses:
            return
        rt = next((c for c in courses if c.rt_type in ("LDRT", "SHFRT")), courses[0])
        irradiated = {"T1", "NT1"} if rt.rt_type == "LDRT" else {"T1"}
        fields = [
            {"lesion_id": lesion.id, "in_field": lesion.id in irradiated}
            | ({"intervention": rt.id} if lesion.id in irradiated else {})
            for lesion in course.tumour.baseline.lesions
        ]
        user = self.staff(self.site_of[subject_id], "coordinator")
        base = f"/api/trials/{self.protocol.id}/subjects/{subject_id}"
        self.api.call("PUT", user, f"{base}/lesion-rt-fields", {"fields": fields})

    def _adverse_events(self, subject_id: int, course: SubjectEndpointData, user: str) -> None:
        if course.treatment_start is None or course.treatment_start > self.cutoff:
            return
        last = min(d for d in (course.treatment_end, self.cutoff) if d is not None)
        span = max((last - course.treatment_start).days, 1)
        components = self.protocol.arm(course.arm).interventions
        for _ in range(int(self.rng.poisson(1.2))):
            onset = course.treatment_start + dt.timedelta(days=int(self.rng.integers(0, span)))
            body = {
                "term": str(self.rng.choice(AE_TERMS)),
                "grade": int(self.rng.choice([1, 2, 3], p=[0.55, 0.3, 0.15])),
                "onset_date": onset.isoformat(),
                "attributions": {c: str(self.rng.choice(LEVELS)) for c in components},
            }
            self.api.call(
                "POST", user, f"/api/trials/{self.protocol.id}/subjects/{subject_id}/adverse-events", body
            )
            self.result.adverse_events += 1

    def _labs(self, subject_id: int, course: SubjectEndpointData) -> None:
        """A normal baseline ALT and a raised one two weeks into treatment, entered by the coordinator;
        the investigator confirms the proposed CTCAE grade into an AE."""
        start = course.treatment_start
        if start is None or start + dt.timedelta(days=14) > self.cutoff:
            return
        raised = start + dt.timedelta(days=14)
        if course.death_date is not None and course.death_date <= raised:
            return
        site = self.site_of[subject_id]
        alt = {"test": "alt", "unit": "U/L", "uln": 40}
        body = {
            "results": [
                {
                    **alt,
                    "value": 28,
                    "collected_date": (start - dt.timedelta(days=3)).isoformat(),
                    "is_baseline": True,
                },
                {**alt, "value": 130, "collected_date": raised.isoformat()},
            ]
        }
        base = f"/api/trials/{self.protocol.id}"
        stored = self.api.call(
            "POST", self.staff(site, "coordinator"), f"{base}/subjects/{subject_id}/labs", body
        )
        self.result.lab_results += 2
        proposal = next(p for p in stored.json()["proposals"] if p["grade"])
        components = self.protocol.arm(course.arm).interventions
        self.api.call(
            "POST",
            self.staff(site, "investigator"),
            f"{base}/labs/{proposal['lab_result_id']}/confirm",
            {"attributions": {c: "possible" for c in components}},
        )
        self.result.adverse_events += 1

    def _dates(self, subject_id: int, course: SubjectEndpointData, user: str) -> None:
        def upto(day: dt.date | None) -> str | None:
            return day.isoformat() if day is not None and day <= self.cutoff else None

        death = upto(course.death_date)
        new_therapy = upto(course.new_anticancer_therapy_date)
        if death and new_therapy and new_therapy > death:  # a swapped-in course may end before it
            new_therapy = None
        body = {
            "treatment_start_date": upto(course.treatment_start),
            "new_anticancer_therapy_date": new_therapy,
            "death_date": death,
            "last_known_alive_date": upto(min(d for d in (course.last_known_alive_date, self.cutoff) if d)),
        }
        base = f"/api/trials/{self.protocol.id}/subjects/{subject_id}"
        self.api.call("PUT", user, f"{base}/follow-up", {k: v for k, v in body.items() if v is not None})
        if body["treatment_start_date"]:
            self._status(subject_id, user, "on_treatment", body["treatment_start_date"])

    def _status(self, subject_id: int, user: str, status: str, day: str) -> None:
        base = f"/api/trials/{self.protocol.id}/subjects/{subject_id}"
        body = {"status": status, "reason": f"{status} (synthetic)", "date": day}
        self.api.call("POST", user, f"{base}/status", body)

    def _ended(self, course: SubjectEndpointData) -> dt.date | None:
        """The treatment end when the treatment started and ended by the cut-off."""
        end = course.treatment_end
        if course.treatment_start is None or end is None or end > self.cutoff:
            return None
        return end

    def _end_of_treatment(self, subject_id: int, course: SubjectEndpointData, user: str) -> None:
        """The coded end of treatment of a subject whose treatment ended by the cut-off, after the
        doses (a toxicity names the subject's first adverse event by then; without one, the
        investigator's decision): it moves the subject off treatment and dates the end-of-treatment
        and follow-up visits; then the status change to follow-up."""
        end = self._ended(course)
        if end is None:
            return
        base = f"/api/trials/{self.protocol.id}/subjects/{subject_id}"
        reason = DEMO_EOT_REASONS.get(course.off_treatment_reason or "", "physician_decision")
        body: dict[str, Any] = {
            "date": end.isoformat(),
            "reason": reason,
            "detail": course.off_treatment_reason,
        }
        if reason == "adverse_event":
            events = self.api.call("GET", user, f"{base}/adverse-events").json()
            onsets = sorted((e["onset_date"], e["id"]) for e in events if e["onset_date"] <= end.isoformat())
            if onsets:
                body["adverse_event_id"] = onsets[0][1]
            else:
                body["reason"] = "physician_decision"
        self.api.call("POST", user, f"{base}/end-of-treatment", body)
        self._status(subject_id, user, "follow_up", end.isoformat())

    def _disposition(self, subject_id: int, course: SubjectEndpointData) -> None:
        """A death by the cut-off, and the end of study of the subjects lost to follow-up by then,
        entered by the investigator after the visits and forms."""
        user = self.staff(self.site_of[subject_id], "investigator")
        end = self._ended(course)
        with clock.pinned_at(_at(self.cutoff, 19)):
            death = course.death_date
            if death is not None and death <= self.cutoff:
                self.result.deaths += 1
                self._status(subject_id, user, "died", death.isoformat())
            left = course.discontinuation_date
            lost = course.discontinuation_reason == "lost to follow-up"
            if end is not None and lost and left and left <= self.cutoff:
                eos = {"date": max(left, end).isoformat(), "reason": "lost_to_follow_up"}
                base = f"/api/trials/{self.protocol.id}/subjects/{subject_id}"
                self.api.call("POST", user, f"{base}/end-of-study", eos)

    def _treatment(self, subject_id: int, course: SubjectEndpointData) -> None:
        """Doses of each drug of the arm every cycle (some delayed a week, some reduced) and every
        radiotherapy fraction on weekdays, up to the end of treatment, death or the cut-off, entered by
        the site's coordinator (the server derives each planned dose)."""
        start = course.treatment_start
        if start is None or start > self.cutoff:
            return
        last = min(d for d in (course.treatment_end, course.death_date, self.cutoff) if d is not None)
        user = self.staff(self.site_of[subject_id], "coordinator")
        base = f"/api/trials/{self.protocol.id}/subjects/{subject_id}"
        body = BodySize(float(self.rng.uniform(158, 178)), float(self.rng.uniform(50, 78)))
        components = set(self.protocol.arm(course.arm).interventions)
        for drug in (i for i in self.protocol.interventions if isinstance(i, DrugIntervention)):
            if (
                drug.id in components
                and drug.dose.value is not None
                and drug.dose.unit in ("mg", "mg/kg", "mg/m2")
            ):
                self._doses(base, user, drug, body, start, last)
        for rt in (i for i in self.protocol.interventions if isinstance(i, RadiotherapyIntervention)):
            if rt.id in components:
                self._fractions(base, user, rt, start, last)

    def _visits(self, subject_id: int, course: SubjectEndpointData) -> None:
        """The visits the calendar still shows overdue: end-of-treatment, safety and survival visits
        while the subject was known alive are recorded done on their planned day; tumour assessments
        without a scan are recorded missed (they count as missed for PFS and as deviations)."""
        if course.treatment_start is None or course.treatment_start > self.cutoff:
            return
        user = self.staff(self.site_of[subject_id], "coordinator")
        base = f"/api/trials/{self.protocol.id}/subjects/{subject_id}"
        alive_until = min(d for d in (course.last_known_alive_date, course.death_date, self.cutoff) if d)
        for visit in self.api.call("GET", user, f"{base}/calendar").json():
            if visit["status"] != "overdue":
                continue
            planned = dt.date.fromisoformat(visit["planned"])
            if visit["kind"] == "tumour_assessment":
                body: dict[str, Any] = {"status": "missed", "reason": "Scan not done (synthetic)"}
            elif (
                visit["kind"] in ("end_of_treatment", "safety_follow_up", "survival")
                and planned <= alive_until
            ):
                body = {"status": "done", "date": planned.isoformat()}
            else:
                continue
            self.api.call("PUT", user, f"{base}/visits/{visit['visit_id']}", body)

    def _dispensing(self, subject_id: int) -> None:
        """The site pharmacy's log of each investigational product the subject was given: every dose's
        vials (those of the planned dose) dispensed on the day from the site's lot of that quarter, and the
        vials a reduced dose left unused returned the same day. A quarter's lot is received a week before
        the quarter starts (50 vials per subject of the site, more than five 8-vial cycles need) and
        expires a year after it starts, so the oldest lots show expired stock on hand."""
        products = {d.id: d for d in self.protocol.investigational_products() if d.dispensing is not None}
        if not products:
            return
        site = self.site_of[subject_id]
        user, code = self.staff(site, "coordinator"), self.sites[site]
        base = f"/api/trials/{self.protocol.id}"
        received = {r["lot_number"] for r in self.api.call("GET", user, f"{base}/ip/receipts").json()}
        doses = self.api.call("GET", user, f"{base}/subjects/{subject_id}/administrations").json()
        for dose in (d for d in doses["administrations"] if d["agent"] in products and d["given_dose_mg"]):
            drug = products[dose["agent"]]
            day = dt.date.fromisoformat(dose["date"])
            quarter = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
            lot = f"{drug.id[:3].upper()}{quarter.year % 100:02d}Q{(quarter.month + 2) // 3}-{code[-2:]}"
            if lot not in received:
                received.add(lot)
                receipt = {
                    "site_code": code,
                    "agent": drug.id,
                    "lot_number": lot,
                    "expiry_date": (quarter + dt.timedelta(days=365)).isoformat(),
                    "quantity": min(5000, 50 * sum(1 for s in self.site_of.values() if s == site)),
                    "received_date": (quarter - dt.timedelta(days=7)).isoformat(),
                }
                self.api.call("POST", user, f"{base}/ip/receipts", receipt)
            strength = drug.dispensing.strength_mg.value if drug.dispensing else 1.0
            given = units_for_dose(dose["given_dose_mg"], strength)
            out = max(given, units_for_dose(dose["planned_dose_mg"], strength))
            body = {"agent": drug.id, "lot_number": lot, "quantity": out, "dispensed_date": dose["date"]}
            url = f"{base}/subjects/{subject_id}/dispensations"
            row = self.api.call("POST", user, url, {**body, "cycle": dose["cycle"]}).json()
            if out > given:
                back = {"quantity_returned": out - given, "returned_date": dose["date"]}
                self.api.call("PUT", user, f"{base}/dispensations/{row['id']}/return", back)

    def _case_report_forms(self, subject_id: int, course: SubjectEndpointData) -> None:
        """The screening case report forms, entered by the site's coordinator: demographics and baseline
        characteristics, ECOG, and the PG-SGA where the protocol has it (its own random stream per
        subject, so the rest of the demo draws the same numbers)."""
        rng = np.random.default_rng(subject_id)
        screening = course.origin_date - dt.timedelta(days=2)
        metastatic = self.protocol.id == "scr-escc-01" or rng.random() < 0.6
        smoking, alcohol = (str(rng.choice(["never", "former", "current"])) for _ in range(2))
        ecog = int(course.strata.get("ecog", rng.choice([0, 1])))
        pdl1 = rng.random() < 0.7
        demographics = {
            "sex": "male" if rng.random() < 0.75 else "female",  # ESCC: about 3 men for 1 woman
            "birth_date": (screening - dt.timedelta(days=int(rng.integers(45 * 365, 78 * 365)))).isoformat(),
            "ethnicity": "han",
            "height": round(float(rng.uniform(155, 180)), 1),
            "weight": round(float(rng.uniform(48, 80)), 1),
            "ecog": ecog,
            "smoking": smoking,
            "pack_years": round(float(rng.uniform(5, 50))) if smoking != "never" else None,
            "alcohol": alcohol,
            "drinks_per_week": int(rng.integers(2, 20)) if alcohol == "current" else None,
            "tumour_location": str(rng.choice(["upper", "middle", "lower"], p=[0.2, 0.5, 0.3])),
            "histology": "escc",
            "diagnosis_date": (screening - dt.timedelta(days=int(rng.integers(20, 300)))).isoformat(),
            "disease_setting": "metastatic" if metastatic else "unresectable_locally_advanced",
            "m_category": "M1" if metastatic else "M0",
            "stage": "IVB" if metastatic else "III",
            "pdl1_known": pdl1,
            "pdl1_cps": int(rng.integers(0, 60)) if pdl1 else None,
        }
        score = int(rng.integers(0, 9))  # eligible: exclusion 6 is a score >= 9
        records: dict[str, dict[str, Any]] = {
            "demographics": demographics,
            "ecog": {"assessed_on": screening.isoformat(), "ecog": ecog},
            "pg_sga": {
                "assessed_on": screening.isoformat(),
                "total_score": score,
                "category": "AB"[score >= 4],
            },
        }
        user = self.staff(self.site_of[subject_id], "coordinator")
        base = f"/api/trials/{self.protocol.id}/subjects/{subject_id}/forms"
        for form in self.protocol.forms:
            if form.id in records:
                values = {k: v for k, v in records[form.id].items() if v is not None}
                self.api.call("PUT", user, f"{base}/{form.id}", {"values": values}, visit="SCR")

    def _doses(
        self, base: str, user: str, drug: DrugIntervention, body: BodySize, start: dt.date, last: dt.date
    ) -> None:
        unit: DoseUnit = (
            "mg/kg" if drug.dose.unit == "mg/kg" else "mg/m2" if drug.dose.unit == "mg/m2" else "mg"
        )
        planned = planned_dose_mg(float(drug.dose.value or 0), unit, body)
        day = start
        limit = min(drug.max_cycles.value or DEMO_MAX_CYCLES, DEMO_MAX_CYCLES)
        for cycle in range(1, limit + 1):
            if day > last:
                break
            reduced = cycle > 2 and self.rng.random() < 0.1
            dose = {
                "agent": drug.id,
                "cycle": cycle,
                "date": day.isoformat(),
                "given_dose_mg": round(planned * (0.8 if reduced else 1.0), 1),
                "weight_kg": round(body.weight_kg, 1),
                "height_cm": round(body.height_cm, 1),
                "deviation_reason": "reduction" if reduced else None,
            }
            self.api.call("POST", user, f"{base}/administrations", dose)
            self.result.administrations += 1
            delay = 7 if self.rng.random() < 0.15 else 0
            day += dt.timedelta(days=drug.cycle_days.value + delay)

    def _fractions(
        self, base: str, user: str, rt: RadiotherapyIntervention, start: dt.date, last: dt.date
    ) -> None:
        day, number = start, 0
        stop_after = rt.fractions.value - (2 if self.rng.random() < 0.1 else 0)  # a few stop early
        while number < stop_after and day <= last:
            if day.weekday() < 5:
                number += 1
                body = {
                    "intervention": rt.id,
                    "fraction_number": number,
                    "date": day.isoformat(),
                    "dose_gy": rt.dose_per_fraction_gy.value,
                }
                self.api.call("POST", user, f"{base}/rt-fractions", body)
                self.result.rt_fractions += 1
            day += dt.timedelta(days=1)
        if number < rt.fractions.value and day <= last:
            ended = {
                "outcome": "stopped_early",
                "date": day.isoformat(),
                "reason": "Grade 3 esophagitis (synthetic)",
            }
            self.api.call("PUT", user, f"{base}/rt-courses/{rt.id}/end", ended)

    # ---- report --------------------------------------------------------------------------------
    def report(self, fmt: str) -> None:
        """The statistician downloads the trial report at the cut-off."""
        with clock.pinned_at(_at(self.cutoff, 20)):
            response = self.api.call(
                "GET",
                self.statistician,
                f"/api/trials/{self.protocol.id}/report",
                cutoff=self.cutoff.isoformat(),
                format=fmt,
            )
        self.result.report = response.content

    def verify(self, engine: Engine) -> None:
        """Check the audit trail's hash chain (every row written so far)."""
        with engine.connect() as connection:
            chain = verify_chain(connection)
        self.result.audit_rows, self.result.audit_ok = chain.rows, chain.ok

    def run(self, *, latest_patients: bool = False) -> None:
        """Enrol every synthetic subject (and the :meth:`latest_patients`), then enter the follow-up as
        of the cut-off."""
        self.enrol_all()
        if latest_patients:
            self.latest_patients()
        self.enter_follow_up()
        self.data_queries()

    def data_queries(self) -> None:
        """Data queries of issue 14 on the first subjects: the monitor and the data manager question the
        consent date (weeks ago, after the subject was screened) or the screening weight (after the
        forms were entered); the site answers most and the monitor closes some, so the queries page
        shows every state with real days open."""
        base = f"/api/trials/{self.protocol.id}"
        reviewers = (demo_account("monitor").username, demo_account("data_manager").username)
        for index, (number, course) in enumerate(list(self.courses.items())[:DEMO_QUERIES]):
            subject_id = self.ids[number]
            if index % 2 == 0:
                body = {"target_table": "subjects", "target_id": str(subject_id), "field": "consent_date"}
                opened = _at(max(self.cutoff - dt.timedelta(days=30 - 5 * index), course.origin_date), 11)
                text = "The consent date differs from the signed form in the site file: please check."
            else:
                forms = self.api.call("GET", reviewers[0], f"{base}/subjects/{subject_id}/forms").json()
                record = next(r for r in forms if r["form_id"] == "demographics")
                body = {"target_table": "form_records", "target_id": str(record["id"]), "field": "weight"}
                opened = _at(self.cutoff, 19)
                text = "Please confirm the screening weight against the source document."
            with clock.pinned_at(opened):
                query = self.api.call("POST", reviewers[index % 2], f"{base}/queries", {**body, "text": text})
            if index % 3 != 0:
                self._answer_query(
                    f"{base}/queries/{query.json()['id']}", subject_id, opened, close=index % 3 == 2
                )

    def _answer_query(self, url: str, subject_id: int, opened: dt.datetime, *, close: bool) -> None:
        """The site's coordinator answers (an hour later); the monitor closes the next hour if ``close``."""
        with clock.pinned_at(opened + dt.timedelta(hours=1)):
            user = self.staff(self.site_of[subject_id], "coordinator")
            self.api.call("POST", user, f"{url}/answer", {"text": "Checked against the source: it is right."})
        if close:
            with clock.pinned_at(opened + dt.timedelta(hours=2)):
                monitor = demo_account("monitor").username
                self.api.call("POST", monitor, f"{url}/close", {"text": "Verified at the monitoring visit."})


def _no_progress(_stage: str, _done: int, _total: int) -> None:
    """The default progress callback: report nothing."""


def run_demo(
    protocol: Protocol,
    *,
    subjects: int,
    seed: int,
    workdir: Path,
    fmt: str = "pdf",
    progress: ProgressCallback | None = None,
) -> DemoResult:
    """Run a synthetic trial of ``protocol`` through the API and return what happened with its report."""
    database = workdir / f"demo-{protocol.id}.sqlite3"
    app = _open_app(database, workdir)
    api = _Client(TestClient(app))
    demo = _Demo(protocol, subjects, seed, api, progress or _no_progress, f"sqlite:///{database}")
    with api.client:
        _bootstrap(app, [protocol])
        demo.run()
        demo.report(fmt)
        demo.verify(app.state.engine)
    app.state.engine.dispose()
    return demo.result


def is_demo_database(database: Path) -> bool:
    """Whether the SQLite file ``database`` holds demo data only (every subject's screening number is
    synthetic, ``SYN-...``, and the demo accounts exist): only then may ``--reset-demo`` delete it."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        try:
            real = connection.execute(
                "SELECT count(*) FROM subjects WHERE screening_number NOT LIKE 'SYN-%'"
            ).fetchone()[0]
            names = {row[0] for row in connection.execute("SELECT username FROM users")}
        except sqlite3.DatabaseError:
            return False
    return real == 0 and {a.username for a in DEMO_ACCOUNTS} <= names


def _run_edit_checks(engine: Engine, protocol: Protocol) -> None:
    """Run the trial's edit checks once, as ``trialdesk checks run`` does, so that the demo holds the
    system queries its synthetic data raise."""
    with unit_of_work(engine, SYSTEM_ACTOR, reason=checks.RUN_REASON) as session:
        checks.run_checks(session, protocol)


DATA_REVIEW_SUBJECTS = 3
"""Subjects of the first site whose casebooks the demo verifies (SDV) and signs off (issue 14)."""


def _data_review(api: _Client, protocol: Protocol) -> None:
    """The monitor verifies every planned SDV item of the first enrolled subjects of the investigator's
    site, and the investigator signs the first one's casebook: the SDV and sign-off pages show real
    states (the other subjects stay unverified, so progress is partial)."""
    base = f"/api/trials/{protocol.id}/subjects"
    listing = api.call("GET", "investigator", base).json()
    enrolled = sorted(s["id"] for s in listing if s["enrolled_at"])[:DATA_REVIEW_SUBJECTS]
    for subject_id in enrolled:
        items = api.call("GET", "monitor", f"{base}/{subject_id}/sdv").json()
        for table, record_id in sorted({(i["table"], i["record_id"]) for i in items}):
            body = {"table": table, "record_id": record_id, "field": "*"}
            api.call("POST", "monitor", f"{base}/{subject_id}/sdv", body)
    if enrolled:
        shown = api.call("GET", "investigator", f"{base}/{enrolled[0]}/signoff").json()
        body = {"password": api.password("investigator"), "data_sha256": shown["current_sha256"]}
        api.call("POST", "investigator", f"{base}/{enrolled[0]}/signoff", body)


def build_demo_database(
    database: Path, *, seed: int = DEMO_SEED, progress: ProgressCallback | None = None
) -> list[DemoResult]:
    """Build the demo database of both trials at ``database`` (SYNTHETIC data only).

    It is written to ``<database>.partial`` and renamed when complete, so an interrupted build never
    leaves a half-built demo behind. The file must not exist yet.
    """
    if database.exists():
        raise FileExistsError(f"{database} exists already: the demo database is only built once")
    database.parent.mkdir(parents=True, exist_ok=True)
    partial = database.with_name(database.name + ".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    registry = load_registry()
    protocols = [registry.get(protocol_id) for protocol_id in DEMO_SUBJECTS]
    report = progress or _no_progress
    app = _open_app(partial, database.parent)
    api = _Client(TestClient(app))
    results: list[DemoResult] = []
    with api.client:
        _bootstrap(app, protocols)
        for protocol in protocols:

            def labelled(stage: str, done: int, total: int, name: str = protocol.id) -> None:
                report(f"{name}: {stage}", done, total)

            demo = _Demo(protocol, DEMO_SUBJECTS[protocol.id], seed, api, labelled, f"sqlite:///{database}")
            demo.run(latest_patients=True)
            _data_review(api, protocol)
            demo.verify(app.state.engine)
            _run_edit_checks(app.state.engine, protocol)
            results.append(demo.result)
    app.state.engine.dispose()
    partial.replace(database)
    return results
