"""A subject's calendar: the visits the protocol's schedule plans from treatment start, and where each
stands (pure; no database).

Rules (protocol ``visit_schedule``, ``interventions``, ``tumour_assessment``, ``analysis``):

* Treatment cycles: drugs of the subject's arm grouped by cycle length; cycle ``k`` is planned one
  cycle length after cycle ``k-1`` was actually given (or was planned), so a delayed cycle shifts
  the next ones; an agent stops after its ``max_cycles``. Cycles continue until treatment ends or the
  horizon.
* Radiotherapy courses of the arm start on their ``start_day`` of treatment.
* Tumour assessments are fixed: every ``imaging_interval_weeks`` from treatment start, whatever the
  cycle delays (RECIST 1.1 section 4.3.2: assessments follow the calendar, not the treatment), until
  progression, death or the horizon.
* When treatment ends: later cycles are not required; the end-of-treatment visit, safety follow-up
  (days after the last dose) and survival follow-up (every N months) are planned.
* Death: every visit planned after it is not required.

A visit is ``planned``, ``done`` (with the date; out of window when outside it), ``missed``,
``overdue`` (the window has passed and it is neither done nor missed) or ``not_required``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from dateutil.relativedelta import relativedelta

from trialdesk.domain.protocol.model import DrugIntervention, Protocol, RadiotherapyIntervention

VisitKind = Literal[
    "cycle", "radiotherapy", "tumour_assessment", "end_of_treatment", "safety_follow_up", "survival"
]
VisitStatus = Literal["planned", "done", "missed", "overdue", "not_required"]


@dataclass(frozen=True)
class ScheduledVisit:
    """One planned visit: ``day`` counts from treatment start (day 1), window in days."""

    visit_id: str
    kind: VisitKind
    label: str
    planned: dt.date
    day: int
    window_before: int
    window_after: int
    agents: tuple[str, ...] = ()
    status: VisitStatus = "planned"
    done_on: dt.date | None = None
    out_of_window: bool = False

    @property
    def window_start(self) -> dt.date:
        return self.planned - dt.timedelta(days=self.window_before)

    @property
    def window_end(self) -> dt.date:
        return self.planned + dt.timedelta(days=self.window_after)

    def in_window(self, day: dt.date) -> bool:
        """Whether ``day`` falls inside this visit's window (inclusive)."""
        return self.window_start <= day <= self.window_end


@dataclass(frozen=True)
class SubjectCourse:
    """What the calendar depends on for one subject (dates are clinical dates).

    ``cycles_given`` maps a cycle number (1-based) to the date its day 1 was actually given;
    ``visits_done`` / ``visits_missed`` map a visit id to its date or reason; ``assessments`` are the
    dates of tumour assessments performed (matched to the nearest scheduled one within its window).
    """

    arm_interventions: tuple[str, ...]
    treatment_start: dt.date
    treatment_end: dt.date | None = None
    last_dose: dt.date | None = None
    progression: dt.date | None = None
    death: dt.date | None = None
    cycles_given: Mapping[int, dt.date] = field(default_factory=dict)
    assessments: Sequence[dt.date] = ()
    visits_done: Mapping[str, dt.date] = field(default_factory=dict)
    visits_missed: Mapping[str, str] = field(default_factory=dict)
    visits_not_required: frozenset[str] = frozenset()


def _day(start: dt.date, date: dt.date) -> int:
    return (date - start).days + 1


def _horizon(protocol: Protocol, start: dt.date) -> dt.date:
    return start + relativedelta(months=protocol.visit_schedule.horizon_months.value)


def _drugs(protocol: Protocol, course: SubjectCourse) -> list[DrugIntervention]:
    return [
        i
        for i in protocol.interventions
        if isinstance(i, DrugIntervention) and i.id in course.arm_interventions
    ]


