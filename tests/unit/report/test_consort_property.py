"""Property: whatever trial history was entered and whatever the cut-off, the trial report builds and
every CONSORT box adds up (CONSORT 2010 flow diagram, Schulz et al. 2010: enrolment -> allocation ->
follow-up -> analysis; each box's subjects are split exhaustively into the boxes below it).

Histories are generated for seed 000 (ivo-shfrt-2l, single arm) and seed 002 (scr-escc-01, safety
run-in then 1:1 randomized): screening and screen failures, enrolment, randomization (or not yet),
treatment start and end, scans (RECIST 1.1 baseline and follow-up), deaths, withdrawals of consent and
losses to follow-up, at a random cut-off, including dates after it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.endpoints.helpers import protocol
from trialdesk.adapters.report import report_content
from trialdesk.analysis.snapshot import (
    LOST_TO_FOLLOW_UP,
    WITHDRAWAL,
    ScreeningRecord,
    build_snapshot,
)
from trialdesk.domain.endpoints import SubjectEndpointData, TumourData
from trialdesk.domain.protocol import Protocol
from trialdesk.domain.recist import Assessment, Baseline, Lesion

START = dt.date(2025, 1, 6)
PROTOCOLS = {pid: protocol(pid) for pid in ("ivo-shfrt-2l", "scr-escc-01")}
REASONS = ("progressive disease", "adverse event", "investigator decision", "withdrawal")


def _date(offset: int) -> dt.date:
    return START + dt.timedelta(days=offset)


def _tumour(origin: dt.date, sizes: list[float | None]) -> TumourData:
    baseline = Baseline(
        date=origin - dt.timedelta(days=7),
        lesions=[
            Lesion(id="T1", site="liver", nodal=False, diameter_mm=40.0, role="target"),
            Lesion(id="NT1", site="bone", nodal=False, diameter_mm=None, role="non_target"),
        ],
    )
    scans = [
        Assessment.model_validate(
            {
                "date": origin + dt.timedelta(days=42 * (k + 1)),
                "measurements": {"T1": mm},
                "non_target": {"NT1": "present"},
                "new_lesions": [],
            }
        )
        for k, mm in enumerate(sizes)
    ]
    return TumourData(baseline=baseline, assessments=scans)


@st.composite
def patient(
    draw: st.DrawFn, proto: Protocol, number: int
) -> tuple[ScreeningRecord, SubjectEndpointData | None]:
    """One screened patient: a screen failure, still screening, or enrolled with a subject history."""
    sid = f"P{number:03d}"
    screened = _date(draw(st.integers(0, 500)))
    fate = draw(st.sampled_from(["failed", "screening", "enrolled", "enrolled", "enrolled"]))
    criteria = [f"{c.id}: {c.text.strip()}" for c in proto.eligibility.criteria[:4]]
    if fate != "enrolled":
        failed = screened + dt.timedelta(days=draw(st.integers(0, 40))) if fate == "failed" else None
        return (
            ScreeningRecord(
                subject_id=sid,
                screening_date=screened,
                screen_failure_date=failed,
                failed_criteria=draw(st.lists(st.sampled_from(criteria), max_size=2, unique=True))
                if failed
                else [],
            ),
            None,
        )
    phase = draw(st.sampled_from(proto.design.phases))
    enrolled = screened + dt.timedelta(days=draw(st.integers(0, 30)))
    randomized_on: dt.date | None = None
    if phase.kind == "randomized":
        wait = draw(st.one_of(st.none(), st.integers(0, 30)))
        randomized_on = None if wait is None else enrolled + dt.timedelta(days=wait)
    record = ScreeningRecord(
        subject_id=sid,
        screening_date=screened,
        phase_id=phase.id,
        enrolment_date=enrolled,
        randomization_date=randomized_on,
    )
    if phase.kind == "randomized" and randomized_on is None:
        return record, None  # enrolled, never randomized: no arm, no endpoint record
    origin = randomized_on or enrolled
    start = draw(st.one_of(st.none(), st.integers(0, 14)))
    treatment_start = None if start is None else origin + dt.timedelta(days=start)
    length = draw(st.one_of(st.none(), st.integers(0, 400)))
    treatment_end = (
        None if treatment_start is None or length is None else treatment_start + dt.timedelta(days=length)
    )
    death = draw(st.one_of(st.none(), st.integers(1, 700)))
    death_date = None if death is None else origin + dt.timedelta(days=death)
    if death_date is not None and treatment_start is not None and treatment_start > death_date:
        treatment_start = treatment_end = None  # died before the first dose: never treated
    if death_date is not None and treatment_end is not None and treatment_end > death_date:
        treatment_end = death_date
    exit_kind = draw(st.sampled_from([None, None, WITHDRAWAL, LOST_TO_FOLLOW_UP]))
    exit_day = origin + dt.timedelta(days=draw(st.integers(0, 600))) if exit_kind else None
    if death_date is not None and exit_day is not None and exit_day > death_date:
        exit_kind, exit_day = None, None
    sizes = draw(st.lists(st.one_of(st.none(), st.floats(0, 90, allow_nan=False)), max_size=6))
    last_alive = (
        death_date - dt.timedelta(days=1)
        if death_date
        else origin + dt.timedelta(days=draw(st.integers(0, 700)))
    )
    subject = SubjectEndpointData(
        subject_id=sid,
        arm=draw(st.sampled_from(phase.arms)),
        phase_id=phase.id,
        strata={"ecog": draw(st.sampled_from(["0", "1"]))} if phase.kind == "randomized" else {},
        origin_date=origin,
        treatment_start=treatment_start,
        treatment_end=treatment_end,
        off_treatment_reason=(
            "death"
            if treatment_end is not None and treatment_end == death_date
            else draw(st.sampled_from(REASONS))
        )
        if treatment_end
        else None,
        baseline_characteristics={
            "Age (years)": draw(st.integers(18, 85)),
            "Sex": draw(st.sampled_from(["male", "female"])),
        },
        tumour=_tumour(origin, sizes) if draw(st.booleans()) else None,
        death_date=death_date,
        last_known_alive_date=max(origin, last_alive),
        discontinuation_date=exit_day,
        discontinuation_reason=exit_kind,
    )
    return record, subject


@st.composite
def history(draw: st.DrawFn) -> dict[str, Any]:
    pid = draw(st.sampled_from(sorted(PROTOCOLS)))
    proto = PROTOCOLS[pid]
    n = draw(st.integers(0, 14))
    patients = [draw(patient(proto, k)) for k in range(n)]
    return {
        "protocol": proto,
        "screening": [r for r, _ in patients],
        "subjects": [s for _, s in patients if s is not None],
        "cutoff": _date(draw(st.integers(0, 900))),
    }


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(history())
def test_random_trial_histories_give_a_report_whose_consort_boxes_add_up(case: dict[str, Any]) -> None:
    """CONSORT 2010: screened = excluded + still screening + enrolled; enrolled = allocated + not yet
    randomized; allocated = treated + not treated (+ records not derivable); treated = on treatment +
    discontinued; left the study + died <= allocated; analysed = allocated - not derivable."""
    proto, cutoff = case["protocol"], case["cutoff"]
    snapshot = build_snapshot(proto, cutoff, case["subjects"], screening=case["screening"])
    consort = snapshot.consort
    assert consort.arithmetic_errors() == []
    screened = [r for r in case["screening"] if r.screening_date <= cutoff]
    assert consort.screened == len(screened)
    enrolled = [r for r in screened if r.enrolment_date is not None and r.enrolment_date <= cutoff]
    assert consort.enrolled == len(enrolled)  # nobody enrolled after the cut-off is in the report
    known = {s.subject_id: s for s in case["subjects"] if s.origin_date <= cutoff}
    issues = {i.subject_id for i in snapshot.data_issues}  # e.g. a scan the RECIST engine rejects
    assert sum(arm.not_derivable for arm in consort.arms) == len(issues & set(known))
    for arm in consort.arms:
        members = [
            s
            for s in known.values()
            if (s.phase_id, s.arm) == (arm.phase_id, arm.arm) and s.subject_id not in issues
        ]
        dead = [s for s in members if s.death_date is not None and s.death_date <= cutoff]
        assert arm.died == len(dead)  # a death after the cut-off is not a death
        on_treatment = {
            s.subject_id
            for s in members
            if s.treatment_start is not None
            and s.treatment_start <= cutoff
            and (s.treatment_end is None or s.treatment_end > cutoff)
            and (s.death_date is None or s.death_date > cutoff)
        }
        assert arm.ongoing == len(on_treatment)  # the dead are never on treatment
        lost = [
            s
            for s in members
            if s.discontinuation_reason == LOST_TO_FOLLOW_UP
            and s.discontinuation_date is not None
            and s.discontinuation_date <= cutoff
            and (s.death_date is None or s.death_date > cutoff)
        ]
        assert arm.lost_to_follow_up == len(lost)
    content = report_content(snapshot)
    assert content.sections[-1].title == "Data issues"
    assert len(content.dataset.subjects) == len(set(known) - issues)
