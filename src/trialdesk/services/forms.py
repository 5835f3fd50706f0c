"""Case report form records: save and read a subject's form at a visit (issue 14).

The protocol's form definition is the only authority on what may be entered
(:func:`trialdesk.domain.forms.validate_record`: unknown field, type, unit, range, code list, hidden
field, required field); the server derives the rest: who entered (the signed-in actor), where the
form may be filled (a screening form at ``SCR``; a visit form only at a visit of the subject's own
calendar whose kind the form lists; a log form at no visit), and the repeat numbers (no gaps).

A saved record is the full set of its values (``PUT``): a value not sent any more is removed. Changing
or removing a saved value needs a reason and is audited field by field through the
:class:`~trialdesk.adapters.db.models.Audited` models (the unit of work refuses the change without one,
so nothing is half-written). The record's status (``incomplete`` / ``complete``) moves with the
values; its change is audited with the user's reason, or "record completed" / "record reopened" when
the first entry of values completes it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.models import FormRecord, FormValue, Subject
from trialdesk.domain.calendar import ScheduledVisit, calendar
from trialdesk.domain.forms import SCREENING_VISIT_ID, CleanValue, Entry, FormDefinition, validate_record
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.calendar import course_of
from trialdesk.services.errors import InvalidInput, NotFound

RecordStatus = Literal["incomplete", "complete"]
MAX_REPEATS = 500
"""Most records of one repeating form per visit (or per subject for a log)."""


@dataclass(frozen=True)
class StoredValue:
    """A saved value as JSON (dates as ISO text) and its unit."""

    value: Any
    unit: str | None


@dataclass(frozen=True)
class FormRecordView:
    """A form record with its values by field id."""

    record: FormRecord
    values: dict[str, StoredValue]


def form_of(protocol: Protocol, form_id: str) -> FormDefinition:
    """The protocol's form with this id; :class:`NotFound` naming the known ones."""
    try:
        return protocol.form(form_id)
    except KeyError:
        known = ", ".join(f.id for f in protocol.forms) or "none"
        raise NotFound(
            f"protocol {protocol.id} has no form '{form_id}' (forms: {known})", field="form_id"
        ) from None


def _check_visit(
    session: Session, protocol: Protocol, subject: Subject, form: FormDefinition, visit_id: str | None
) -> None:
    """Refuse a visit the form is not filled at, for this subject's calendar."""
    if form.is_log:
        if visit_id is not None:
            raise InvalidInput(
                f"form '{form.id}' is a log, not filled at a visit: give no visit", field="visit_id"
            )
        return
    if visit_id is None:
        kinds = ", ".join(form.visits)
        raise InvalidInput(
            f"form '{form.id}' is filled at a visit ({kinds}): give the visit", field="visit_id"
        )
    if visit_id == SCREENING_VISIT_ID:
        if "screening" not in form.visits:
            raise InvalidInput(f"form '{form.id}' is not filled at screening", field="visit_id")
        return
    visits = {v.visit_id: v for v in calendar(protocol, course_of(session, protocol, subject), clock.today())}
    visit = visits.get(visit_id)
    if visit is None:
        raise InvalidInput(
            f"'{visit_id}' is not a visit of this subject's calendar (screening is '{SCREENING_VISIT_ID}')",
            field="visit_id",
        )
    if visit.kind not in form.visits:
        raise InvalidInput(
            f"form '{form.id}' is not filled at {visit.label} ({visit.kind}); it is filled at: "
            f"{', '.join(form.visits)}",
            field="visit_id",
        )


def _check_dates_against_death(subject: Subject, values: Mapping[str, CleanValue]) -> None:
    """No date of a form may fall after the subject's recorded death."""
    if subject.death_date is None:
        return
    for field_id, value in values.items():
        if isinstance(value.value, dt.date) and value.value > subject.death_date:
            raise InvalidInput(
                f"{value.value} is after the subject's recorded death ({subject.death_date})", field=field_id
            )


def _same_visit(visit_id: str | None) -> ColumnElement[bool]:
    """The records at this visit (a log form's records have no visit)."""
    return FormRecord.visit_id.is_(None) if visit_id is None else FormRecord.visit_id == visit_id


def _find(
    session: Session, subject_id: int, form_id: str, visit_id: str | None, repeat: int
) -> FormRecord | None:
    return session.scalars(
        select(FormRecord).where(
            FormRecord.subject_id == subject_id,
            FormRecord.form_id == form_id,
            _same_visit(visit_id),
            FormRecord.repeat_index == repeat,
        )
    ).one_or_none()