def _cycle_visits(protocol: Protocol, course: SubjectCourse, until: dt.date) -> list[ScheduledVisit]:
    """Day 1 of each cycle per cycle length, shifted by the actual date of the previous cycle."""
    before, after = protocol.visit_schedule.cycle_window_days.value
    by_length: dict[int, list[DrugIntervention]] = {}
    for drug in _drugs(protocol, course):
        by_length.setdefault(drug.cycle_days.value, []).append(drug)
    visits: list[ScheduledVisit] = []
    for length, drugs in sorted(by_length.items()):
        prefix = "C" if len(by_length) == 1 else f"C{length}d-"
        planned = course.treatment_start
        cycle = 1
        while planned <= until:
            agents = tuple(d.id for d in drugs if d.max_cycles.value is None or cycle <= d.max_cycles.value)
            if not agents:
                break
            visits.append(
                ScheduledVisit(
                    f"{prefix}{cycle}",
                    "cycle",
                    f"Cycle {cycle} day 1",
                    planned,
                    _day(course.treatment_start, planned),
                    before if cycle > 1 else 0,
                    after,
                    agents,
                )
            )
            given = course.cycles_given.get(cycle) if len(by_length) == 1 else None
            planned = (given or planned) + dt.timedelta(days=length)
            cycle += 1
    return visits


def _radiotherapy_visits(protocol: Protocol, course: SubjectCourse) -> list[ScheduledVisit]:
    arm_rt = {
        i.id: i
        for i in protocol.interventions
        if isinstance(i, RadiotherapyIntervention) and i.id in course.arm_interventions
    }
    visits = []
    for timing in protocol.visit_schedule.radiotherapy:
        rt = arm_rt.get(timing.intervention)
        if rt is None:
            continue
        planned = course.treatment_start + dt.timedelta(days=timing.start_day.value - 1)
        label = f"{rt.rt_type} start ({rt.fractions.value} x {rt.dose_per_fraction_gy.value:g} Gy)"
        visits.append(
            ScheduledVisit(
                f"RT-{rt.id}",
                "radiotherapy",
                label,
                planned,
                timing.start_day.value,
                0,
                timing.window_days_after.value,
                (rt.id,),
            )
        )
    return visits


