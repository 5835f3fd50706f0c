"""Treatment calendar API: drug administrations with exposure, radiotherapy fractions and course
delivery, the subject's visit calendar, visit outcomes, and the visits due or overdue at the user's
sites."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import DrugAdministration, VisitRecord
from trialdesk.domain.calendar import ScheduledVisit
from trialdesk.domain.protocol.model import Protocol
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.services import calendar, deviations, exposure, radiotherapy
from trialdesk.services.actors import Actor
from trialdesk.services.exposure import AdministrationInput, DeviationReason

router = APIRouter(prefix="/api/trials/{protocol_id}", tags=["treatment calendar"])


class AdministrationIn(BaseModel):
    agent: str = Field(max_length=64, description="Drug intervention id of the subject's arm")
    cycle: int = Field(ge=1, le=200)
    date: dt.date
    given_dose_mg: float = Field(ge=0, description="Dose actually given, in mg (0 = omitted)")
    weight_kg: float | None = Field(
        default=None, description="Weight on the day (kg); needed for mg/kg, mg/m2"
    )
    height_cm: float | None = Field(default=None, description="Height (cm); needed once for mg/m2 doses")
    deviation_reason: DeviationReason | None = None
    deviation_detail: str | None = Field(default=None, max_length=2000)
    adverse_event_id: int | None = None
    reason: str | None = Field(default=None, max_length=2000, description="Required when correcting")


class AdministrationOut(BaseModel):
    id: int
    agent: str
    cycle: int
    date: dt.date
    planned_dose_mg: float
    given_dose_mg: float
    weight_kg: float | None
    height_cm: float | None
    deviation_reason: str | None
    deviation_detail: str | None
    adverse_event_id: int | None
    entered_by: str


class ExposureOut(BaseModel):
    cycles: int
    cumulative_mg: float
    weeks: float
    dose_intensity_mg_week: float
    planned_intensity_mg_week: float
    relative_dose_intensity: float


class TreatmentOut(BaseModel):
    administrations: list[AdministrationOut]
    exposure: dict[str, ExposureOut]


class VisitOut(BaseModel):
    visit_id: str
    kind: str
    label: str
    planned: dt.date
    day: int
    window_start: dt.date
    window_end: dt.date
    agents: list[str]
    status: str
    done_on: dt.date | None
    out_of_window: bool


class VisitIn(BaseModel):
    status: Literal["done", "missed", "not_required"]
    date: dt.date | None = None
    reason: str | None = Field(default=None, max_length=2000)


class VisitRecordOut(BaseModel):
    visit_id: str
    status: str
    date: dt.date | None
    reason: str | None


class DueVisitOut(VisitOut):
    subject_id: int
    screening_number: str
    site_id: int


def administration_out(row: DrugAdministration) -> AdministrationOut:
    return AdministrationOut.model_validate(row, from_attributes=True)


def visit_out(visit: ScheduledVisit) -> VisitOut:
    return VisitOut(
        visit_id=visit.visit_id,
        kind=visit.kind,
        label=visit.label,
        planned=visit.planned,
        day=visit.day,
        window_start=visit.window_start,
        window_end=visit.window_end,
        agents=list(visit.agents),
        status=visit.status,
        done_on=visit.done_on,
        out_of_window=visit.out_of_window,
    )


@router.post("/subjects/{subject_id}/administrations", response_model=AdministrationOut, status_code=201)
def record_administration(
    subject_id: int, body: AdministrationIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> AdministrationOut:
    """Record the dose of one agent in one cycle; the planned dose is derived by the server."""
    data = AdministrationInput(**body.model_dump(exclude={"reason"}))
    return run(
        request,
        actor.username,
        lambda s: administration_out(exposure.record_administration(s, actor, protocol, subject_id, data)),
        reason=body.reason,
    )


@router.get("/subjects/{subject_id}/administrations", response_model=TreatmentOut)
def list_administrations(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> TreatmentOut:
    """Every administration and each agent's exposure (cycles, cumulative dose, RDI)."""

    def work(session: Session) -> TreatmentOut:
        rows = exposure.administrations(session, actor, protocol, subject_id)
        by_agent = exposure.exposure_by_agent(protocol, rows)
        return TreatmentOut(
            administrations=[administration_out(r) for r in rows],
            exposure={a: ExposureOut.model_validate(e, from_attributes=True) for a, e in by_agent.items()},
        )

    return run(request, actor.username, work, write=False)


@router.get("/subjects/{subject_id}/calendar", response_model=list[VisitOut], responses=PAGINATED)
def subject_calendar(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[VisitOut]:
    """The subject's visits with their status (planned, done, missed, overdue, not required)."""
    return page.window(
        run(
            request,
            actor.username,
            lambda s: [visit_out(v) for v in calendar.calendar_of(s, actor, protocol, subject_id)],
            write=False,
        )
    )


@router.put("/subjects/{subject_id}/visits/{visit_id}", response_model=VisitRecordOut)
def record_visit(
    subject_id: int,
    visit_id: str,
    body: VisitIn,
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
) -> VisitRecordOut:
    """Record a visit done (date; a date out of window needs a reason), missed or not required."""

    def work(session: Session) -> VisitRecordOut:
        row: VisitRecord = calendar.record_visit(
            session, actor, protocol, subject_id, visit_id, body.status, body.date, body.reason
        )
        return VisitRecordOut(visit_id=row.visit_id, status=row.status, date=row.date, reason=row.reason)

    return run(request, actor.username, work, reason=body.reason)


@router.get("/visits/due", response_model=list[DueVisitOut], responses=PAGINATED)
def due_visits(
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
    page: PageDep,
    within_days: int = Query(7, ge=0, le=90, description="Planned within this many days from today"),
) -> list[DueVisitOut]:
    """Visits due this week (or within ``within_days``) and overdue ones, at the user's sites."""

    def work(session: Session) -> list[DueVisitOut]:
        return [
            DueVisitOut(
                **visit_out(d.visit).model_dump(),
                subject_id=d.subject_id,
                screening_number=d.screening_number,
                site_id=d.site_id,
            )
            for d in calendar.due_visits(session, actor, protocol, within_days)
        ]

    return page.window(run(request, actor.username, work, write=False))


class FractionIn(BaseModel):
    intervention: str = Field(max_length=64, description="Radiotherapy intervention id of the subject's arm")
    fraction_number: int = Field(ge=1, le=200)
    date: dt.date
    dose_gy: float = Field(description="Dose of this fraction in Gy (not cGy)")
    target: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=2000, description="Required when correcting")


