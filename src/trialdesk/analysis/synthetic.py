"""SYNTHETIC trial data for tests and demonstrations: never real patients.

:func:`synthetic_snapshot` simulates ``n`` subjects of a protocol with a fixed random seed:

* accrual uniform over ``sample_size.accrual_months`` (12 months by default), phases one after the
  other (a run-in before its randomized phase), 1:1 alternating allocation in randomized phases;
* exponential PFS with the arm's median from the sample-size assumptions (experimental arm:
  ``median1_months``, or the control median divided by ``hazard_ratio``; control / historical:
  ``median0_months`` or ``median_control_months``), exponential post-progression survival;
* RECIST scans every ``imaging_interval_weeks`` built as real :class:`Baseline` / :class:`Assessment`
  objects (one to three target lesions, one non-target lesion), shrinking towards a subject-level
  depth of response, and progressing with target growth plus a new lesion at the first scan after the
  simulated progression time; occasional missed or not-evaluable scans, new anticancer therapy,
  treatment stops for toxicity and losses to follow-up, so every derivation rule is exercised;
* screen failures spread over the protocol's eligibility criteria.

Data are simulated beyond the cut-off too; the derivation drops them. The snapshot is marked
``synthetic=True`` and every subject id starts with ``SYN-``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from trialdesk.analysis.snapshot import ReportSnapshot, ScreeningRecord, build_snapshot
from trialdesk.domain.endpoints import DAYS_PER_MONTH, SubjectEndpointData, TumourData
from trialdesk.domain.protocol import Protocol
from trialdesk.domain.protocol.model import Phase
from trialdesk.domain.recist import Assessment, Baseline, Lesion, NewLesion

TRIAL_START = dt.date(2025, 1, 6)
SITES = ("site-01", "site-02", "site-03", "site-04")
TARGET_SITES = (("liver", False, 20.0, 60.0), ("lung", False, 12.0, 40.0), ("lymph node", True, 15.0, 30.0))


@dataclass(frozen=True)
class _ArmModel:
    pfs_median_months: float
    post_progression_median_months: float
    response_probability: float


def synthetic_snapshot(
    protocol: Protocol, n: int, seed: int, cutoff: dt.date | None = None
) -> ReportSnapshot:
    """A SYNTHETIC :class:`ReportSnapshot` of ``n`` subjects (same ``seed``: same snapshot).

    ``cutoff`` defaults to the trial start plus the planned accrual and minimum follow-up
    (``sample_size.accrual_months + followup_months``).
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)
    accrual_days = _param(protocol, "accrual_months", 12.0) * DAYS_PER_MONTH
    follow_days = _param(protocol, "followup_months", 6.0) * DAYS_PER_MONTH
    subjects: list[SubjectEndpointData] = []
    counts = _phase_sizes(protocol.design.phases, n)
    offset = 0.0
    last_origin: dict[str, float] = {}
    for phase, size in zip(protocol.design.phases, counts, strict=True):
        offset = max(offset, _gate_opens(protocol, phase, last_origin))
        window = accrual_days * size / n
        for k in range(size):
            arm = phase.arms[k % len(phase.arms)]
            day = round(offset + rng.uniform(0, window))
            origin = TRIAL_START + dt.timedelta(days=day)
            number = len(subjects) + 1
            subjects.append(_subject(protocol, phase, arm, f"SYN-{number:03d}", origin, rng))
            last_origin[phase.id] = max(last_origin.get(phase.id, 0.0), float(day))
        offset += window
    subjects.sort(key=lambda s: (s.origin_date, s.subject_id))
    if cutoff is None:
        planned = TRIAL_START + dt.timedelta(days=round(accrual_days + follow_days))
        cutoff = max(planned, subjects[-1].origin_date + dt.timedelta(days=round(follow_days)))
    enrolled = len(subjects)
    failed = int(rng.binomial(enrolled, 0.35)) + 1
    reasons = [f"{c.id}: {c.text.strip()}" for c in protocol.eligibility.criteria]
    weights = rng.dirichlet(np.full(len(reasons), 0.4))
    failures = rng.multinomial(failed, weights)
    failing = [r for r, c in zip(reasons, failures, strict=True) for _ in range(int(c))]
    return build_snapshot(
        protocol,
        cutoff,
        subjects,
        screening=_screening(protocol, subjects, failing, accrual_days),
        synthetic=True,
    )


SCREENING_DAYS = 14
"""Days from the synthetic screening visit to enrolment (or to the screen-failure verdict)."""


