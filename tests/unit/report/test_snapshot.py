"""Report snapshot helpers and the SYNTHETIC snapshot builder."""

from __future__ import annotations

import datetime as dt

from tests.unit.endpoints.helpers import day, protocol, scan, subject
from trialdesk.analysis.snapshot import build_snapshot, consort_arms, target_sum_series
from trialdesk.analysis.synthetic import synthetic_snapshot
from trialdesk.domain.endpoints import derive_endpoints


def test_consort_arms_count_treated_discontinued_and_ongoing_at_the_cutoff() -> None:
    subjects = [
        subject("S1", treatment_end=day(50), off_treatment_reason="progressive disease"),
        subject("S2", treatment_end=day(300), off_treatment_reason="adverse event"),  # after the cut-off
        subject("S3", treatment_start=None),
        subject("S4", origin_date=day(200), treatment_start=day(200)),  # enrolled after the cut-off
        subject(
            "S5",
            treatment_end=day(20),
            off_treatment_reason="withdrawal",
            discontinuation_date=day(20),
            discontinuation_reason="withdrawal of consent",
        ),
        subject(
            "S6",
            death_date=day(30),
            treatment_end=day(30),
            off_treatment_reason="death",
            discontinuation_date=day(30),
            discontinuation_reason="death",
        ),
        subject("S7", discontinuation_date=day(150), discontinuation_reason="lost to follow-up"),  # later
    ]
    (arm,) = consort_arms(protocol(), subjects, day(100))
    assert (arm.allocated, arm.treated, arm.ongoing, arm.analysed) == (6, 5, 2, 6)
    assert arm.discontinued == {"death": 1, "progressive disease": 1, "withdrawal": 1}
    assert arm.left_study == {"withdrawal of consent": 1}


def test_target_sum_series_takes_the_best_change_up_to_progression() -> None:
    s = subject(scans=[scan(42, 40.0), scan(84, 30.0), scan(126, 45.0), scan(168, 20.0)])
    dataset = derive_endpoints(protocol(), [s], dt.date(2027, 1, 1))
    (series,) = target_sum_series(dataset)
    assert [p.pct_from_baseline for p in series.points] == [-20.0, -40.0, -10.0, -60.0]
    # PD on day 126 (+50 % over the 30 mm nadir): the later -60 % does not count.
    assert series.best_pct == -40.0
    assert series.bor == "SD"  # the PR on day 84 was never confirmed (PD next)
    assert series.points[0].days == 49  # baseline scan 7 days before the origin


def test_build_snapshot_counts_screen_failures() -> None:
    snapshot = build_snapshot(
        protocol(), day(100), [subject("S1"), subject("S2")], screened=5, screen_failures={"inc-e-ecog": 3}
    )
    assert (snapshot.consort.screened, snapshot.consort.screen_failed, snapshot.consort.enrolled) == (5, 3, 2)
    assert snapshot.synthetic is False and snapshot.safety_tables is None


def test_synthetic_snapshot_is_labelled_reproducible_and_built_through_the_recist_engine() -> None:
    p = protocol("scr-escc-01")
    snapshot = synthetic_snapshot(p, 30, seed=3)
    assert snapshot.synthetic is True
    assert all(s.subject_id.startswith("SYN-") for s in snapshot.subjects)
    assert snapshot == synthetic_snapshot(p, 30, seed=3)
    assert snapshot != synthetic_snapshot(p, 30, seed=4)
    assert {s.phase_id for s in snapshot.subjects} == {"iia", "iib"}
    assert {s.arm for s in snapshot.subjects if s.phase_id == "iib"} == {"A", "B"}
    assert all(s.strata.get("ecog") in ("0", "1") for s in snapshot.subjects if s.phase_id == "iib")
    dataset = derive_endpoints(p, snapshot.subjects, snapshot.cutoff)
    for series in snapshot.target_sums:
        report = dataset.reports[series.subject_id]
        assert [pt.pct_from_baseline for pt in series.points] == [
            tp.pct_from_baseline for tp in report.time_points
        ]
    assert snapshot.consort.enrolled == len(
        [s for s in snapshot.subjects if s.origin_date <= snapshot.cutoff]
    )
