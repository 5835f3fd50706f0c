"""Use cases of treatment exposure: record a drug administration, and each agent's exposure.

The server derives the planned dose from the protocol (dose and unit of the agent) and the body size
entered with the administration (:mod:`trialdesk.domain.dosing`); the client sends only what was
given. A given dose outside the agent's tolerance (default 10%) needs a reason; a toxicity reason
names the adverse event of this subject it relates to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import AdverseEvent, DrugAdministration, LabResultRow, Subject
from trialdesk.domain.dosing import (
    DEFAULT_TOLERANCE,
    Administration,
    BodySize,
    DoseUnit,
    Exposure,
    dose_deviation,
    exposure,
    needs_reason,
    planned_dose_mg,
)
from trialdesk.domain.measures import age_in_years
from trialdesk.domain.plausibility import ImplausibleValue
from trialdesk.domain.protocol.model import DrugIntervention, Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_event_date, check_free_text, invalid
from trialdesk.services.errors import Conflict, InvalidInput

DeviationReason = Literal["delay", "reduction", "omission", "interruption", "toxicity", "other"]
DEVIATION_REASONS: tuple[str, ...] = ("delay", "reduction", "omission", "interruption", "toxicity", "other")
MAX_OVERDOSE = 1.5
"""A given dose above 150% of the planned dose is refused as implausible (a unit error, most often)."""


@dataclass(frozen=True)
class AdministrationInput:
    """What site staff enter: the agent, cycle, date, dose given (mg), body size and, for a dose
    outside the tolerance, the reason (and the AE for a toxicity reason)."""

    agent: str
    cycle: int
    date: dt.date
    given_dose_mg: float
    weight_kg: float | None = None
    height_cm: float | None = None
    deviation_reason: DeviationReason | None = None
    deviation_detail: str | None = None
    adverse_event_id: int | None = None


def _agent(protocol: Protocol, subject: Subject, agent_id: str) -> DrugIntervention:
    arm = next((a for a in protocol.design.arms if a.id == subject.arm_id), None)
    if arm is None:
        raise Conflict("doses are recorded for subjects with an arm", rule="subject_status")
    drug = next(
        (i for i in protocol.interventions if isinstance(i, DrugIntervention) and i.id == agent_id), None
    )
    if drug is None or agent_id not in arm.interventions:
        known = [i for i in arm.interventions if any(d.id == i for d in _drugs(protocol))]
        raise InvalidInput(
            f"agent '{agent_id}' is not a drug of arm {arm.id} ({', '.join(known)})", field="agent"
        )
    return drug


def _drugs(protocol: Protocol) -> list[DrugIntervention]:
    return [i for i in protocol.interventions if isinstance(i, DrugIntervention)]


def _latest_creatinine(session: Session, subject: Subject, on: dt.date) -> float | None:
    row = session.scalars(
        select(LabResultRow)
        .where(
            LabResultRow.subject_id == subject.id,
            LabResultRow.test == "creatinine",
            LabResultRow.collected_date <= on,
        )
        .order_by(LabResultRow.collected_date.desc())
    ).first()
    return row.value_canonical if row is not None else None


def _body_size(session: Session, subject: Subject, data: AdministrationInput, unit: str) -> BodySize | None:
    """The body size the planned dose needs (None for a flat dose); 422 naming what is missing."""
    if unit == "mg":
        return None
    if data.weight_kg is None:
        raise InvalidInput(f"a dose in {unit} needs the weight on the day (kg)", field="weight_kg")
    height = data.height_cm or _previous_height(session, subject)
    if unit == "mg/m2" and height is None:
        raise InvalidInput("a dose in mg/m2 needs the height (cm) for the BSA", field="height_cm")
    record = subject.patient_record
    birth = record.get("birth_date")
    age = age_in_years(dt.date.fromisoformat(birth), data.date) if isinstance(birth, str) else None
    creatinine = _latest_creatinine(session, subject, data.date) if unit == "AUC" else None
    if unit == "AUC" and creatinine is None:
        raise InvalidInput(
            "a carboplatin AUC dose needs a serum creatinine result on or before the date (Calvert)",
            field="creatinine",
        )
    try:
        return BodySize(height or 170.0, data.weight_kg, age, record.get("sex"), creatinine)
    except ImplausibleValue as exc:
        raise invalid(exc) from None


def _previous_height(session: Session, subject: Subject) -> float | None:
    heights = session.scalars(
        select(DrugAdministration.height_cm)
        .where(DrugAdministration.subject_id == subject.id, DrugAdministration.height_cm.is_not(None))
        .order_by(DrugAdministration.date.desc())
    )
    return next(iter(heights), None)


def _check_input(
    session: Session, protocol: Protocol, subject: Subject, drug: DrugIntervention, data: AdministrationInput
) -> None:
    check_event_date(subject, "date", data.date, after_start=True)
    maximum = drug.max_cycles.value
    if data.cycle < 1 or (maximum is not None and data.cycle > maximum):
        upper = maximum if maximum is not None else "no maximum"
        raise InvalidInput(f"cycle {data.cycle} is outside 1-{upper} for {drug.id}", field="cycle")
    if not 0 <= data.given_dose_mg < 1e6:
        raise InvalidInput(
            "the dose given must be 0 (omitted) or a positive number of mg", field="given_dose_mg"
        )
    check_free_text("deviation_detail", data.deviation_detail)
    if data.adverse_event_id is not None:
        ae = session.get(AdverseEvent, data.adverse_event_id)
        if ae is None or ae.subject_id != subject.id:
            raise InvalidInput(
                f"adverse event {data.adverse_event_id} is not one of this subject's",
                field="adverse_event_id",
            )


def _check_deviation(drug: DrugIntervention, planned: float, data: AdministrationInput) -> None:
    deviation = dose_deviation(planned, data.given_dose_mg)
    if deviation > MAX_OVERDOSE - 1:
        raise InvalidInput(
            f"{data.given_dose_mg:g} mg is {deviation:+.0%} of the planned {planned:.1f} mg: check the unit "
            "(the dose given is in mg)",
            field="given_dose_mg",
        )
    tolerance = drug.dose_tolerance.value if drug.dose_tolerance is not None else DEFAULT_TOLERANCE
    if needs_reason(planned, data.given_dose_mg, tolerance) and data.deviation_reason is None:
        raise InvalidInput(
            f"{data.given_dose_mg:g} mg differs from the planned {planned:.1f} mg by {deviation:+.0%} "
            f"(tolerance {tolerance:.0%}): give the reason",
            field="deviation_reason",
        )
    if data.deviation_reason == "toxicity" and data.adverse_event_id is None:
        raise InvalidInput("a dose changed for toxicity names the adverse event", field="adverse_event_id")


def record_administration(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, data: AdministrationInput
) -> DrugAdministration:
    """Record (or, with a reason, correct) the dose of one agent in one cycle."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    drug = _agent(protocol, subject, data.agent)
    _check_input(session, protocol, subject, drug, data)
    unit = drug.dose.unit or "mg"
    if drug.dose.value is None:
        raise Conflict(f"the protocol gives no dose for {drug.id}", rule="dose_not_in_protocol")
    body = _body_size(session, subject, data, unit)
    try:
        planned = planned_dose_mg(drug.dose.value, _unit(unit), body)
    except ImplausibleValue as exc:
        raise invalid(exc) from None
    _check_deviation(drug, planned, data)
    row = session.scalars(
        select(DrugAdministration).where(
            DrugAdministration.subject_id == subject.id,
            DrugAdministration.agent == drug.id,
            DrugAdministration.cycle == data.cycle,
        )
    ).one_or_none()
    if row is None:
        row = DrugAdministration(
            subject_id=subject.id,
            agent=drug.id,
            cycle=data.cycle,
            entered_by=actor.username,
            created_at=clock.now(),
        )
        session.add(row)
    row.date = data.date
    row.height_cm = body.height_cm if body is not None and unit == "mg/m2" else data.height_cm
    row.weight_kg = data.weight_kg
    row.planned_dose_mg = round(planned, 2)
    row.given_dose_mg = data.given_dose_mg
    row.deviation_reason = data.deviation_reason
    row.deviation_detail = data.deviation_detail
    row.adverse_event_id = data.adverse_event_id
    session.flush()
    return row


def _unit(unit: str) -> DoseUnit:
    if unit == "mg":
        return "mg"
    if unit == "mg/kg":
        return "mg/kg"
    if unit == "mg/m2":
        return "mg/m2"
    return "AUC"


def administrations(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int
) -> list[DrugAdministration]:
    """A subject's administrations in date order (roles that read subjects; another site is 404)."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    return list(
        session.scalars(
            select(DrugAdministration)
            .where(DrugAdministration.subject_id == subject.id)
            .order_by(DrugAdministration.date, DrugAdministration.agent)
        )
    )


def exposure_by_agent(protocol: Protocol, rows: list[DrugAdministration]) -> dict[str, Exposure]:
    """Cycles, cumulative dose, dose intensity and RDI of each agent given."""
    cycle_days = {d.id: d.cycle_days.value for d in _drugs(protocol)}
    by_agent: dict[str, list[Administration]] = {}
    for row in rows:
        by_agent.setdefault(row.agent, []).append(
            Administration(row.date, row.given_dose_mg, row.planned_dose_mg)
        )
    return {agent: exposure(doses, cycle_days[agent]) for agent, doses in sorted(by_agent.items())}