class FractionOut(BaseModel):
    intervention: str
    fraction_number: int
    date: dt.date
    dose_gy: float
    target: str
    entered_by: str


class CourseEndIn(BaseModel):
    outcome: Literal["completed", "stopped_early"]
    date: dt.date
    reason: str | None = Field(default=None, max_length=2000)


class CourseOut(BaseModel):
    prescribed_fractions: int
    prescribed_dose_gy: float
    fractions: int
    dose_gy: float
    first: dt.date | None
    last: dt.date | None
    overall_time_days: int | None
    planned_time_days: int
    prolongation_days: int | None
    dose_deviation: float
    bed10_gy: float
    eqd2_10_gy: float
    bed3_gy: float
    classification: str
    bed10_time_corrected_gy: float | None = Field(
        default=None,
        description="BED10 corrected for repopulation over the delivered overall time (Fowler 1989), "
        "when the protocol's rt_quality.time_correction is enabled",
    )
    eqd2_10_time_corrected_gy: float | None = None
    outcome: str | None
    outcome_reason: str | None
    delivered: list[FractionOut]


@router.post("/subjects/{subject_id}/rt-fractions", response_model=FractionOut, status_code=201)
def record_fraction(
    subject_id: int, body: FractionIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> FractionOut:
    """Record one radiotherapy fraction delivered (dose in Gy)."""
    data = radiotherapy.FractionInput(**body.model_dump(exclude={"reason"}))
    return run(
        request,
        actor.username,
        lambda s: FractionOut.model_validate(
            radiotherapy.record_fraction(s, actor, protocol, subject_id, data), from_attributes=True
        ),
        reason=body.reason,
    )


@router.put("/subjects/{subject_id}/rt-courses/{intervention}/end", response_model=CourseOut)
def end_course(
    subject_id: int,
    intervention: str,
    body: CourseEndIn,
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
) -> CourseOut:
    """Record that a course was completed or stopped early (with the reason)."""

    def work(session: Session) -> CourseOut:
        radiotherapy.end_course(
            session, actor, protocol, subject_id, intervention, body.outcome, body.date, body.reason
        )
        return _courses(session, actor, protocol, subject_id)[intervention]

    return run(request, actor.username, work, reason=body.reason)


@router.get("/subjects/{subject_id}/rt-courses", response_model=dict[str, CourseOut])
def rt_courses(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, CourseOut]:
    """Each radiotherapy course of the subject's arm: delivered dose, time, BED/EQD2, deviation class."""
    return run(request, actor.username, lambda s: _courses(s, actor, protocol, subject_id), write=False)


def _courses(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> dict[str, CourseOut]:
    result = {}
    for course_id, (summary, fractions, ended) in radiotherapy.delivery(
        session, actor, protocol, subject_id
    ).items():
        result[course_id] = CourseOut(
            **dataclasses.asdict(summary),
            outcome=ended.outcome if ended else None,
            outcome_reason=ended.reason if ended else None,
            delivered=[FractionOut.model_validate(f, from_attributes=True) for f in fractions],
        )
    return result


class DeviationIn(BaseModel):
    category: str = Field(max_length=32, description=f"One of {', '.join(deviations.CATEGORIES)}")
    severity: Literal["minor", "major"]
    date: dt.date
    description: str = Field(max_length=2000)
    action_taken: str | None = Field(default=None, max_length=2000)


class DeviationOut(BaseModel):
    subject_id: int
    screening_number: str
    site_code: str
    date: dt.date
    category: str
    severity: str
    description: str
    source: str
    action_taken: str | None


@router.post("/subjects/{subject_id}/deviations", response_model=DeviationOut, status_code=201)
def record_deviation(
    subject_id: int, body: DeviationIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> DeviationOut:
    """Record a protocol deviation the data cannot show (site staff or monitor)."""

    return run(
        request,
        actor.username,
        lambda s: DeviationOut(
            **dataclasses.asdict(
                deviations.record_deviation(s, actor, protocol, subject_id, **body.model_dump())
            )
        ),
    )


@router.get("/deviations", response_model=list[DeviationOut], responses=PAGINATED)
def deviation_listing(
    actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[DeviationOut]:
    """Every protocol deviation (derived from the data and recorded) of the subjects the user may see."""
    return page.window(
        run(
            request,
            actor.username,
            lambda s: [
                DeviationOut(**dataclasses.asdict(d))
                for d in deviations.deviation_listing(s, actor, protocol)
            ],
            write=False,
        )
    )
