"""Use cases of the investigational-product (IP) dispensing log: a site pharmacy's receipts, the units
dispensed for a subject and those returned, and the reconciliation per site and lot.

Only drugs the protocol marks ``investigational`` have a log, counted in the protocol's dispensing
unit (``vial``). The server derives what it can and trusts nothing else: who entered a row is the
signed-in user, the unit and a dispensed lot's expiry come from the protocol and the receipt, the site
of a dispensation is the subject's. Refused (422 naming the field): a product that is not an IP of the
protocol, an expiry not after the receipt date, a quantity that is not a positive whole number within
the sane maximum, a date in the future; a lot never received at the subject's site (another site's lot
is unknown here), received only after the dispensing date or expired on it, fewer units left than
asked for; a return of more than was dispensed or dated before the dispensing. Site staff work on
their own sites (another site's subject or dispensation is 404); the reconciliation is read by every
role that reads subjects (site staff: their sites) and by the administrator. The arithmetic is
:mod:`trialdesk.domain.dispensing`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.models import DrugAdministration, IpDispensation, IpReceipt, Site, Subject
from trialdesk.domain.dispensing import (
    DoseGiven,
    LotBalance,
    LotDispensation,
    LotReceipt,
    SubjectCheck,
    available_units,
    lot_balances,
    subject_checks,
)
from trialdesk.domain.plausibility import ImplausibleValue, check_clinical_date
from trialdesk.domain.protocol.model import DrugIntervention, Protocol
from trialdesk.domain.roles import Capability, Role, can
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_event_date, enrolment_date, invalid
from trialdesk.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied

MAX_RECEIPT_UNITS = 5000
"""The most units one shipment may bring (a sane maximum: a site's supply for months of a trial;
a larger number is a typing error, most often an extra zero)."""
MAX_DISPENSED_UNITS = 100
"""The most units one dispensation may hand out (a 20 mg/kg dose for 150 kg of 200 mg vials is 15)."""
MAX_CYCLE = 200
"""The highest cycle number a drug without a protocol maximum may be dispensed for."""
MAX_LOT_LENGTH = 64


@dataclass(frozen=True)
class ReceiptInput:
    """A shipment received by a site pharmacy: site, product, lot, expiry, units, date received."""

    site_code: str
    agent: str
    lot_number: str
    expiry_date: dt.date
    quantity: int
    received_date: dt.date


@dataclass(frozen=True)
class DispenseInput:
    """Units of one lot dispensed for a subject on a date (for a cycle, optionally)."""

    agent: str
    lot_number: str
    quantity: int
    dispensed_date: dt.date
    cycle: int | None = None


@dataclass(frozen=True)
class ReturnInput:
    """Units of a dispensation that came back unused, and when."""

    quantity_returned: int
    returned_date: dt.date


@dataclass(frozen=True)
class Reconciliation:
    """The IP accountability of the sites a user may see, as of a date: each lot's balance and each
    subject's units against the doses given."""

    protocol_id: str
    as_of: dt.date
    sites: list[str]
    lots: list[LotBalance]
    subjects: list[SubjectCheck]
    units: dict[str, str]
    """Product id -> its dispensing unit (``vial``)."""

    @property
    def flagged(self) -> list[SubjectCheck]:
        """The subjects whose dispensing log and administrations disagree."""
        return [c for c in self.subjects if c.flagged]


@dataclass(frozen=True)
class DispensationView:
    """A dispensation as lists show it (with the subject's screening number and site code)."""

    row: IpDispensation
    screening_number: str
    site_code: str


# ---- checks -----------------------------------------------------------------------------------------


def investigational_product(protocol: Protocol, agent: str) -> DrugIntervention:
    """The protocol's IP with this id; 422 on ``agent`` naming the protocol's IPs otherwise."""
    products = protocol.investigational_products()
    for drug in products:
        if drug.id == agent:
            return drug
    known = ", ".join(d.id for d in products) or "none"
    raise InvalidInput(
        f"'{agent}' is not an investigational product of {protocol.id} (investigational products: {known})",
        field="agent",
    )


