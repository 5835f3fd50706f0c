"""Source data verification by a monitor, against the protocol's risk-based plan (issue 14).

The plan (:mod:`trialdesk.domain.sdv`) names forms and tables, their fields and the fraction of
records verified (deterministic sample). Each planned value is an *item* (table, record id, field);
a monitor's verification stores the SHA-256 of the value verified (:class:`SdvMark`); an item is
``verified`` while its current hash equals the verified one, ``changed`` when the value changed since
(verify again), ``unverified`` otherwise. Progress per site counts the planned items and the verified.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason, canonical
from trialdesk.adapters.db.models import (
    AdverseEvent,
    FormRecord,
    FormValue,
    SdvMark,
    Site,
    Subject,
    TumourAssessment,
    TumourBaseline,
)
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.domain.sdv import SdvPlanItem, in_sample, state, value_sha256
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import InvalidInput

TABLES: dict[str, Any] = {
    "adverse_events": AdverseEvent,
    "tumour_assessments": TumourAssessment,
    "tumour_baselines": TumourBaseline,
}
"""The clinical tables an SDV plan item may name."""

NOT_VERIFIED = frozenset({"id", "subject_id", "created_at", "updated_at", "recorded_by", "needs_coding"})
"""Columns of a table item that are bookkeeping, not source data (when the item lists no fields)."""

WHOLE_RECORD = "*"
"""The field name that verifies every planned field of a record at once."""


@dataclass(frozen=True)
class SdvItem:
    """One planned value: where it is, its current hash, and its verification state."""

    subject_id: int
    table: str
    record_id: str
    field: str
    label: str
    current_sha256: str
    state: str = "unverified"
    verified_by: str | None = None
    verified_at: datetime | None = None


def _form_items(session: Session, protocol: Protocol, item: SdvPlanItem, ids: list[int]) -> Iterator[SdvItem]:
    records = session.scalars(
        select(FormRecord)
        .where(FormRecord.subject_id.in_(ids), FormRecord.form_id == item.form)
        .order_by(FormRecord.id)
    ).all()
    chosen = {r.id: r for r in records if in_sample(protocol.id, "form_records", str(r.id), item.fraction)}
    if not chosen:
        return
    values = session.scalars(
        select(FormValue)
        .where(FormValue.record_id.in_(list(chosen)))
        .order_by(FormValue.record_id, FormValue.id)
    )
    for value in values:
        if item.fields and value.field_id not in item.fields:
            continue
        record = chosen[value.record_id]
        label = f"{record.form_id} {record.visit_id or ''} #{record.repeat_index}".replace("  ", " ")
        digest = value_sha256(f"{value.value_json}|{value.unit or ''}")
        yield SdvItem(record.subject_id, "form_records", str(record.id), value.field_id, label, digest)


def _table_items(
    session: Session, protocol: Protocol, item: SdvPlanItem, ids: list[int]
) -> Iterator[SdvItem]:
    model = TABLES[item.target]
    query = select(model).where(model.subject_id.in_(ids)).order_by(model.id)
    if item.only_serious:
        query = query.where(model.serious.is_(True))
    columns = item.fields or [a.key for a in model.__mapper__.column_attrs if a.key not in NOT_VERIFIED]
    for row in session.scalars(query):
        if not in_sample(protocol.id, item.target, str(row.id), item.fraction):
            continue
        for column in columns:
            digest = value_sha256(canonical(getattr(row, column)))
            yield SdvItem(
                row.subject_id, item.target, str(row.id), column, f"{item.target} #{row.id}", digest
            )


def planned_items(session: Session, protocol: Protocol, subject_ids: list[int]) -> list[SdvItem]:
    """Every planned item of the subjects with its state (an item planned twice counts once)."""
    seen: dict[tuple[str, str, str], SdvItem] = {}
    for item in protocol.sdv_plan.items:
        found = _form_items if item.form else _table_items
        for planned in found(session, protocol, item, subject_ids):
            seen.setdefault((planned.table, planned.record_id, planned.field), planned)
    if not seen:
        return []
    marks = session.scalars(select(SdvMark).where(SdvMark.subject_id.in_(subject_ids)))
    by_key = {(m.target_table, m.target_id, m.field): m for m in marks}
    out = []
    for key, planned in seen.items():
        mark = by_key.get(key)
        if mark is None:
            out.append(planned)
            continue
        now = state(mark.value_sha256, planned.current_sha256)
        out.append(replace(planned, state=now, verified_by=mark.verified_by, verified_at=mark.verified_at))
    return out


def subject_items(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> list[SdvItem]:
    """The subject's planned SDV items and their states (anyone who sees the subject)."""
    visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    return planned_items(session, protocol, [subject_id])


