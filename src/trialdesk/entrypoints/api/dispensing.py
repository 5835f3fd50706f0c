"""Investigational-product dispensing API: a site pharmacy's receipts, dispensations to subjects,
returns of unused units and the reconciliation per site and lot (:mod:`trialdesk.services.dispensing`)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import IpDispensation, IpReceipt
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.services import dispensing
from trialdesk.services.dispensing import DispenseInput, ReceiptInput, Reconciliation, ReturnInput

router = APIRouter(prefix="/api/trials/{protocol_id}", tags=["investigational product"])


class ReceiptIn(BaseModel):
    site_code: str = Field(max_length=32, description="The receiving site (one of the user's sites)")
    agent: str = Field(max_length=64, description="Investigational product id of the protocol")
    lot_number: str = Field(max_length=64)
    expiry_date: dt.date = Field(description="After the receipt date")
    quantity: int = Field(description=f"Units received (1-{dispensing.MAX_RECEIPT_UNITS})")
    received_date: dt.date


class ReceiptOut(BaseModel):
    id: int
    site_code: str
    agent: str
    lot_number: str
    expiry_date: dt.date
    quantity: int
    unit: str
    received_date: dt.date
    entered_by: str


class DispenseIn(BaseModel):
    agent: str = Field(max_length=64, description="Investigational product id of the subject's arm")
    lot_number: str = Field(max_length=64, description="A lot received at the subject's site")
    quantity: int = Field(description=f"Units dispensed (1-{dispensing.MAX_DISPENSED_UNITS})")
    dispensed_date: dt.date
    cycle: int | None = Field(default=None, description="The cycle the units are for (optional)")


class ReturnIn(BaseModel):
    quantity_returned: int = Field(description="Units returned unused (0 to the units dispensed)")
    returned_date: dt.date
    reason: str | None = Field(default=None, max_length=2000, description="Required when correcting")


class DispensationOut(BaseModel):
    id: int
    subject_id: int
    agent: str
    cycle: int | None
    lot_number: str
    expiry_date: dt.date
    dispensed_date: dt.date
    quantity_dispensed: int
    quantity_returned: int | None
    returned_date: dt.date | None
    unit: str
    entered_by: str


class LotOut(BaseModel):
    site_code: str
    agent: str
    lot_number: str
    expiry_date: dt.date
    received: int
    dispensed: int
    returned: int
    available: int
    on_hand: int
    expired: bool
    expired_on_hand: int


class SubjectCheckOut(BaseModel):
    site_code: str
    screening_number: str
    agent: str
    doses: int
    units_expected: int
    units_dispensed: int
    units_returned: int
    units_used: int
    difference: int
    flagged: bool


class ReconciliationOut(BaseModel):
    protocol_id: str
    as_of: dt.date
    sites: list[str]
    units: dict[str, str]
    lots: list[LotOut]
    subjects: list[SubjectCheckOut]
    flagged: int


def receipt_out(row: IpReceipt, site_code: str) -> ReceiptOut:
    return ReceiptOut(
        id=row.id,
        site_code=site_code,
        agent=row.agent,
        lot_number=row.lot_number,
        expiry_date=row.expiry_date,
        quantity=row.quantity,
        unit=row.unit,
        received_date=row.received_date,
        entered_by=row.entered_by,
    )


def dispensation_out(row: IpDispensation) -> DispensationOut:
    return DispensationOut.model_validate(row, from_attributes=True)


def reconciliation_out(found: Reconciliation) -> ReconciliationOut:
    return ReconciliationOut.model_validate(dispensing.reconciliation_data(found))


@router.post("/ip/receipts", response_model=ReceiptOut, status_code=201)
def record_receipt(
    body: ReceiptIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> ReceiptOut:
    """Record a shipment of an investigational product received by one of the user's sites."""
    data = ReceiptInput(**body.model_dump())
    return run(
        request,
        actor.username,
        lambda s: receipt_out(dispensing.record_receipt(s, actor, protocol, data), body.site_code),
    )


@router.get("/ip/receipts", response_model=list[ReceiptOut], responses=PAGINATED)
def list_receipts(
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
    page: PageDep,
    site: str | None = Query(
        None, max_length=32, description="One site's code (default: every site you see)"
    ),
) -> list[ReceiptOut]:
    """The receipts of the sites the user may see, newest first."""

    def work(session: Session) -> list[ReceiptOut]:
        receipts, _ = dispensing.site_log(session, actor, protocol, site)
        codes = dispensing.site_codes(session, protocol)
        return [receipt_out(r, codes[r.site_id]) for r in receipts]

    return page.window(run(request, actor.username, work, write=False))


@router.post("/subjects/{subject_id}/dispensations", response_model=DispensationOut, status_code=201)
def dispense(
    subject_id: int, body: DispenseIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> DispensationOut:
    """Record units of a lot received at the subject's site dispensed for the subject."""
    data = DispenseInput(**body.model_dump())
    return run(
        request,
        actor.username,
        lambda s: dispensation_out(dispensing.dispense(s, actor, protocol, subject_id, data)),
    )


@router.get("/subjects/{subject_id}/dispensations", response_model=list[DispensationOut], responses=PAGINATED)
def subject_dispensations(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[DispensationOut]:
    """The subject's dispensations by date (another site's subject is 404)."""
    return page.window(
        run(
            request,
            actor.username,
            lambda s: [
                dispensation_out(r) for r in dispensing.subject_dispensations(s, actor, protocol, subject_id)
            ],
            write=False,
        )
    )


@router.put("/dispensations/{dispensation_id}/return", response_model=DispensationOut)
def record_return(
    dispensation_id: int, body: ReturnIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> DispensationOut:
    """Record the units of a dispensation returned unused (a correction needs a reason)."""
    data = ReturnInput(body.quantity_returned, body.returned_date)
    return run(
        request,
        actor.username,
        lambda s: dispensation_out(dispensing.record_return(s, actor, protocol, dispensation_id, data)),
        reason=body.reason,
    )


@router.get("/ip/reconciliation", response_model=ReconciliationOut)
def reconciliation(
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
    site: str | None = Query(
        None, max_length=32, description="One site's code (default: every site you see)"
    ),
    as_of: dt.date | None = Query(
        None, description="Reconcile the records dated up to this day (default today)"
    ),
) -> ReconciliationOut:
    """Received, dispensed, returned and on-hand units per site and lot (expired stock flagged), and each
    subject's units against the doses given (site staff: their own sites)."""
    return run(
        request,
        actor.username,
        lambda s: reconciliation_out(dispensing.reconcile(s, actor, protocol, site_code=site, as_of=as_of)),
        write=False,
    )