def _unit(drug: DrugIntervention) -> str:
    assert drug.dispensing is not None  # an IP always has its dispensing (protocol model validator)
    return drug.dispensing.unit.value


def _check_date(field: str, value: dt.date) -> None:
    try:
        check_clinical_date(field, value, today=clock.today())
    except ImplausibleValue as exc:
        raise invalid(exc) from None


def _check_lot_number(lot: str) -> str:
    lot = lot.strip()
    if not 0 < len(lot) <= MAX_LOT_LENGTH or not lot.isprintable():
        raise InvalidInput(
            f"the lot number must be 1-{MAX_LOT_LENGTH} printable characters", field="lot_number"
        )
    return lot


def _check_quantity(field: str, quantity: int, maximum: int, unit: str) -> None:
    if not 1 <= quantity <= maximum:
        raise InvalidInput(
            f"{quantity} is not a number of {unit}s between 1 and {maximum} (a whole number of {unit}s)",
            field=field,
        )


def _site(session: Session, actor: Actor, protocol: Protocol, site_code: str) -> Site:
    """The trial's site with this code, if the actor may see it (404 otherwise: no leak)."""
    site = subject_repository.site_by_code(session, protocol.id, site_code)
    if site is None or not actor.sees_site(site.id):
        raise NotFound(f"no site {site_code} in {protocol.id}")
    return site


def _lot_receipts(
    session: Session, protocol: Protocol, site_id: int, agent: str, lot: str, *, for_update: bool = False
) -> list[IpReceipt]:
    query = select(IpReceipt).where(
        IpReceipt.protocol_id == protocol.id,
        IpReceipt.site_id == site_id,
        IpReceipt.agent == agent,
        IpReceipt.lot_number == lot,
    )
    if for_update:
        query = query.with_for_update()
    return list(session.scalars(query.order_by(IpReceipt.received_date, IpReceipt.id)))


# ---- receipts -----------------------------------------------------------------------------------------