def _mark(session: Session, actor: Actor, planned: SdvItem) -> None:
    mark = session.scalars(
        select(SdvMark).where(
            SdvMark.target_table == planned.table,
            SdvMark.target_id == planned.record_id,
            SdvMark.field == planned.field,
        )
    ).first()
    if mark is None:
        session.add(
            SdvMark(
                subject_id=planned.subject_id,
                target_table=planned.table,
                target_id=planned.record_id,
                field=planned.field,
                value_sha256=planned.current_sha256,
                verified_by=actor.username,
                verified_at=clock.now(),
            )
        )
    elif mark.value_sha256 != planned.current_sha256 or mark.verified_by != actor.username:
        with audit_reason(session, "verified again after a change of the value", keep_given=True):
            mark.value_sha256, mark.verified_by, mark.verified_at = (
                planned.current_sha256,
                actor.username,
                clock.now(),
            )
            session.flush()


def verify(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    table: str,
    record_id: str,
    field: str,
) -> list[SdvItem]:
    """The monitor (VERIFY_SOURCE) verifies one planned field, or every planned field of a record
    (``field`` "*"), as it is now; returns the subject's items with their new states."""
    actor.require(Capability.VERIFY_SOURCE)
    visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    items = planned_items(session, protocol, [subject_id])
    chosen = [
        i for i in items if i.table == table and i.record_id == record_id and field in (WHOLE_RECORD, i.field)
    ]
    if not chosen:
        raise InvalidInput(
            f"{table} {record_id} field '{field}' is not a planned SDV item of subject {subject_id}",
            field="field",
        )
    for planned in chosen:
        _mark(session, actor, planned)
    session.flush()
    return planned_items(session, protocol, [subject_id])


@dataclass(frozen=True)
class SiteProgress:
    """SDV progress of one site: planned items, verified, changed since verification, percent."""

    site_code: str
    planned: int
    verified: int
    changed: int

    @property
    def percent(self) -> float:
        """Verified items as a percentage of the planned (0 when nothing is planned)."""
        return round(100.0 * self.verified / self.planned, 1) if self.planned else 0.0


def progress(session: Session, actor: Actor, protocol: Protocol) -> list[SiteProgress]:
    """SDV progress per site the actor sees, by site code."""
    actor.require(Capability.READ_SUBJECTS)
    rows = session.execute(
        select(Subject.id, Site.id, Site.code)
        .join(Site, Site.id == Subject.site_id)
        .where(Subject.protocol_id == protocol.id)
    ).all()
    site_of = {sid: code for sid, site_id, code in rows if actor.sees_site(site_id)}
    items = planned_items(session, protocol, sorted(site_of))
    counts: Counter[tuple[str, str]] = Counter((site_of[i.subject_id], i.state) for i in items)
    codes = sorted(set(site_of.values()))
    return [
        SiteProgress(
            code,
            sum(counts[(code, s)] for s in ("verified", "unverified", "changed")),
            counts[(code, "verified")],
            counts[(code, "changed")],
        )
        for code in codes
    ]
