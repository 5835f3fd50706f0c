"""Builders for RECIST test cases: a baseline and assessments from short literals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from trialdesk.domain.recist import Assessment, Baseline, Lesion, NewLesion, ResponseReport, assess_response
from trialdesk.domain.recist.assessment import Measurement, NonTargetStatus
from trialdesk.domain.recist.settings import ResponseSettings, Rules

START = dt.date(2024, 1, 1)


def day(n: int) -> dt.date:
    """The date ``n`` days after the baseline date."""
    return START + dt.timedelta(days=n)


def target(lesion_id: str, mm: float, site: str = "liver", **kwargs: Any) -> Lesion:
    return Lesion(id=lesion_id, site=site, nodal=False, diameter_mm=mm, role="target", **kwargs)


def target_node(lesion_id: str, mm: float, **kwargs: Any) -> Lesion:
    return Lesion(id=lesion_id, site="lymph node", nodal=True, diameter_mm=mm, role="target", **kwargs)


def non_target(lesion_id: str, site: str = "bone", nodal: bool = False, mm: float | None = None) -> Lesion:
    return Lesion(id=lesion_id, site=site, nodal=nodal, diameter_mm=mm, role="non_target")


def baseline(*lesions: Lesion) -> Baseline:
    return Baseline(date=START, lesions=list(lesions))


def visit(
    days: int,
    measurements: dict[str, Measurement] | None = None,
    non_targets: dict[str, NonTargetStatus | None] | None = None,
    new: list[NewLesion] | None = None,
) -> Assessment:
    return Assessment(
        date=day(days), measurements=measurements or {}, non_target=non_targets or {}, new_lesions=new or []
    )


def new_lesion(lesion_id: str, site: str = "liver", **kwargs: Any) -> NewLesion:
    return NewLesion(id=lesion_id, site=site, **kwargs)


def run(base: Baseline, *visits: Assessment, rules: Rules = "recist1.1", **settings: Any) -> ResponseReport:
    return assess_response(base, list(visits), ResponseSettings(**settings), rules)


def overall(report: ResponseReport) -> list[str]:
    return [tp.overall for tp in report.time_points]


def single_target_sums(*sums: float, days_apart: int = 42, **settings: Any) -> ResponseReport:
    """One 100-mm-or-other target lesion followed at regular intervals: first value is baseline."""
    base = baseline(target("T1", sums[0]))
    visits = [visit(days_apart * (i + 1), {"T1": value}) for i, value in enumerate(sums[1:])]
    return run(base, *visits, **settings)