def record_receipt(session: Session, actor: Actor, protocol: Protocol, data: ReceiptInput) -> IpReceipt:
    """Record a shipment of an IP received by one of the actor's sites."""
    actor.require(Capability.ENTER_DATA)
    site = _site(session, actor, protocol, data.site_code)
    drug = investigational_product(protocol, data.agent)
    lot = _check_lot_number(data.lot_number)
    _check_date("received_date", data.received_date)
    if data.expiry_date <= data.received_date:
        raise InvalidInput(
            f"the expiry {data.expiry_date} is not after the receipt date {data.received_date}: "
            "an expired lot is not received into stock",
            field="expiry_date",
        )
    _check_quantity("quantity", data.quantity, MAX_RECEIPT_UNITS, _unit(drug))
    earlier = _lot_receipts(session, protocol, site.id, drug.id, lot)
    if earlier and earlier[0].expiry_date != data.expiry_date:
        raise InvalidInput(
            f"lot {lot} was received before with the expiry {earlier[0].expiry_date}, not "
            f"{data.expiry_date}: one lot has one expiry date",
            field="expiry_date",
        )
    row = IpReceipt(
        protocol_id=protocol.id,
        site_id=site.id,
        agent=drug.id,
        lot_number=lot,
        expiry_date=data.expiry_date,
        quantity=data.quantity,
        unit=_unit(drug),
        received_date=data.received_date,
        entered_by=actor.username,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


# ---- dispensations ----------------------------------------------------------------------------------


def _dispensable_subject(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> Subject:
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    if enrolment_date(subject) is None or subject.arm_id is None:
        raise Conflict(
            f"subject {subject.screening_number} is not enrolled in an arm: the study drug is dispensed "
            "to enrolled subjects",
            rule="subject_status",
        )
    return subject


def _check_dispensing_date(subject: Subject, on: dt.date) -> None:
    check_event_date(subject, "dispensed_date", on)
    enrolled = enrolment_date(subject)
    if enrolled is not None and on < enrolled:
        raise InvalidInput(f"{on} is before the subject's enrolment {enrolled}", field="dispensed_date")


def _check_cycle(session: Session, subject: Subject, drug: DrugIntervention, cycle: int | None) -> None:
    if cycle is None:
        return
    given = session.scalars(
        select(DrugAdministration.id).where(
            DrugAdministration.subject_id == subject.id,
            DrugAdministration.agent == drug.id,
            DrugAdministration.cycle == cycle,
        )
    ).first()
    maximum = drug.max_cycles.value or MAX_CYCLE
    if given is None and not 1 <= cycle <= maximum:
        raise InvalidInput(
            f"cycle {cycle} of {drug.id} is neither recorded nor within 1-{maximum}", field="cycle"
        )


def _drawn_lot(
    session: Session, protocol: Protocol, subject: Subject, lot: str, data: DispenseInput
) -> IpReceipt:
    """The receipt of the lot at the subject's site (locked), checked usable for ``data``."""
    receipts = _lot_receipts(session, protocol, subject.site_id, data.agent, lot, for_update=True)
    if not receipts:
        code = subject_repository.site_code(session, subject.site_id)
        raise InvalidInput(
            f"lot {lot} of {data.agent} has not been received at site {code}", field="lot_number"
        )
    on = data.dispensed_date
    if receipts[0].received_date > on:
        raise InvalidInput(
            f"lot {lot} was received on {receipts[0].received_date}, after the dispensing date {on}",
            field="lot_number",
        )
    if receipts[0].expiry_date < on:
        raise InvalidInput(
            f"lot {lot} expired on {receipts[0].expiry_date}, before the dispensing date {on}",
            field="lot_number",
        )
    out = session.scalars(
        select(IpDispensation)
        .join(Subject, Subject.id == IpDispensation.subject_id)
        .where(
            Subject.protocol_id == protocol.id,
            Subject.site_id == subject.site_id,
            IpDispensation.agent == data.agent,
            IpDispensation.lot_number == lot,
        )
    ).all()
    left = available_units(
        [_lot_receipt(r, "") for r in receipts], [_lot_dispensation(d, "", "") for d in out], on
    )
    if data.quantity > left:
        raise InvalidInput(
            f"only {left} {receipts[0].unit}(s) of lot {lot} are left at the site, not {data.quantity}",
            field="quantity",
        )
    return receipts[0]


def dispense(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, data: DispenseInput
) -> IpDispensation:
    """Record units of a lot received at the subject's site dispensed for the subject."""
    actor.require(Capability.ENTER_DATA)
    subject = _dispensable_subject(session, actor, protocol, subject_id)
    drug = investigational_product(protocol, data.agent)
    if drug.id not in protocol.arm(subject.arm_id or "").interventions:
        raise InvalidInput(f"{drug.id} is not given in arm {subject.arm_id}", field="agent")
    lot = _check_lot_number(data.lot_number)
    _check_dispensing_date(subject, data.dispensed_date)
    _check_quantity("quantity", data.quantity, MAX_DISPENSED_UNITS, _unit(drug))
    _check_cycle(session, subject, drug, data.cycle)
    receipt = _drawn_lot(session, protocol, subject, lot, data)
    row = IpDispensation(
        subject_id=subject.id,
        agent=drug.id,
        cycle=data.cycle,
        lot_number=lot,
        expiry_date=receipt.expiry_date,
        dispensed_date=data.dispensed_date,
        quantity_dispensed=data.quantity,
        unit=_unit(drug),
        entered_by=actor.username,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def record_return(
    session: Session, actor: Actor, protocol: Protocol, dispensation_id: int, data: ReturnInput
) -> IpDispensation:
    """Record the units of a dispensation returned unused (a change of a recorded return needs the
    unit of work's reason: the audit layer refuses it otherwise)."""
    actor.require(Capability.ENTER_DATA)
    row = session.get(IpDispensation, dispensation_id, with_for_update=True)
    if row is None:
        raise NotFound(f"dispensation {dispensation_id} not found")
    try:
        visible_subject(session, actor, row.subject_id, protocol_id=protocol.id)
    except NotFound:
        raise NotFound(f"dispensation {dispensation_id} not found") from None
    if not 0 <= data.quantity_returned <= row.quantity_dispensed:
        raise InvalidInput(
            f"{data.quantity_returned} {row.unit}(s) returned is not between 0 and the "
            f"{row.quantity_dispensed} dispensed",
            field="quantity_returned",
        )
    _check_date("returned_date", data.returned_date)
    if data.returned_date < row.dispensed_date:
        raise InvalidInput(
            f"{data.returned_date} is before the dispensing date {row.dispensed_date}", field="returned_date"
        )
    row.quantity_returned = data.quantity_returned
    row.returned_date = data.returned_date
    session.flush()
    return row


# ---- reads --------------------------------------------------------------------------------------------


def subject_dispensations(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int
) -> list[IpDispensation]:
    """A subject's dispensations by date (another site's subject is 404)."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    return list(
        session.scalars(
            select(IpDispensation)
            .where(IpDispensation.subject_id == subject.id)
            .order_by(IpDispensation.dispensed_date, IpDispensation.id)
        )
    )


def _require_reader(actor: Actor | None) -> None:
    if actor is not None and not (can(actor.role, Capability.READ_SUBJECTS) or actor.role == Role.ADMIN):
        raise PermissionDenied(
            f"role '{actor.role}' may not read the dispensing log", rule=Capability.READ_SUBJECTS.value
        )


def _sites(
    session: Session, actor: Actor | None, protocol: Protocol, site_code: str | None
) -> dict[int, str]:
    """Site id -> code of the sites to reconcile: one (``site_code``) or all the actor may see."""
    if site_code is not None:
        site = subject_repository.site_by_code(session, protocol.id, site_code)
        if site is None or (actor is not None and not actor.sees_site(site.id)):
            raise NotFound(f"no site {site_code} in {protocol.id}")
        return {site.id: site.code}
    rows = session.scalars(select(Site).where(Site.protocol_id == protocol.id).order_by(Site.code))
    return {s.id: s.code for s in rows if actor is None or actor.sees_site(s.id)}


def site_codes(session: Session, protocol: Protocol) -> dict[int, str]:
    """Site id -> code of the trial's sites."""
    return {s.id: s.code for s in session.scalars(select(Site).where(Site.protocol_id == protocol.id))}


def _lot_receipt(row: IpReceipt, site: str) -> LotReceipt:
    return LotReceipt(site, row.agent, row.lot_number, row.expiry_date, row.received_date, row.quantity)


def _lot_dispensation(
    row: IpDispensation, site: str, subject: str, as_of: dt.date | None = None
) -> LotDispensation:
    returned = row.quantity_returned or 0
    if as_of is not None and (row.returned_date is None or row.returned_date > as_of):
        returned = 0
    return LotDispensation(
        site, subject, row.agent, row.lot_number, row.dispensed_date, row.quantity_dispensed, returned
    )


def _trial_subjects(session: Session, protocol: Protocol, site_ids: Sequence[int]) -> dict[int, Subject]:
    rows = session.scalars(
        select(Subject).where(Subject.protocol_id == protocol.id, Subject.site_id.in_(list(site_ids)))
    )
    return {s.id: s for s in rows}


def reconcile(
    session: Session,
    actor: Actor | None,
    protocol: Protocol,
    *,
    site_code: str | None = None,
    as_of: dt.date | None = None,
) -> Reconciliation:
    """The reconciliation of each IP per site and lot, and per subject against the doses given, from
    the records dated on or before ``as_of`` (default: today). ``actor`` None: a command-line
    operator with database access (every site)."""
    _require_reader(actor)
    day = as_of or clock.today()
    sites = _sites(session, actor, protocol, site_code)
    products = protocol.investigational_products()
    agents = [d.id for d in products]
    receipts = session.scalars(
        select(IpReceipt).where(
            IpReceipt.protocol_id == protocol.id,
            IpReceipt.site_id.in_(list(sites)),
            IpReceipt.agent.in_(agents),
            IpReceipt.received_date <= day,
        )
    ).all()
    subjects = _trial_subjects(session, protocol, list(sites))
    dispensed = session.scalars(
        select(IpDispensation).where(
            IpDispensation.subject_id.in_(list(subjects)), IpDispensation.dispensed_date <= day
        )
    ).all()
    doses = session.scalars(
        select(DrugAdministration).where(
            DrugAdministration.subject_id.in_(list(subjects)),
            DrugAdministration.agent.in_(agents),
            DrugAdministration.date <= day,
        )
    ).all()

    def who(subject_id: int) -> tuple[str, str]:
        subject = subjects[subject_id]
        return sites[subject.site_id], subject.screening_number

    lots = [_lot_dispensation(d, *who(d.subject_id), as_of=day) for d in dispensed]
    strengths = {d.id: d.dispensing.strength_mg.value for d in products if d.dispensing is not None}
    return Reconciliation(
        protocol_id=protocol.id,
        as_of=day,
        sites=sorted(sites.values()),
        lots=lot_balances((_lot_receipt(r, sites[r.site_id]) for r in receipts), lots, day),
        subjects=subject_checks(
            (DoseGiven(*who(d.subject_id), d.agent, d.given_dose_mg) for d in doses), lots, strengths
        ),
        units={d.id: _unit(d) for d in products},
    )


def reconciliation_data(found: Reconciliation) -> dict[str, Any]:
    """The reconciliation as plain data (the API's answer and ``trialdesk ip reconcile --json``)."""
    return {
        "protocol_id": found.protocol_id,
        "as_of": found.as_of,
        "sites": found.sites,
        "units": found.units,
        "lots": [
            {
                "site_code": b.site,
                "agent": b.agent,
                "lot_number": b.lot,
                "expiry_date": b.expiry,
                "received": b.received,
                "dispensed": b.dispensed,
                "returned": b.returned,
                "available": b.available,
                "on_hand": b.on_hand,
                "expired": b.expired,
                "expired_on_hand": b.expired_on_hand,
            }
            for b in found.lots
        ],
        "subjects": [
            {
                "site_code": c.site,
                "screening_number": c.subject,
                "agent": c.agent,
                "doses": c.doses,
                "units_expected": c.expected,
                "units_dispensed": c.dispensed,
                "units_returned": c.returned,
                "units_used": c.used,
                "difference": c.difference,
                "flagged": c.flagged,
            }
            for c in found.subjects
        ],
        "flagged": len(found.flagged),
    }


def site_log(
    session: Session, actor: Actor, protocol: Protocol, site_code: str | None = None
) -> tuple[list[IpReceipt], list[DispensationView]]:
    """The receipts and dispensations of the sites the actor may see (or one of them), newest first."""
    _require_reader(actor)
    sites = _sites(session, actor, protocol, site_code)
    receipts = session.scalars(
        select(IpReceipt)
        .where(IpReceipt.protocol_id == protocol.id, IpReceipt.site_id.in_(list(sites)))
        .order_by(IpReceipt.received_date.desc(), IpReceipt.id.desc())
    ).all()
    subjects = _trial_subjects(session, protocol, list(sites))
    rows = session.scalars(
        select(IpDispensation)
        .where(IpDispensation.subject_id.in_(list(subjects)))
        .order_by(IpDispensation.dispensed_date.desc(), IpDispensation.id.desc())
    ).all()
    views = [
        DispensationView(r, subjects[r.subject_id].screening_number, sites[subjects[r.subject_id].site_id])
        for r in rows
    ]
    return list(receipts), views