def _screening(
    protocol: Protocol, subjects: list[SubjectEndpointData], failing: list[str], accrual_days: float
) -> list[ScreeningRecord]:
    """Screening records: every subject screened 14 days before its origin (enrolment = origin; in a
    randomized phase enrolment and randomization on the origin date), and one screen failure per
    failing criterion, spread evenly over the accrual period."""
    kinds = {p.id: p.kind for p in protocol.design.phases}
    records = [
        ScreeningRecord(
            subject_id=s.subject_id,
            screening_date=s.origin_date - dt.timedelta(days=SCREENING_DAYS),
            phase_id=s.phase_id,
            enrolment_date=s.origin_date,
            randomization_date=s.origin_date if kinds[s.phase_id] == "randomized" else None,
        )
        for s in subjects
    ]
    for k, reason in enumerate(failing):
        screened = TRIAL_START + dt.timedelta(days=round(k * accrual_days / max(len(failing), 1)))
        records.append(
            ScreeningRecord(
                subject_id=f"SYN-F{k + 1:03d}",
                screening_date=screened,
                screen_failure_date=screened + dt.timedelta(days=SCREENING_DAYS),
                failed_criteria=[reason],
            )
        )
    return records


def _param(protocol: Protocol, name: str, default: float) -> float:
    if protocol.sample_size is None or name not in protocol.sample_size.parameters:
        return default
    return float(protocol.sample_size.parameters[name].value)


def _phase_sizes(phases: list[Phase], n: int) -> list[int]:
    """Subjects per phase in proportion to the planned sizes; a run-in gets at least its minimum
    size (the gate may be signed open only then) when ``n`` leaves one subject for each later phase."""
    weights = np.array([p.target_size.max for p in phases], dtype=float)
    sizes = np.floor(n * weights / weights.sum()).astype(int)
    for index, phase in enumerate(phases):
        later = len(phases) - index - 1
        if phase.kind == "run_in" and later and sizes[index] < phase.target_size.min:
            sizes[index] = min(phase.target_size.min, n - later)
            rest = np.floor((n - sizes[index]) * weights[index + 1 :] / weights[index + 1 :].sum())
            sizes[index + 1 :] = rest.astype(int)
    sizes[-1] += n - int(sizes.sum())
    return [int(s) for s in sizes]


def _gate_opens(protocol: Protocol, phase: Phase, last_origin: dict[str, float]) -> float:
    """Day (from the trial start) a phase behind a gate may start: its run-in's last subject has been
    followed for the gate's observation window (treatment starts within 3 days of the origin), plus a
    week for the signed review."""
    for gate in protocol.design.gates:
        if gate.to_phase == phase.id and gate.from_phase in last_origin:
            return last_origin[gate.from_phase] + 3 + gate.observation_window_days.value + 7
    return 0.0


def _arm_model(protocol: Protocol, arm: str) -> _ArmModel:
    control = _param(protocol, "median_control_months", _param(protocol, "median0_months", 4.0))
    experimental = _param(protocol, "median1_months", control / _param(protocol, "hazard_ratio", 0.7))
    if protocol.arm(arm).role == "experimental":
        return _ArmModel(experimental, 6.0, 0.45)
    return _ArmModel(control, 6.0, 0.35)


def _days(rng: np.random.Generator, median_months: float) -> float:
    return float(rng.exponential(median_months * DAYS_PER_MONTH / math.log(2)))