def scheduled_assessment_dates(anchor: dt.date, interval_days: int, until: dt.date) -> list[dt.date]:
    """Planned tumour assessments: every ``interval_days`` after ``anchor`` up to ``until``, fixed
    whatever happens to treatment (RECIST 1.1 section 4.3.2)."""
    if interval_days < 1:
        raise ValueError("the imaging interval must be at least 1 day")
    count = max(0, (until - anchor).days // interval_days)
    return [anchor + dt.timedelta(days=interval_days * k) for k in range(1, count + 1)]


def count_missed_assessments(
    anchor: dt.date,
    interval_days: int,
    window_days: int,
    performed: Sequence[dt.date],
    after: dt.date,
    before: dt.date,
) -> int:
    """Scheduled assessments missed between an adequate assessment on ``after`` and an event on
    ``before``: planned after ``after``, whose window closed before ``before``, with no adequate
    assessment in the window (FDA 2018 PFS censoring: an event after two or more missed assessments)."""
    missed = 0
    for planned in scheduled_assessment_dates(anchor, interval_days, before):
        window_start = planned - dt.timedelta(days=window_days)
        window_end = planned + dt.timedelta(days=window_days)
        if planned <= after or window_end >= before:
            continue
        if not any(window_start <= d <= window_end for d in performed):
            missed += 1
    return missed


def _assessment_visits(protocol: Protocol, course: SubjectCourse, until: dt.date) -> list[ScheduledVisit]:
    weeks = protocol.tumour_assessment.imaging_interval_weeks.value
    window = protocol.analysis.assessment_window_days.value
    dates = scheduled_assessment_dates(course.treatment_start, 7 * weeks, until)
    return [
        ScheduledVisit(
            f"TA{number}",
            "tumour_assessment",
            f"Tumour assessment {number} (week {number * weeks})",
            planned,
            _day(course.treatment_start, planned),
            window,
            window,
        )
        for number, planned in enumerate(dates, start=1)
    ]


def _after_treatment_visits(
    protocol: Protocol, course: SubjectCourse, until: dt.date
) -> list[ScheduledVisit]:
    schedule = protocol.visit_schedule
    if course.treatment_end is None:
        return []
    last_dose = course.last_dose or course.treatment_end
    start = course.treatment_start
    eot = course.treatment_end + dt.timedelta(days=schedule.end_of_treatment_days.value)
    before, after = schedule.end_of_treatment_window_days.value
    visits = [
        ScheduledVisit("EOT", "end_of_treatment", "End of treatment", eot, _day(start, eot), before, after)
    ]
    before, after = schedule.safety_follow_up_window_days.value
    for days in schedule.safety_follow_up_days.value:
        planned = last_dose + dt.timedelta(days=days)
        label = f"Safety follow-up ({days} days after the last dose)"
        visits.append(
            ScheduledVisit(
                f"SFU{days}", "safety_follow_up", label, planned, _day(start, planned), before, after
            )
        )
    before, after = schedule.survival_window_days.value
    number = 1
    planned = course.treatment_end + relativedelta(months=schedule.survival_interval_months.value)
    while planned <= until:
        label = f"Survival follow-up {number}"
        visits.append(
            ScheduledVisit(f"SV{number}", "survival", label, planned, _day(start, planned), before, after)
        )
        number += 1
        planned = course.treatment_end + relativedelta(
            months=schedule.survival_interval_months.value * number
        )
    return visits


def plan(protocol: Protocol, course: SubjectCourse) -> list[ScheduledVisit]:
    """Every visit of the subject's calendar in date order, before statuses are applied."""
    horizon = _horizon(protocol, course.treatment_start)
    treatment_until = min(d for d in (horizon, course.treatment_end, course.death) if d is not None)
    assess_until = min(d for d in (horizon, course.progression, course.death) if d is not None)
    visits = (
        _cycle_visits(protocol, course, treatment_until)
        + _radiotherapy_visits(protocol, course)
        + _assessment_visits(protocol, course, assess_until)
        + _after_treatment_visits(protocol, course, horizon)
    )
    return sorted(visits, key=lambda v: (v.planned, v.kind, v.visit_id))


def _match_assessments(visits: list[ScheduledVisit], dates: Sequence[dt.date]) -> dict[str, dt.date]:
    """Each performed assessment, in date order, to the not yet matched scheduled one whose planned
    date is nearest (a scan outside every window still counts, done out of window)."""
    scheduled = [v for v in visits if v.kind == "tumour_assessment"]
    matched: dict[str, dt.date] = {}
    for date in sorted(dates):
        free = [v for v in scheduled if v.visit_id not in matched]
        if not free:
            break
        nearest = min(free, key=lambda v: abs((v.planned - date).days))
        matched[nearest.visit_id] = date
    return matched


def _status(
    visit: ScheduledVisit, course: SubjectCourse, done: Mapping[str, dt.date], today: dt.date
) -> ScheduledVisit:
    if visit.visit_id in done:
        day = done[visit.visit_id]
        return replace(visit, status="done", done_on=day, out_of_window=not visit.in_window(day))
    if visit.visit_id in course.visits_missed:
        return replace(visit, status="missed")
    if visit.visit_id in course.visits_not_required:
        return replace(visit, status="not_required")
    ended = course.death is not None and visit.planned > course.death
    if visit.kind == "cycle" and course.treatment_end is not None and visit.planned > course.treatment_end:
        ended = True
    if ended:
        return replace(visit, status="not_required")
    if visit.window_end < today:
        return replace(visit, status="overdue")
    return visit


def calendar(protocol: Protocol, course: SubjectCourse, today: dt.date) -> list[ScheduledVisit]:
    """The subject's calendar with each visit's status as of ``today``."""
    visits = plan(protocol, course)
    done = dict(course.visits_done)
    done.update({f"C{n}": day for n, day in course.cycles_given.items()})
    done.update(_match_assessments(visits, [a for a in course.assessments if a > course.treatment_start]))
    return [_status(v, course, done, today) for v in visits]


def missed_assessments_between(visits: Sequence[ScheduledVisit], after: dt.date, before: dt.date) -> int:
    """Scheduled tumour assessments planned strictly between two dates that were not done (missed or
    overdue): the count the PFS rule 'event after two or more missed assessments' needs (FDA 2018)."""
    return sum(
        1
        for v in visits
        if v.kind == "tumour_assessment" and after < v.planned < before and v.status in ("missed", "overdue")
    )
