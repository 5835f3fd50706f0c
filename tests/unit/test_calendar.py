"""A subject's calendar from the protocol's schedule: cycles shift with delays, assessments stay on
the calendar, treatment end and death end what they end (trialdesk.domain.calendar)."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.domain.calendar import (
    SubjectCourse,
    calendar,
    count_missed_assessments,
    plan,
    scheduled_assessment_dates,
)
from trialdesk.protocols import load_registry

START = dt.date(2026, 1, 5)
ARM_A = ("pd1", "paclitaxel", "platinum", "ldrt", "cfrt")
ARM_B = ("pd1", "paclitaxel", "platinum")


def _scr():  # type: ignore[no-untyped-def]
    return load_registry().get("scr-escc-01")


def _by_id(visits):  # type: ignore[no-untyped-def]
    return {v.visit_id: v for v in visits}


def test_cycles_every_21_days_and_chemotherapy_stops_after_6_cycles() -> None:
    visits = _by_id(plan(_scr(), SubjectCourse(ARM_B, START)))
    assert visits["C1"].planned == START and visits["C1"].day == 1
    assert visits["C2"].planned == START + dt.timedelta(days=21) and visits["C2"].day == 22
    assert visits["C6"].agents == ("pd1", "paclitaxel", "platinum")
    assert visits["C7"].agents == ("pd1",)  # paclitaxel/platinum max_cycles 6
    assert max(int(v[1:]) for v in visits if v.startswith("C")) == 35  # PD-1 max 35 cycles
    assert "RT-cfrt" not in visits  # arm B has no radiotherapy


def test_a_delayed_cycle_shifts_the_next_ones_but_not_the_assessments() -> None:
    on_time = _by_id(plan(_scr(), SubjectCourse(ARM_A, START)))
    delayed = _by_id(
        plan(_scr(), SubjectCourse(ARM_A, START, cycles_given={1: START, 2: START + dt.timedelta(28)}))
    )
    assert delayed["C3"].planned == START + dt.timedelta(days=28 + 21)
    assert delayed["C3"].planned - on_time["C3"].planned == dt.timedelta(days=7)
    assert [v.planned for k, v in delayed.items() if k.startswith("TA")] == [
        v.planned for k, v in on_time.items() if k.startswith("TA")
    ]
    assert delayed["TA1"].planned == START + dt.timedelta(weeks=6)


def test_statuses_done_out_of_window_overdue_and_planned() -> None:
    course = SubjectCourse(
        ARM_A,
        START,
        cycles_given={1: START, 2: START + dt.timedelta(days=28)},
        assessments=[START + dt.timedelta(43)],
    )
    visits = _by_id(calendar(_scr(), course, today=START + dt.timedelta(days=50)))
    assert visits["C1"].status == "done" and not visits["C1"].out_of_window
    assert visits["C2"].status == "done" and visits["C2"].out_of_window  # 7 days late; window +3
    assert visits["TA1"].status == "done" and visits["TA1"].done_on == START + dt.timedelta(43)
    assert visits["C3"].status == "planned"  # due on START + 49, window +3 days: not late yet
    assert visits["RT-cfrt"].status == "overdue"  # RT start window (21 days) passed, not recorded
    later = _by_id(calendar(_scr(), course, today=START + dt.timedelta(days=120)))
    assert later["TA2"].status == "overdue"


def test_end_of_treatment_and_death_end_the_calendar() -> None:
    end = START + dt.timedelta(days=62)
    death = START + dt.timedelta(days=200)
    course = SubjectCourse(ARM_A, START, treatment_end=end, last_dose=START + dt.timedelta(42), death=death)
    visits = calendar(_scr(), course, today=START + dt.timedelta(days=300))
    by_id = _by_id(visits)
    assert max(int(v.visit_id[1:]) for v in visits if v.kind == "cycle") == 3  # C4 would be day 64
    assert by_id["EOT"].planned == end + dt.timedelta(days=7)
    assert by_id["SFU30"].planned == START + dt.timedelta(42 + 30)
    assert by_id["SFU90"].planned == START + dt.timedelta(42 + 90)
    assert by_id["SV1"].planned == dt.date(2026, 6, 8)  # 3 months after the end of treatment
    assert all(v.status == "not_required" for v in visits if v.planned > death)
    assert not [v for v in visits if v.kind == "tumour_assessment" and v.planned > death]


def test_single_arm_shfrt_course_starts_with_cycle_one() -> None:
    ivo = load_registry().get("ivo-shfrt-2l")
    visits = _by_id(plan(ivo, SubjectCourse(("ivonescimab", "shfrt"), START)))
    assert visits["RT-shfrt"].planned == START and "5 x 5 Gy" in visits["RT-shfrt"].label
    assert visits["C2"].agents == ("ivonescimab",)
    horizon = START.replace(year=START.year + 2)
    assert max(v.planned for v in visits.values()) <= horizon


def test_assessment_dates_and_missed_count() -> None:
    assert scheduled_assessment_dates(START, 42, START + dt.timedelta(days=130)) == [
        START + dt.timedelta(days=42 * k) for k in (1, 2, 3)
    ]
    performed = [START + dt.timedelta(days=42)]
    progression = START + dt.timedelta(days=168)
    assert count_missed_assessments(START, 42, 7, performed, performed[0], progression) == 2
    # a scan inside the week-12 window (day 88, window 77-91) means only week 18 was missed
    assert (
        count_missed_assessments(
            START, 42, 7, [*performed, START + dt.timedelta(88)], performed[0], progression
        )
        == 1
    )
    with pytest.raises(ValueError, match="imaging interval"):
        scheduled_assessment_dates(START, 0, progression)
