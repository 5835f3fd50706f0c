"""A SYNTHETIC demonstration trial run end to end through the REST API.

Every step goes through the real application (routers, services, database, audit trail) on its
own SQLite file, exactly as site staff and the coordinating centre would use it:

* users and sites are created; synthetic patients (screening numbers ``SYN-...``, built from the
  example eligible patient with shifted dates) are screened, attested and enrolled with signatures;
* for SCR-ESCC-01 the run-in is closed, the safety reviewer signs the gate, the statistician
  generates the allocation list and phase IIb subjects are randomized;
* treatment dates, RECIST scans, adverse events and follow-up are entered as of the data cut-off;
* the statistician downloads the trial report at the cut-off.

Simulated months of follow-up are replayed in seconds by pinning the trial clock
(:mod:`trialdesk.services.clock`) at each simulated date; the audit trail keeps real time. The
outcome model comes from :func:`trialdesk.analysis.synthetic.synthetic_snapshot`.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

with warnings.catch_warnings():
    # Starlette's in-process client warns about its own httpx dependency; the demo only needs it to work.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from trialdesk.adapters.db.audit import verify_chain
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.analysis.synthetic import synthetic_snapshot
from trialdesk.config import Settings
from trialdesk.domain.eligibility.rules import AttestationRule
from trialdesk.domain.endpoints import SubjectEndpointData
from trialdesk.domain.protocol import Protocol
from trialdesk.entrypoints.api.app import create_app
from trialdesk.services import admin, clock

AE_TERMS = ("Fatigue", "Anemia", "Esophagitis", "Pneumonitis", "Hypothyroidism", "Nausea")
LEVELS = ("unrelated", "unlikely", "possible", "probable", "definite")
ProgressCallback = Callable[[str, int, int], None]


@dataclass
class DemoResult:
    """What the demonstration did, and where its report and database are."""

    protocol_id: str
    cutoff: dt.date
    screened: int = 0
    enrolled: int = 0
    randomized: int = 0
    adverse_events: int = 0
    assessments: int = 0
    report: bytes = b""
    audit_rows: int = 0
    audit_ok: bool = False
    database_url: str = ""
    arms: dict[str, int] = field(default_factory=dict)


class _Client:
    """The API as the demo's users see it: one bearer token per user."""

    def __init__(self, client: TestClient, password: str) -> None:
        self.client = client
        self.password = password
        self.tokens: dict[str, str] = {}

    def _headers(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            response = self.client.post("/api/auth/token", data={"username": user, "password": self.password})
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


class _Demo:
    def __init__(
        self, protocol: Protocol, subjects: int, seed: int, workdir: Path, progress: ProgressCallback
    ):
        self.protocol = protocol
        self.seed = seed
        self.progress = progress
        self.rng = np.random.default_rng(seed)
        snapshot = synthetic_snapshot(protocol, subjects, seed)
        # replay the simulated calendar so that the data cut-off is yesterday: nothing is dated in the future
        shift = dt.timedelta(
            days=(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1) - snapshot.cutoff).days
        )
        self.timelines = [_moved(s, s.origin_date + shift) for s in snapshot.subjects]
        self.cutoff = snapshot.cutoff + shift
        self.password = secrets.token_urlsafe(18)
        url = f"sqlite:///{workdir / f'demo-{protocol.id}.sqlite3'}"
        self.app = create_app(Settings(database_url=url, data_dir=workdir))
        self.api = _Client(TestClient(self.app), self.password)
        self.result = DemoResult(protocol.id, self.cutoff, database_url=url)
        self.template = _example_patient(protocol.id)
        self.failure_template = _example_patient(protocol.id, "ineligible")
        self.sites: list[str] = []
        self.ids: dict[str, int] = {}
        self.site_of: dict[int, int] = {}
        self.courses: dict[str, SubjectEndpointData] = {}

    # ---- set-up ------------------------------------------------------------------------------
    def bootstrap(self) -> None:
        codes = ["SYN-S01", "SYN-S02"] if self.protocol.design.centres == "multi" else ["SYN-S01"]
        engine = self.app.state.engine
        with unit_of_work(engine, "demo-bootstrap") as session:
            site_ids = [
                admin.add_site(
                    session, None, self.app.state.registry, self.protocol.id, code, f"Synthetic {code}"
                ).id
                for code in codes
            ]
            for role in ("admin", "statistician", "safety_reviewer", "monitor"):
                admin.add_user(
                    session,
                    None,
                    username=f"demo-{role.replace('_', '-')}",
                    full_name=f"Demo {role}",
                    role=role,
                    password=self.password,
                )
            for index, site_id in enumerate(site_ids, start=1):
                for role in ("coordinator", "investigator"):
                    admin.add_user(
                        session,
                        None,
                        username=f"demo-{role}-{index}",
                        full_name=f"Demo {role} {index}",
                        role=role,
                        password=self.password,
                        site_ids=[site_id],
                    )
        self.sites = codes

    # ---- enrolment ---------------------------------------------------------------------------
    def _screen_and_enrol(self, course: SubjectEndpointData, index: int) -> int:
        site = index % len(self.sites)
        coordinator, investigator = f"demo-coordinator-{site + 1}", f"demo-investigator-{site + 1}"
        base = f"/api/trials/{self.protocol.id}/subjects"
        screening = course.origin_date - dt.timedelta(days=2)
        record = _patient(self.template, course, screening)
        with clock.pinned_at(_at(screening)):
            subject_id = int(
                self.api.call(
                    "POST", coordinator, base, {"site_code": self.sites[site], "patient": record}
                ).json()["id"]
            )
            self.result.screened += 1
            self.site_of[subject_id] = site
            for criterion in self.protocol.eligibility.criteria:
                if isinstance(criterion.rule, AttestationRule):
                    self.api.call(
                        "POST",
                        investigator,
                        f"{base}/{subject_id}/attestations",
                        {"criterion_id": criterion.id, "answer": criterion.rule.satisfied_when},
                    )
        with clock.pinned_at(_at(course.origin_date)):
            self.api.call(
                "POST",
                investigator,
                f"{base}/{subject_id}/enrol",
                {"consent_date": record["consent"]["signed_date"], "password": self.password},
            )
        self.result.enrolled += 1
        return subject_id

    def _screen_failure(self, course: SubjectEndpointData, index: int) -> None:
        """A patient screened the same day who fails eligibility (so the CONSORT flow has exclusions)."""
        site = index % len(self.sites)
        screening = course.origin_date - dt.timedelta(days=2)
        shift = (screening - dt.date.fromisoformat(self.failure_template["screening_date"])).days
        record: dict[str, Any] = _shift_dates(self.failure_template, shift)
        record["id"] = f"SYN-F{index:03d}"
        base = f"/api/trials/{self.protocol.id}/subjects"
        with clock.pinned_at(_at(screening, 9)):
            subject_id = self.api.call(
                "POST",
                f"demo-coordinator-{site + 1}",
                base,
                {"site_code": self.sites[site], "patient": record},
            ).json()["id"]
            self.api.call(
                "POST",
                f"demo-coordinator-{site + 1}",
                f"{base}/{subject_id}/status",
                {"status": "screen_failed", "reason": "not eligible at screening"},
            )
        self.result.screened += 1

    def _open_randomization(self, day: dt.date) -> None:
        base = f"/api/trials/{self.protocol.id}"
        with clock.pinned_at(_at(day)):
            state = self.api.call("GET", "demo-safety-reviewer", base).json()["phase_state"]
            if state == "run_in_open":
                self.api.call(
                    "POST",
                    "demo-safety-reviewer",
                    f"{base}/phase",
                    {"target": "run_in_review", "reason": "run-in cohort complete: safety review"},
                )
            evidence = self.api.call("GET", "demo-safety-reviewer", f"{base}/gate-evidence").json()
            self.api.call(
                "POST",
                "demo-safety-reviewer",
                f"{base}/phase",
                {
                    "target": "randomized_open",
                    "reason": "fewer than 2 treatment-related deaths in the run-in",
                    "password": self.password,
                    "meaning": "I approve opening the randomized phase IIb",
                    "evidence_sha256": evidence["evidence_sha256"],
                },
            )
            self.api.call(
                "POST", "demo-statistician", f"{base}/randomization-lists", {"slots_per_stratum": 60}
            )

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

    def _randomize(
        self, subject_id: int, course: SubjectEndpointData, pools: dict[str, list[SubjectEndpointData]]
    ) -> SubjectEndpointData:
        url = f"/api/trials/{self.protocol.id}/subjects/{subject_id}/randomize"
        user = f"demo-coordinator-{self.site_of[subject_id] + 1}"
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
                investigator = f"demo-investigator-{self.site_of[subject_id] + 1}"
                self._tumour(subject_id, course, investigator)
                self._adverse_events(subject_id, course, investigator)
                self._dates(subject_id, course, investigator)

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

    def _dates(self, subject_id: int, course: SubjectEndpointData, user: str) -> None:
        def upto(day: dt.date | None) -> str | None:
            return day.isoformat() if day is not None and day <= self.cutoff else None

        end = upto(course.treatment_end)
        body = {
            "treatment_start_date": upto(course.treatment_start),
            "treatment_end_date": end,
            "discontinuation_reason": course.off_treatment_reason if end else None,
            "new_anticancer_therapy_date": upto(course.new_anticancer_therapy_date),
            "death_date": upto(course.death_date),
            "last_known_alive_date": upto(min(d for d in (course.last_known_alive_date, self.cutoff) if d)),
        }
        base = f"/api/trials/{self.protocol.id}/subjects/{subject_id}"
        self.api.call("PUT", user, f"{base}/follow-up", {k: v for k, v in body.items() if v is not None})
        for status, happened in (
            ("on_treatment", body["treatment_start_date"]),
            ("off_treatment", end),
            ("follow_up", end),
            ("died", body["death_date"]),
        ):
            if happened:
                self.api.call(
                    "POST",
                    user,
                    f"{base}/status",
                    {"status": status, "reason": f"{status} (synthetic)", "date": happened},
                )

    # ---- report --------------------------------------------------------------------------------
    def report(self, fmt: str) -> None:
        with clock.pinned_at(_at(self.cutoff, 20)):
            response = self.api.call(
                "GET",
                "demo-statistician",
                f"/api/trials/{self.protocol.id}/report",
                cutoff=self.cutoff.isoformat(),
                format=fmt,
            )
        self.result.report = response.content
        with self.app.state.engine.connect() as connection:
            chain = verify_chain(connection)
        self.result.audit_rows, self.result.audit_ok = chain.rows, chain.ok


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
    demo = _Demo(protocol, subjects, seed, workdir, progress or (lambda _stage, _done, _total: None))
    with demo.api.client:
        demo.bootstrap()
        demo.enrol_all()
        demo.enter_follow_up()
        demo.report(fmt)
    demo.app.state.engine.dispose()
    return demo.result
