"""CDISC ODM 1.3.2 export of a trial (issue 16): the study metadata, every subject's data and,
optionally, the audit trail of each exported value; the whole trial or one site's copy, for the
investigator to hold (EMA guideline on computerised systems and electronic data in clinical trials,
2023, on the investigator's control of the site's data).

* Metadata: :func:`trialdesk.services.odm_metadata.study_metadata`.
* Clinical data: per subject (``SubjectKey`` = screening number, ``SiteRef`` = site), the case report
  form records at their visits and the fixed record types (:data:`~.odm_metadata.RECORD_KINDS`), values
  in ODM form (:func:`~.odm_history.odm_text`). A repeating fixed record's ``ItemGroupRepeatKey`` is
  its record id; a form record's ``StudyEventRepeatKey`` is its visit id and ``FormRepeatKey`` its
  repeat index.
* ``with_audit``: a ``Transactional`` file. Each value is one ``ItemData`` per audited change, in
  chain order (``TransactionType`` Insert, then Update; ``IsNull`` when emptied), each with its
  ``AuditRecord``: ``UserRef`` (AdminData ``User``), ``LocationRef`` (the subject's site, an AdminData
  ``Location``), ``DateTimeStamp``, ``ReasonForChange`` and ``SourceID`` (``audit_log seq N``). The
  value before a change is the previous ``ItemData`` of the same item.
* ``as_of``: the database as it stood at the end of that day (UTC, from the audit trail; ODM
  ``AsOfDateTime``): records inserted later are left out and values are those of that moment.

Reading the export is audited (:func:`~trialdesk.services.exports.audited_export`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk import __version__
from trialdesk.adapters.db.models import (
    AdverseEvent,
    AuditRecord,
    DrugAdministration,
    EligibilityEvaluation,
    FormRecord,
    FormValue,
    LabResultRow,
    RtFraction,
    Site,
    Subject,
    TumourAssessment,
    TumourBaseline,
    User,
)
from trialdesk.adapters.odm import model
from trialdesk.adapters.odm.validation import InvalidOdm
from trialdesk.adapters.odm.writer import to_xml
from trialdesk.domain.data_locks import DATA_MANAGEMENT_TABLES, EXEMPT_TABLES
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Role
from trialdesk.domain.safety.adverse_event import as_utc
from trialdesk.services import odm_metadata as meta
from trialdesk.services.actors import Actor
from trialdesk.services.errors import InvalidInput, NotFound, PermissionDenied
from trialdesk.services.exports import audited_export
from trialdesk.services.odm_annotations import CODELISTS as ANNOTATION_CODELISTS
from trialdesk.services.odm_annotations import SubjectAnnotations, marks_held, subject_annotations
from trialdesk.services.odm_history import (
    FORM_VALUE_COLUMN,
    FORM_VALUE_TABLE,
    Change,
    ItemKey,
    form_value_text,
    inserted_at,
    item_changes,
    odm_text,
    until,
)
from trialdesk.services.sdv import SdvItem, planned_items
from trialdesk.services.signoff import MEANING, valid_signoff

ALL_SITE_ROLES = frozenset({Role.MONITOR, Role.DATA_MANAGER, Role.STATISTICIAN})
OWN_SITE_ROLES = frozenset({Role.COORDINATOR, Role.INVESTIGATOR})
"""Roles that export every site; coordinators and investigators get their own site's copy only;
everyone else (administrators read no clinical data, safety reviewers have the safety report) none."""
ODM_EXPORTERS = ALL_SITE_ROLES | OWN_SITE_ROLES
"""Every role that may export the ODM copy (its own site's, or every site's)."""


ROW_MODELS: dict[str, Any] = {
    "eligibility_evaluations": EligibilityEvaluation,
    "adverse_events": AdverseEvent,
    "lab_results": LabResultRow,
    "tumour_baselines": TumourBaseline,
    "tumour_assessments": TumourAssessment,
    "drug_administrations": DrugAdministration,
    "rt_fractions": RtFraction,
}
"""Table of a fixed record type (other than ``subjects``) -> its model (rows carry ``subject_id``)."""


@dataclass(frozen=True)
class OdmExport:
    """The ODM XML and what it holds."""

    content: bytes
    subjects: int
    audit_records: int
    site: str | None
    as_of: dt.datetime | None


@dataclass
class _Context:
    """What building the subjects needs: histories, the moment, users met and audit records written."""

    changes: dict[ItemKey, list[Change]]
    inserted: dict[tuple[str, str], dt.datetime]
    as_of: dt.datetime | None
    with_audit: bool
    units: dict[str, str]
    event_order: dict[str, int]
    site_oid: str = ""
    users: set[str] = field(default_factory=set)
    audit_records: int = 0
    signed: bool = False
    sdv_items: dict[int, list[SdvItem]] = field(default_factory=dict)
    """Subject id -> its SDV items whose verification holds (held at the copy's day, if it has one)."""
    annotations: SubjectAnnotations = field(default_factory=SubjectAnnotations)
    """The annotations of the subject being built, taken by the elements they belong to."""


def own_site_codes(session: Session, actor: Actor, protocol: Protocol) -> list[str]:
    """The codes of the sites whose copy a coordinator or investigator may export (their own), sorted;
    empty for every other role."""
    if actor.role not in OWN_SITE_ROLES:
        return []
    query = select(Site.code).where(Site.protocol_id == protocol.id, Site.id.in_(actor.site_ids))
    return sorted(session.scalars(query))


def _site_scope(session: Session, actor: Actor | None, protocol: Protocol, code: str | None) -> Site | None:
    """The site to export (None: every site) after the role checks (``actor`` None: the command line)."""
    if actor is not None and actor.role not in ALL_SITE_ROLES | OWN_SITE_ROLES:
        raise PermissionDenied(f"role '{actor.role}' may not export clinical data", rule="export_odm")
    sites = {s.code: s for s in session.scalars(select(Site).where(Site.protocol_id == protocol.id))}
    if code is not None:
        if code not in sites or (actor is not None and not actor.sees_site(sites[code].id)):
            raise NotFound(f"'{code}' is not a site of {protocol.id}", field="site")
        return sites[code]
    if actor is None or actor.role in ALL_SITE_ROLES:
        return None
    own = own_site_codes(session, actor, protocol)
    if len(own) != 1:
        raise InvalidInput(f"name one of your sites ({', '.join(own)})", field="site")
    return sites[own[0]]


def _as_of(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    if day > dt.datetime.now(dt.UTC).date():
        raise InvalidInput(f"{day} is after today", field="as_of")
    return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)


def _exists(context: _Context, table: str, record_id: str) -> bool:
    """Whether the record existed at the cut-off (records without an audited insert: yes)."""
    moment = context.inserted.get((table, record_id))
    return context.as_of is None or moment is None or moment <= context.as_of


def _item(
    context: _Context, key: ItemKey, oid: str, current: str | None, convert: Any, unit: str | None
) -> list[model.ItemValue]:
    """The ItemData of one value: the current one (or the one at the cut-off), or its history."""
    history = until(context.changes.get(key, []), context.as_of)
    if context.as_of is not None and key in context.changes:
        current = convert(history[-1].value) if history else None
    if not context.with_audit or not history:
        return [] if current is None else [model.ItemValue(oid, current, unit)]
    out: list[model.ItemValue] = []
    for change in history:
        value = convert(change.value)
        if change.inserted and value is None:
            continue
        context.users.add(change.username)
        audit = model.Audit(
            f"U.{change.username}", context.site_oid, change.at, change.reason, f"audit_log seq {change.seq}"
        )
        kind: model.TransactionType = "Insert" if not out else "Update"
        out.append(model.ItemValue(oid, value, unit, kind, audit))
    context.audit_records += len(out)
    if (out[-1].value if out else None) != current:
        out.append(model.ItemValue(oid, current, unit, "Update" if out else "Insert"))
    return out


def _row_group(context: _Context, kind: meta.RecordKind, row: Any) -> model.ItemGroupData:
    record_id = str(row.id)
    items: list[model.ItemValue] = []
    for column in kind.columns:

        def convert(value: Any, data_type: model.OdmDataType = column.data_type) -> str | None:
            return odm_text(value, data_type)

        unit = context.units.get(column.unit) if column.unit else None
        key = (kind.table, record_id, column.name)
        current = convert(getattr(row, column.name))
        values = _item(context, key, kind.item_oid(column.name), current, convert, unit)
        items.extend(_annotated(context, values, kind.table, record_id, column.name))
    return model.ItemGroupData(
        kind.group_oid,
        record_id if kind.repeating else None,
        tuple(items),
        context.annotations.record(kind.table, record_id),
    )


def _annotated(
    context: _Context, values: list[model.ItemValue], table: str, record_id: str, field_name: str
) -> list[model.ItemValue]:
    """``values`` (one value's ItemData) with the value's annotations on the last, its current value;
    a value the copy does not carry leaves its annotations to its record."""
    if not values:
        return values
    annotations = context.annotations.item(table, record_id, field_name)
    if annotations:
        values[-1] = dataclasses.replace(values[-1], annotations=annotations)
    return values


def _fixed_forms(context: _Context, rows: dict[str, list[Any]]) -> dict[str, list[model.FormData]]:
    """Event key -> the fixed record types' forms of one subject."""
    out: dict[str, list[model.FormData]] = defaultdict(list)
    for kind in meta.RECORD_KINDS:
        kept = [r for r in rows.get(kind.table, []) if _exists(context, kind.table, str(r.id))]
        if not kept:
            continue
        groups = tuple(_row_group(context, kind, row) for row in kept)
        out[kind.event].append(model.FormData(kind.form_oid, None, groups))
    return out


def _subject_rows(session: Session, subject: Subject) -> dict[str, list[Any]]:
    """Table -> the subject's rows of every fixed record type, oldest first."""
    rows: dict[str, list[Any]] = {"subjects": [subject]}
    for table, cls in ROW_MODELS.items():
        rows[table] = list(session.scalars(select(cls).where(cls.subject_id == subject.id).order_by(cls.id)))
    return rows


def _form_records(
    session: Session, context: _Context, protocol: Protocol, subject: Subject
) -> dict[tuple[str, str | None], list[model.FormData]]:
    """(event OID, repeat key) -> the subject's case report forms at that event."""
    records = session.scalars(
        select(FormRecord)
        .where(FormRecord.subject_id == subject.id)
        .order_by(FormRecord.visit_id, FormRecord.form_id, FormRecord.repeat_index, FormRecord.id)
    ).all()
    values: dict[int, dict[str, FormValue]] = defaultdict(dict)
    for value in session.scalars(select(FormValue).where(FormValue.subject_id == subject.id)):
        values[value.record_id][value.field_id] = value
    forms = {f.id: f for f in protocol.forms}
    out: dict[tuple[str, str | None], list[model.FormData]] = defaultdict(list)
    for record in records:
        form = forms.get(record.form_id)
        if form is None or not _exists(context, "form_records", str(record.id)):
            continue
        items: list[model.ItemValue] = []
        for form_field in form.fields:
            stored = values[record.id].get(form_field.id)
            if stored is None or not _exists(context, FORM_VALUE_TABLE, str(stored.id)):
                continue
            data_type = meta.FIELD_TYPES[form_field.type]

            def convert(text: str | None, data_type: model.OdmDataType = data_type) -> str | None:
                return form_value_text(text, data_type)

            key = (FORM_VALUE_TABLE, str(stored.id), FORM_VALUE_COLUMN)
            unit = context.units.get(form_field.unit) if form_field.unit else None
            history = _item(
                context, key, meta.item_oid(form, form_field.id), convert(stored.value_json), convert, unit
            )
            items.extend(_annotated(context, history, "form_records", str(record.id), form_field.id))
        group = model.ItemGroupData(
            meta.group_oid(form),
            None,
            tuple(items),
            context.annotations.record("form_records", str(record.id)),
        )
        repeat = str(record.repeat_index) if form.repeating else None
        out[meta.visit_event(record.visit_id)].append(model.FormData(meta.form_oid(form), repeat, (group,)))
    return out


def _subject_data(
    session: Session, context: _Context, protocol: Protocol, subject: Subject, site_code: str
) -> model.SubjectData:
    context.site_oid = f"L.{site_code}"
    context.annotations = subject_annotations(
        session, subject.id, context.sdv_items.get(subject.id, []), context.as_of
    )
    by_event = _form_records(session, context, protocol, subject)
    for event_key, forms in _fixed_forms(context, _subject_rows(session, subject)).items():
        by_event[(f"SE.{event_key}", None)].extend(forms)
    order = context.event_order
    events = tuple(
        model.StudyEventData(oid, repeat, tuple(forms))
        for (oid, repeat), forms in sorted(by_event.items(), key=lambda kv: (order[kv[0][0]], kv[0][1] or ""))
    )
    signature = _signature(session, context, subject)
    return model.SubjectData(
        subject.screening_number, context.site_oid, events, signature, context.annotations.rest()
    )


CASEBOOK_SIGNATURE = "SD.CASEBOOK"
"""The OID of the investigator's casebook sign-off in ``AdminData``."""


def _signature(session: Session, context: _Context, subject: Subject) -> model.SubjectSignature | None:
    """The investigator's casebook sign-off while it holds (the casebook unchanged since).

    In a copy as of a past moment, only a sign-off made by then whose subject has no audited change
    since the signing: the data of that moment are then the data signed (a change made and undone
    since would leave the sign-off valid now but is not known to be the state of that moment)."""
    held = valid_signoff(session, subject.id)
    if held is None:
        return None
    signoff, username = held
    if context.as_of is not None:
        signed_at = as_utc(signoff.signed_at)  # SQLite hands back naive timestamps
        if signed_at > context.as_of or _changed_since(session, subject.id, signed_at):
            return None
    context.users.add(username)
    context.signed = True
    return model.SubjectSignature(
        f"SIG.{signoff.id}", f"U.{username}", context.site_oid, CASEBOOK_SIGNATURE, signoff.signed_at
    )


def _changed_since(session: Session, subject_id: int, moment: dt.datetime) -> bool:
    later = select(AuditRecord.seq).where(
        AuditRecord.subject_id == subject_id,
        AuditRecord.at > moment,
        AuditRecord.table_name.not_in(DATA_MANAGEMENT_TABLES | EXEMPT_TABLES),  # not the casebook's
    )
    return session.scalar(later.limit(1)) is not None


def _value_rows(session: Session, subject_ids: list[int]) -> dict[tuple[str, str], str]:
    """(form record id, field id) -> the id of the row holding its saved value."""
    found = session.execute(
        select(FormValue.record_id, FormValue.field_id, FormValue.id).where(
            FormValue.subject_id.in_(subject_ids)
        )
    )
    return {(str(record), field_id): str(row) for record, field_id, row in found.tuples()}


def _audit_rows(session: Session, subject_ids: list[int]) -> list[AuditRecord]:
    if not subject_ids:
        return []
    tables = {kind.table for kind in meta.RECORD_KINDS} | {FORM_VALUE_TABLE, "form_records"}
    return list(
        session.scalars(
            select(AuditRecord)
            .where(AuditRecord.subject_id.in_(subject_ids), AuditRecord.table_name.in_(tables))
            .order_by(AuditRecord.seq)
        )
    )


def _exported_columns() -> dict[str, frozenset[str]]:
    columns: dict[str, set[str]] = defaultdict(set)
    for kind in meta.RECORD_KINDS:
        columns[kind.table].update(c.name for c in kind.columns)
    columns[FORM_VALUE_TABLE].add(FORM_VALUE_COLUMN)
    columns["form_records"].add("id")
    return {table: frozenset(names) for table, names in columns.items()}


def _users(session: Session, usernames: set[str]) -> tuple[model.User, ...]:
    names = dict(
        session.execute(select(User.username, User.full_name).where(User.username.in_(usernames)))
        .tuples()
        .all()
    )
    return tuple(model.User(f"U.{u}", u, names.get(u)) for u in sorted(usernames))


_CASEBOOK_DEF = model.SignatureDef(
    CASEBOOK_SIGNATURE,
    MEANING,
    "Investigator's electronic signature of the subject's casebook (21 CFR 11.50, 11.70, 11.200): "
    "password re-entered, bound to the SHA-256 of the casebook signed",
)


def odm_export(
    session: Session,
    actor: Actor | None,
    protocol: Protocol,
    *,
    site_code: str | None = None,
    with_audit: bool = False,
    as_of_day: dt.date | None = None,
) -> OdmExport:
    """The protocol's data as CDISC ODM 1.3.2 (``actor`` None: the command line, every site).

    Monitors, data managers and statisticians export every site or one; coordinators and investigators
    only their own site (a site-only copy); any other role is refused. Audited as an export read.
    """
    site = _site_scope(session, actor, protocol, site_code)
    as_of = _as_of(as_of_day)
    sites = dict(
        session.execute(select(Site.id, Site.code).where(Site.protocol_id == protocol.id)).tuples().all()
    )
    query = select(Subject).where(Subject.protocol_id == protocol.id).order_by(Subject.id)
    if site is not None:
        query = query.where(Subject.site_id == site.id)
    subjects = list(session.scalars(query))
    needs_history = with_audit or as_of is not None
    rows = _audit_rows(session, [s.id for s in subjects]) if needs_history else []
    changes = item_changes(rows, _exported_columns())
    metadata = meta.study_metadata(protocol)
    metadata = dataclasses.replace(metadata, codelists=metadata.codelists + ANNOTATION_CODELISTS)
    order = {event.oid: n for n, event in enumerate(metadata.events)}
    context = _Context(changes, inserted_at(changes), as_of, with_audit, meta.unit_oids(protocol), order)
    ids = [s.id for s in subjects]
    if as_of is None:
        held = marks_held(planned_items(session, protocol, ids), None, {}, {})
    else:  # a mark held on that day if its row has not changed since (rows come in audit order)
        last_change = {(row.table_name, row.record_id): as_utc(row.at) for row in rows}
        held = marks_held(
            planned_items(session, protocol, ids), as_of, last_change, _value_rows(session, ids)
        )
    for item in held:
        context.sdv_items.setdefault(item.subject_id, []).append(item)
    subjects = [s for s in subjects if _exists(context, "subjects", str(s.id))]
    data = tuple(_subject_data(session, context, protocol, s, sites[s.site_id]) for s in subjects)
    shown = {sites[s.site_id] for s in subjects} | ({site.code} if site else set())
    site_names = dict(
        session.execute(select(Site.code, Site.name).where(Site.protocol_id == protocol.id)).tuples().all()
    )
    created = dt.datetime.now(dt.UTC)
    scope = f"site {site.code}" if site else "all sites"
    document = model.OdmDocument(
        file_oid=f"trialdesk.{protocol.id}.{created.strftime('%Y%m%dT%H%M%S%fZ')}",
        created=created,
        description=f"{protocol.id} {protocol.version}: {scope}"
        + (", with audit trail" if with_audit else ""),
        granularity="SingleSite" if site else "All",
        metadata=metadata,
        users=_users(session, context.users),
        locations=tuple(model.Location(f"L.{c}", site_names[c]) for c in sorted(shown)),
        subjects=data,
        transactional=with_audit,
        as_of=as_of,
        source_system_version=__version__,
        signature_defs=(_CASEBOOK_DEF,) if context.signed else (),
    )
    try:
        content = to_xml(document)
    except InvalidOdm as exc:
        raise InvalidInput(f"the ODM document cannot be written: {exc}", field="odm") from None
    detail = (
        f"site={site.code if site else 'all'};audit={'yes' if with_audit else 'no'};as_of={as_of_day or '-'}"
    )
    audited_export(session, "odm", protocol.id, reason="ODM 1.3.2 export", detail=detail)
    return OdmExport(content, len(data), context.audit_records, site.code if site else None, as_of)
