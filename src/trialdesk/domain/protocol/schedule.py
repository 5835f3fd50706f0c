"""The visit schedule of a protocol file (``visit_schedule``): windows and follow-up visits.

What the schedule does not repeat, it reads from the rest of the protocol: treatment cycles come from
each drug's ``cycle_days`` and ``max_cycles``, radiotherapy courses from the radiotherapy
interventions, tumour assessments from ``tumour_assessment.imaging_interval_weeks`` with the window
``analysis.assessment_window_days``, and the screening window from
``eligibility.screening_window_days``. Each value here is a :class:`Parameter` with its provenance.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.protocol.parameters import Parameter


def _default(value: object, unit: str | None, rationale: str) -> Parameter:  # type: ignore[type-arg]
    return Parameter(value=value, unit=unit, provenance="default", rationale=rationale)


class RadiotherapyTiming(FrozenModel):
    """When a radiotherapy course starts: ``start_day`` of treatment (day 1 = treatment start)."""

    intervention: str
    start_day: Parameter[int]
    window_days_after: Parameter[int]


class VisitSchedule(FrozenModel):
    """Windows of the scheduled visits and the follow-up after treatment (days unless stated).

    Windows are ``(days before, days after)`` the planned date. The treatment cycle's day 1 window
    applies to every cycle; safety follow-up visits are that many days after the last dose; survival
    follow-up repeats every ``survival_interval_months`` after the end of treatment until death or the
    ``horizon_months`` of the calendar (counted from treatment start).
    """

    cycle_window_days: Parameter[list[int]] = Field(
        default_factory=lambda: _default(
            [0, 3], "days", "Day 1 of each cycle may be given up to 3 days late (common oncology practice)."
        )
    )
    radiotherapy: list[RadiotherapyTiming] = Field(default_factory=list)
    end_of_treatment_days: Parameter[int] = Field(
        default_factory=lambda: _default(
            7, "days", "End-of-treatment visit within 7 days of the decision to stop treatment."
        )
    )
    end_of_treatment_window_days: Parameter[list[int]] = Field(
        default_factory=lambda: _default([7, 7], "days", "+/- 7 days around the end-of-treatment visit.")
    )
    safety_follow_up_days: Parameter[list[int]] = Field(
        default_factory=lambda: _default(
            [30, 90],
            "days",
            "Safety follow-up 30 days after the last dose (all AEs) and 90 days (immune-related AEs and "
            "SAEs), as in PD-1 inhibitor trials (e.g. KEYNOTE-590).",
        )
    )
    safety_follow_up_window_days: Parameter[list[int]] = Field(
        default_factory=lambda: _default([7, 7], "days", "+/- 7 days around each safety follow-up visit.")
    )
    survival_interval_months: Parameter[int] = Field(
        default_factory=lambda: _default(3, "months", "Survival follow-up every 3 months (usual for OS).")
    )
    survival_window_days: Parameter[list[int]] = Field(
        default_factory=lambda: _default([14, 14], "days", "+/- 14 days around each survival contact.")
    )
    horizon_months: Parameter[int] = Field(
        default_factory=lambda: _default(
            24, "months", "Calendars are generated 24 months ahead of treatment start (2 years of therapy)."
        )
    )

    @model_validator(mode="after")
    def _windows_are_pairs(self) -> VisitSchedule:
        for name in (
            "cycle_window_days",
            "end_of_treatment_window_days",
            "safety_follow_up_window_days",
            "survival_window_days",
        ):
            window = getattr(self, name).value
            if len(window) != 2 or min(window) < 0 or max(window) > 90:
                raise ValueError(f"visit_schedule.{name} must be [days before, days after], each 0-90")
        if any(d < 1 or d > 365 for d in self.safety_follow_up_days.value):
            raise ValueError("visit_schedule.safety_follow_up_days must each be 1-365 days")
        if not 1 <= self.survival_interval_months.value <= 12:
            raise ValueError("visit_schedule.survival_interval_months must be 1-12")
        if not 1 <= self.horizon_months.value <= 120:
            raise ValueError("visit_schedule.horizon_months must be 1-120")
        for timing in self.radiotherapy:
            if not 1 <= timing.start_day.value <= 365:
                raise ValueError(
                    f"visit_schedule.radiotherapy '{timing.intervention}' start_day must be 1-365"
                )
        return self