def _subject(
    protocol: Protocol, phase: Phase, arm: str, subject_id: str, origin: dt.date, rng: np.random.Generator
) -> SubjectEndpointData:
    model = _arm_model(protocol, arm)
    ecog = (
        str(int(rng.choice([0, 1], p=[0.4, 0.6])))
        if phase.kind != "single_arm"
        else str(int(rng.choice([0, 1, 2], p=[0.3, 0.55, 0.15])))
    )
    progression_day = _days(rng, model.pfs_median_months)
    death_day = progression_day + _days(rng, model.post_progression_median_months)
    if rng.random() < 0.08:  # death without progression
        death_day = float(rng.uniform(10, max(progression_day, 11)))
        progression_day = math.inf
    lost_day = float(rng.uniform(60, 700)) if rng.random() < 0.05 else math.inf
    toxicity_day = float(rng.uniform(21, 200)) if rng.random() < 0.12 else math.inf
    new_therapy = rng.random() < 0.5
    interval = 7 * protocol.tumour_assessment.imaging_interval_weeks.value
    baseline, scans, pd_day = _tumour(origin, interval, progression_day, min(death_day, lost_day), rng)
    end_day, reason = _treatment_end(pd_day, death_day, toxicity_day, lost_day)
    new_therapy_day = None
    if reason == "adverse event" and new_therapy:
        new_therapy_day = end_day + 21
        scans = [s for s in scans if (s.date - origin).days <= new_therapy_day + 30]

    def date(days: float | None) -> dt.date | None:
        return None if days is None or math.isinf(days) else origin + dt.timedelta(days=round(days))

    died = death_day < lost_day
    return SubjectEndpointData(
        subject_id=subject_id,
        arm=arm,
        phase_id=phase.id,
        strata={"ecog": ecog} if phase.kind == "randomized" else {},
        site=str(rng.choice(SITES)),
        origin_date=origin,
        treatment_start=origin + dt.timedelta(days=int(rng.integers(0, 4))),
        treatment_end=date(end_day),
        off_treatment_reason=reason,
        baseline_characteristics={
            "Age (years)": int(np.clip(round(rng.normal(63, 8)), 40, 80)),
            "Sex": "male" if rng.random() < 0.8 else "female",
            "ECOG performance status": ecog,
            "Target-lesion sum (mm)": float(sum(t.diameter_mm or 0.0 for t in baseline.targets)),
        },
        tumour=TumourData(baseline=baseline, assessments=scans),
        death_date=date(death_day) if died else None,
        last_known_alive_date=date(min(death_day, lost_day) - (0 if not died else 1)),
        new_anticancer_therapy_date=date(new_therapy_day),
        discontinuation_date=date(death_day if died else lost_day),
        discontinuation_reason="death"
        if died
        else ("lost to follow-up" if not math.isinf(lost_day) else None),
    )


def _treatment_end(
    pd_day: float, death_day: float, toxicity_day: float, lost_day: float
) -> tuple[float, str]:
    ends = [
        (pd_day, "progressive disease"),
        (death_day, "death"),
        (toxicity_day, "adverse event"),
        (lost_day, "lost to follow-up"),
    ]
    day, reason = min(ends, key=lambda e: e[0])
    return day, reason


def _tumour(
    origin: dt.date, interval: int, progression_day: float, stop_day: float, rng: np.random.Generator
) -> tuple[Baseline, list[Assessment], float]:
    """Baseline lesions and scans until the first scan after progression (or death / loss)."""
    lesions: list[Lesion] = []
    for k in range(int(rng.integers(1, 4))):
        site, nodal, low, high = TARGET_SITES[k]
        lesions.append(
            Lesion(
                id=f"T{k + 1}",
                site=site,
                nodal=nodal,
                regional_node=False if nodal else None,
                station="supraclavicular" if nodal else None,
                diameter_mm=round(float(rng.uniform(low, high)), 1),
                role="target",
            )
        )
    lesions.append(Lesion(id="NT1", site="bone", nodal=False, diameter_mm=None, role="non_target"))
    baseline = Baseline(date=origin - dt.timedelta(days=int(rng.integers(3, 21))), lesions=lesions)
    responder = rng.random() < 0.4
    depth = float(rng.uniform(0.35, 0.95)) if responder else float(rng.uniform(-0.12, 0.28))
    scans: list[Assessment] = []
    nadir = {t.id: float(t.diameter_mm or 0.0) for t in baseline.targets}
    k = 1
    while True:
        day = k * interval + int(rng.integers(-3, 4))
        k += 1
        if day >= stop_day or day > 1500:
            return baseline, scans, math.inf
        if day >= progression_day:
            measures: dict[str, float | None] = {i: round(v * 1.3 + 3.0, 1) for i, v in nadir.items()}
            scans.append(_scan(origin, day, measures, new_lesion=True))
            return baseline, scans, float(day)
        if rng.random() < 0.05:
            continue  # missed scan
        shrink = depth * (1.0 - math.exp(-day / 50.0))
        measures = {t.id: round(float(t.diameter_mm or 0.0) * (1.0 - shrink), 1) for t in baseline.targets}
        if rng.random() < 0.03:
            measures[baseline.targets[0].id] = None  # not assessed: NE time point
        for i, v in measures.items():
            if v is not None:
                nadir[i] = min(nadir[i], v)
        scans.append(_scan(origin, day, measures, new_lesion=False))


def _scan(origin: dt.date, day: int, measures: dict[str, float | None], *, new_lesion: bool) -> Assessment:
    return Assessment(
        date=origin + dt.timedelta(days=day),
        measurements=dict(measures),
        non_target={"NT1": "present"},
        new_lesions=[NewLesion(id="N1", site="liver")] if new_lesion else [],
    )