def _check_repeat(
    session: Session, subject_id: int, form: FormDefinition, visit_id: str | None, repeat: int
) -> None:
    if not form.repeating:
        if repeat != 1:
            raise InvalidInput(f"form '{form.id}' does not repeat: its record is repeat 1", field="repeat")
        return
    if not 1 <= repeat <= MAX_REPEATS:
        raise InvalidInput(f"repeat must be 1-{MAX_REPEATS}", field="repeat")
    highest = session.scalar(
        select(func.max(FormRecord.repeat_index)).where(
            FormRecord.subject_id == subject_id, FormRecord.form_id == form.id, _same_visit(visit_id)
        )
    )
    following = (highest or 0) + 1
    if repeat > following:
        raise InvalidInput(
            f"repeat {repeat} would leave a gap: the next new record is {following}", field="repeat"
        )


def _encode(value: CleanValue) -> str:
    raw = value.value.isoformat() if isinstance(value.value, dt.date) else value.value
    return json.dumps(raw, separators=(",", ":"))


def _values_of(session: Session, record: FormRecord) -> list[FormValue]:
    return list(
        session.scalars(
            select(FormValue).where(FormValue.record_id == record.id).order_by(FormValue.id)
        ).all()
    )


def _write_values(
    session: Session, actor: Actor, record: FormRecord, values: Mapping[str, CleanValue]
) -> None:
    """Insert new values, update changed ones, delete those not sent (changes need the reason)."""
    existing = {row.field_id: row for row in _values_of(session, record)}
    for field_id, value in values.items():
        encoded = _encode(value)
        row = existing.pop(field_id, None)
        if row is None:
            session.add(
                FormValue(
                    record_id=record.id,
                    subject_id=record.subject_id,
                    field_id=field_id,
                    value_json=encoded,
                    unit=value.unit,
                    entered_by=actor.username,
                )
            )
        elif (row.value_json, row.unit) != (encoded, value.unit):
            row.value_json, row.unit, row.entered_by = encoded, value.unit, actor.username
    for row in existing.values():
        session.delete(row)
    session.flush()


def save_record(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    form_id: str,
    entries: Mapping[str, Entry],
    *,
    visit_id: str | None = None,
    repeat: int = 1,
    status: RecordStatus = "complete",
) -> FormRecordView:
    """Validate and save the subject's form record at ``visit_id`` (all its values)."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    form = form_of(protocol, form_id)
    _check_visit(session, protocol, subject, form, visit_id)
    values = validate_record(form, entries, clock.today(), complete=status == "complete")
    _check_dates_against_death(subject, values)
    record = _find(session, subject.id, form.id, visit_id, repeat)
    now = clock.now()
    if record is None:
        _check_repeat(session, subject.id, form, visit_id, repeat)
        record = FormRecord(
            subject_id=subject.id,
            form_id=form.id,
            visit_id=visit_id,
            repeat_index=repeat,
            status=status,
            entered_by=actor.username,
            created_at=now,
            updated_at=now,
        )
        session.add(record)
        session.flush()
    _write_values(session, actor, record, values)
    record.updated_at = now
    if record.status != status:
        with audit_reason(
            session, "record completed" if status == "complete" else "record reopened", keep_given=True
        ):
            record.status = status
            session.flush()
    return FormRecordView(record, _stored(session, record))


def _stored(session: Session, record: FormRecord) -> dict[str, StoredValue]:
    return {
        row.field_id: StoredValue(json.loads(row.value_json), row.unit) for row in _values_of(session, record)
    }


def get_record(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    form_id: str,
    *,
    visit_id: str | None = None,
    repeat: int = 1,
) -> FormRecordView:
    """The subject's saved record of a form at a visit (404 when none is saved)."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    form = form_of(protocol, form_id)
    record = _find(session, subject.id, form.id, visit_id, repeat)
    if record is None:
        where = f" at {visit_id}" if visit_id else ""
        raise NotFound(f"no record {repeat} of form '{form.id}'{where} for subject {subject_id}")
    return FormRecordView(record, _stored(session, record))


def subject_records(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> list[FormRecord]:
    """Every form record of the subject, by form (protocol order), visit and repeat."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    rows = session.scalars(select(FormRecord).where(FormRecord.subject_id == subject.id)).all()
    order = {form.id: n for n, form in enumerate(protocol.forms)}
    return sorted(
        rows, key=lambda r: (order.get(r.form_id, len(order)), r.created_at, r.visit_id or "", r.repeat_index)
    )


@dataclass(frozen=True)
class FillableVisit:
    """A visit of the subject at which forms may be filled: id, kind, label and the calendar's visit
    (None for screening)."""

    visit_id: str
    kind: str
    label: str
    scheduled: ScheduledVisit | None = None


def fillable_visits(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int
) -> list[FillableVisit]:
    """Screening, then every visit of the subject's calendar once treatment has started, in date order."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    visits = [FillableVisit(SCREENING_VISIT_ID, "screening", "Screening")]
    if subject.treatment_start_date is None or subject.arm_id is None:
        return visits
    scheduled = calendar(protocol, course_of(session, protocol, subject), clock.today())
    return visits + [FillableVisit(v.visit_id, v.kind, v.label, v) for v in scheduled]
