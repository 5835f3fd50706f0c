"""The trial report's treatment tables at a data cut-off: drug exposure and relative dose intensity,
radiotherapy delivery, visit compliance by arm, and the protocol-deviation listing.

Every figure is computed from the records dated on or before the cut-off, with the same rules as the
subject-level use cases (:mod:`trialdesk.services.exposure`, :mod:`trialdesk.services.radiotherapy`,
:mod:`trialdesk.services.calendar`, :mod:`trialdesk.services.deviations`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.models import DrugAdministration, Subject
from trialdesk.domain.calendar import calendar
from trialdesk.domain.protocol.model import DrugIntervention, Protocol, RadiotherapyIntervention
from trialdesk.domain.rt_delivery import CourseDelivery
from trialdesk.services.calendar import course_of
from trialdesk.services.deviations import deviations_of
from trialdesk.services.dispensing import reconcile
from trialdesk.services.errors import Conflict
from trialdesk.services.exposure import exposure_by_agent
from trialdesk.services.radiotherapy import course_deliveries
from trialdesk.services.rt_fields import FIELD_RESPONSE_TITLE, field_response_rows

Rows = list[dict[str, str]]
EXPOSURE = "Drug exposure and relative dose intensity"
RADIOTHERAPY = "Radiotherapy delivered"
VISITS = "Visit compliance"
IP_RECONCILIATION = "Investigational product reconciliation"
DEVIATIONS = "Protocol deviations"


def _median_range(values: Sequence[float], fmt: str) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def _median(values: Sequence[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}}" if values else "-"


def _arm_subjects(session: Session, protocol: Protocol) -> dict[str, list[Subject]]:
    by_arm: dict[str, list[Subject]] = {a.id: [] for a in protocol.design.arms}
    for subject in subject_repository.list_by_protocol(session, protocol.id):
        if subject.arm_id in by_arm and subject.phase_id is not None:
            by_arm[subject.arm_id].append(subject)
    return by_arm


def _exposure_rows(
    session: Session, protocol: Protocol, by_arm: dict[str, list[Subject]], cutoff: dt.date
) -> Rows:
    drugs = {i.id: i for i in protocol.interventions if isinstance(i, DrugIntervention)}
    rows: Rows = []
    for arm in protocol.design.arms:
        per_agent: dict[str, list[tuple[int, float, float]]] = {
            a: [] for a in arm.interventions if a in drugs
        }
        for subject in by_arm[arm.id]:
            doses = [
                d
                for d in session.scalars(
                    select(DrugAdministration).where(DrugAdministration.subject_id == subject.id)
                )
                if d.date <= cutoff
            ]
            for agent, summary in exposure_by_agent(protocol, doses).items():
                if summary.cycles and agent in per_agent:
                    per_agent[agent].append(
                        (summary.cycles, summary.relative_dose_intensity, summary.cumulative_mg)
                    )
        for agent, values in per_agent.items():
            if not values:
                continue
            rows.append(
                {
                    "Arm": arm.id,
                    "Agent": drugs[agent].name,
                    "Treated": f"{len(values)} of {len(by_arm[arm.id])}",
                    "Cycles, median (range)": _median_range([v[0] for v in values], ".0f"),
                    "RDI, median (range)": _median_range([v[1] for v in values], ".2f"),
                    "Cumulative dose mg, median": _median([v[2] for v in values], ".0f"),
                }
            )
    return rows


def _radiotherapy_rows(
    session: Session, protocol: Protocol, by_arm: dict[str, list[Subject]], cutoff: dt.date
) -> Rows:
    courses = {i.id: i for i in protocol.interventions if isinstance(i, RadiotherapyIntervention)}
    rows: Rows = []
    for arm in protocol.design.arms:
        arm_courses = [c for c in arm.interventions if c in courses]
        collected: dict[str, list[CourseDelivery]] = {c: [] for c in arm_courses}
        for subject in by_arm[arm.id]:
            for course_id, (summary, _, _) in course_deliveries(session, protocol, subject, cutoff).items():
                if summary.fractions:
                    collected[course_id].append(summary)
        rows.extend(
            _radiotherapy_row(protocol, arm.id, courses[course_id], values, len(by_arm[arm.id]))
            for course_id, values in collected.items()
            if values
        )
    return rows


def _radiotherapy_row(
    protocol: Protocol, arm_id: str, course: RadiotherapyIntervention, values: list[CourseDelivery], size: int
) -> dict[str, str]:
    """One arm's deliveries of one course; with the protocol's time correction on, the median EQD2(10)
    corrected for repopulation over each delivered overall time (Fowler 1989) stands beside it."""
    classes: Counter[str] = Counter(v.classification for v in values)
    row = {
        "Arm": arm_id,
        "Course (prescribed)": f"{course.rt_type} {course.fractions.value} x "
        f"{course.dose_per_fraction_gy.value:g} Gy",
        "Started": f"{len(values)} of {size}",
        "Dose Gy, median (range)": _median_range([v.dose_gy for v in values], ".1f"),
        "EQD2(10) Gy, median": _median([v.eqd2_10_gy for v in values], ".1f"),
    }
    if protocol.rt_quality.time_correction.factor is not None:
        corrected = [v.eqd2_10_time_corrected_gy for v in values if v.eqd2_10_time_corrected_gy is not None]
        row["EQD2(10) corrected for overall time Gy, median"] = _median(corrected, ".1f")
    row["Per protocol / minor / major / ongoing"] = " / ".join(
        str(classes[c]) for c in ("per_protocol", "minor", "major", "not_assessable")
    )
    return row


def _visit_rows(
    session: Session, protocol: Protocol, by_arm: dict[str, list[Subject]], cutoff: dt.date
) -> Rows:
    rows: Rows = []
    for arm in protocol.design.arms:
        counts: Counter[str] = Counter()
        for subject in by_arm[arm.id]:
            try:
                course = course_of(session, protocol, subject)
            except Conflict:  # no treatment start yet: no calendar
                continue
            for visit in calendar(protocol, course, cutoff):
                if visit.planned > cutoff or visit.status in ("not_required", "planned"):
                    continue
                if visit.done_on is not None and visit.done_on > cutoff:  # done only after the cut-off
                    if visit.window_end >= cutoff:
                        continue
                    counts["overdue"] += 1
                    continue
                key = "out of window" if visit.out_of_window else visit.status
                counts[key] += 1
        due = sum(counts.values())
        if not due:
            continue
        rows.append(
            {
                "Arm": arm.id,
                "Visits due by the cut-off": str(due),
                "Done in window": _share(counts["done"], due),
                "Done out of window": _share(counts["out of window"], due),
                "Missed": _share(counts["missed"], due),
                "Overdue": _share(counts["overdue"], due),
            }
        )
    return rows


def _share(count: int, total: int) -> str:
    return f"{count} ({100 * count / total:.0f}%)"


def _deviation_rows(session: Session, protocol: Protocol, cutoff: dt.date) -> Rows:
    subjects = subject_repository.list_by_protocol(session, protocol.id)
    return [
        {
            "Site": d.site_code,
            "Subject": d.screening_number,
            "Date": d.date.isoformat(),
            "Category": d.category.replace("_", " "),
            "Severity": d.severity,
            "Description": d.description + (f" Action: {d.action_taken}" if d.action_taken else ""),
        }
        for d in deviations_of(session, protocol, subjects)
        if d.date <= cutoff
    ]


def _ip_rows(session: Session, protocol: Protocol, cutoff: dt.date) -> Rows:
    """Per site and investigational product: the lots' units received, dispensed, returned, on hand and
    expired on hand at the cut-off, and the subjects whose dispensing log and doses disagree."""
    if not protocol.investigational_products():
        return []
    found = reconcile(session, None, protocol, as_of=cutoff)
    rows: Rows = []
    for site in found.sites:
        for agent, unit in found.units.items():
            lots = [b for b in found.lots if b.site == site and b.agent == agent]
            checks = [c for c in found.subjects if c.site == site and c.agent == agent]
            if not lots and not checks:
                continue
            rows.append(
                {
                    "Site": site,
                    "Product (unit)": f"{agent} ({unit})",
                    "Lots": str(len(lots)),
                    "Received": str(sum(b.received for b in lots)),
                    "Dispensed": str(sum(b.dispensed for b in lots)),
                    "Returned": str(sum(b.returned for b in lots)),
                    "On hand": str(sum(b.on_hand for b in lots)),
                    "Expired on hand": str(sum(b.expired_on_hand for b in lots)),
                    "Subjects: log vs doses disagree": f"{sum(c.flagged for c in checks)} of {len(checks)}",
                }
            )
    return rows


def treatment_tables(session: Session, protocol: Protocol, cutoff: dt.date) -> dict[str, Rows]:
    """Title -> rows of the report's treatment tables at ``cutoff`` (all sites); an arm/agent or arm/course
    with nobody treated, and an arm with no visit due, has no row."""
    by_arm = _arm_subjects(session, protocol)
    return {
        EXPOSURE: _exposure_rows(session, protocol, by_arm, cutoff),
        RADIOTHERAPY: _radiotherapy_rows(session, protocol, by_arm, cutoff),
        VISITS: _visit_rows(session, protocol, by_arm, cutoff),
        IP_RECONCILIATION: _ip_rows(session, protocol, cutoff),
        DEVIATIONS: _deviation_rows(session, protocol, cutoff),
        FIELD_RESPONSE_TITLE: field_response_rows(session, protocol, by_arm, cutoff),
    }
