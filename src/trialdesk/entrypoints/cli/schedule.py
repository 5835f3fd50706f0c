"""``trialdesk schedule``: the protocol's visit schedule and a subject's calendar."""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from trialdesk.entrypoints.cli.database import JSON_OPTION, current_engine
from trialdesk.entrypoints.cli.output import console, fail_with, print_json
from trialdesk.entrypoints.cli.protocol import get_protocol
from trialdesk.services.errors import TRIAL_ERRORS

if TYPE_CHECKING:
    from trialdesk.domain.calendar import ScheduledVisit
    from trialdesk.domain.protocol.model import Protocol

app = typer.Typer(help="Visit schedules and subject calendars.", no_args_is_help=True)
NOMINAL_START = dt.date(2000, 1, 3)
"""Day 1 of the nominal calendar ``schedule show`` lays out (only day numbers are printed)."""


def _visit_json(visit: ScheduledVisit, with_dates: bool) -> dict[str, Any]:
    data = dataclasses.asdict(visit)
    data["agents"] = list(visit.agents)
    if not with_dates:
        for key in ("planned", "done_on", "status", "out_of_window"):
            data.pop(key)
    return data


def _window(visit: ScheduledVisit) -> str:
    return f"-{visit.window_before} / +{visit.window_after}"


def _arm_schedule(protocol: Protocol, arm_id: str, weeks: int) -> list[ScheduledVisit]:
    from trialdesk.domain.calendar import SubjectCourse, plan

    arm = next(a for a in protocol.design.arms if a.id == arm_id)
    visits = plan(protocol, SubjectCourse(tuple(arm.interventions), NOMINAL_START))
    return [v for v in visits if v.day <= weeks * 7]


def _rules(protocol: Protocol) -> list[dict[str, str]]:
    schedule = protocol.visit_schedule
    before, after = schedule.safety_follow_up_window_days.value
    s_before, s_after = schedule.survival_window_days.value
    e_before, e_after = schedule.end_of_treatment_window_days.value
    interval = protocol.tumour_assessment.imaging_interval_weeks.value
    eot = schedule.end_of_treatment_days.value
    return [
        {
            "visit": "Screening",
            "when": f"within {protocol.eligibility.screening_window_days.value} days before enrolment",
        },
        {
            "visit": "Tumour assessment",
            "when": f"every {interval} weeks from treatment start "
            f"(+/- {protocol.analysis.assessment_window_days.value} days) until progression",
        },
        {
            "visit": "End of treatment",
            "when": f"{eot} days after treatment stops (-{e_before} / +{e_after})",
        },
        {
            "visit": "Safety follow-up",
            "when": ", ".join(f"{d}" for d in schedule.safety_follow_up_days.value)
            + f" days after the last dose (-{before} / +{after})",
        },
        {
            "visit": "Survival follow-up",
            "when": f"every {schedule.survival_interval_months.value} months after the end of treatment "
            f"(-{s_before} / +{s_after}) until death",
        },
    ]


@app.command("show")
def show_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"),
    weeks: int = typer.Option(24, "--weeks", min=1, max=520, help="Weeks of treatment to lay out"),
    json_output: bool = JSON_OPTION,
) -> None:
    """The schedule: visits by day of treatment (day 1 = treatment start) with windows, per arm."""
    protocol = get_protocol(protocol_id)
    arms = {a.id: _arm_schedule(protocol, a.id, weeks) for a in protocol.design.arms}
    if json_output:
        print_json(
            {
                "protocol_id": protocol.id,
                "weeks": weeks,
                "rules": _rules(protocol),
                "arms": {arm: [_visit_json(v, False) for v in visits] for arm, visits in arms.items()},
            }
        )
        return
    rules = Table(title=f"{protocol.short_title}: visit schedule")
    rules.add_column("visit")
    rules.add_column("when", overflow="fold")
    for rule in _rules(protocol):
        rules.add_row(rule["visit"], rule["when"])
    console.print(rules)
    for arm_id, visits in arms.items():
        table = Table(title=f"Arm {arm_id}: the first {weeks} weeks (days from treatment start)")
        for column in ("day", "visit", "window (days)", "agents"):
            table.add_column(column, justify="right" if column == "day" else "left")
        for visit in visits:
            table.add_row(str(visit.day), visit.label, _window(visit), ", ".join(visit.agents))
        console.print(table)


@app.command("subject")
def subject_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"),
    screening_number: str = typer.Argument(..., help="The subject's screening number"),
    json_output: bool = JSON_OPTION,
) -> None:
    """A subject's calendar: each visit planned, done (in or out of window), missed, overdue or not
    required, from the stored treatment dates, tumour assessments and death."""
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.services.calendar import subject_calendar

    protocol = get_protocol(protocol_id)
    engine = current_engine()
    try:
        with unit_of_work(engine, f"cli:{getpass.getuser()}", write=False) as session:
            subject, visits = subject_calendar(session, None, protocol, screening_number)
            arm, start = subject.arm_id, subject.treatment_start_date
    except TRIAL_ERRORS as exc:
        fail_with(exc)
    if json_output:
        print_json(
            {
                "protocol_id": protocol.id,
                "screening_number": screening_number,
                "arm": arm,
                "treatment_start": start,
                "visits": [_visit_json(v, True) for v in visits],
            }
        )
        return
    table = Table(title=f"{screening_number} (arm {arm}), treatment start {start}")
    for column in ("planned", "day", "visit", "window", "status", "done"):
        table.add_column(column)
    styles = {"done": "green", "overdue": "bold red", "missed": "red", "not_required": "dim"}
    for v in visits:
        status = v.status + (" (out of window)" if v.out_of_window else "")
        style = styles.get(v.status, "")
        table.add_row(
            v.planned.isoformat(),
            str(v.day),
            v.label,
            _window(v),
            f"[{style}]{status}[/]" if style else status,
            v.done_on.isoformat() if v.done_on else "",
        )
    console.print(table)
