"""Gather the trial records of an SDTM/ADaM export from the database, as known at a data cut-off.

Rows dated after the cut-off are left out by the same row date a cut-off lock hashes
(:func:`trialdesk.adapters.db.lock_guard._row_date`: the row's clinical date, else the day it was
entered); subject dates after the cut-off (end of treatment, death, end of study, consent, enrolment,
a status change) are blanked, and subjects screened after it are not exported. ``site_ids``, when
given, limit the export to those sites (a site-limited user's own).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.lock_guard import _row_date
from trialdesk.adapters.db.models import (
    AdverseEvent,
    Allocation,
    DrugAdministration,
    FormRecord,
    FormValue,
    LabResultRow,
    RtFraction,
    Site,
    Subject,
    TumourAssessment,
)
from trialdesk.analysis.cdisc.records import FormRecordValues, Row, TrialRecords
from trialdesk.domain.endpoints.model import TumourData
from trialdesk.domain.protocol.model import Protocol
from trialdesk.services.trial_data import tumour_data

SUBJECT_DATES = (
    "consent_date",
    "treatment_start_date",
    "treatment_end_date",
    "end_of_study_date",
    "new_anticancer_therapy_date",
    "death_date",
)
"""Subject dates blanked when after the cut-off (with the reason or code that goes with them)."""
DEPENDENT = {
    "treatment_end_date": ("end_of_treatment_reason", "discontinuation_reason"),
    "end_of_study_date": ("end_of_study_reason",),
}


def _columns(obj: Any) -> Row:
    return {attr.key: getattr(obj, attr.key) for attr in type(obj).__mapper__.column_attrs}


def study_id(protocol: Protocol) -> str:
    """STUDYID: the protocol's acronym, else its id in capitals."""
    return protocol.acronym or protocol.id.upper()


def _subject_row(subject: Subject, site_code: str, allocated: dt.datetime | None, cutoff: dt.date) -> Row:
    row = _columns(subject) | {"site_code": site_code}
    for name in SUBJECT_DATES:
        if row[name] is not None and row[name] > cutoff:
            row[name] = None
            for dependent in DEPENDENT.get(name, ()):
                row[dependent] = None
    if row["last_known_alive_date"] is not None:
        row["last_known_alive_date"] = min(row["last_known_alive_date"], cutoff)
    enrolled = subject.enrolled_at is not None and subject.enrolled_at.date() <= cutoff
    if not enrolled:
        row.update(phase_id=None, arm_id=None, enrolled_at=None)
    if subject.status_date is not None and subject.status_date > cutoff:
        row["status"] = "screening" if not enrolled else "enrolled"
    row["allocation_date"] = allocated.date() if allocated and allocated.date() <= cutoff else None
    if row["allocation_date"] is None and allocated is not None:
        row["arm_id"] = None
    return row


def _kept(session: Session, rows: list[Any], cutoff: dt.date) -> list[Row]:
    out = []
    for obj in rows:
        day = _row_date(session, obj)
        if day is None or day <= cutoff:
            out.append(_columns(obj))
    return out


def _table(session: Session, model: Any, ids: list[int], cutoff: dt.date) -> list[Row]:
    rows = list(session.scalars(select(model).where(model.subject_id.in_(ids)).order_by(model.id)))
    return _kept(session, rows, cutoff)


def _forms(session: Session, ids: list[int], cutoff: dt.date) -> list[FormRecordValues]:
    records = list(
        session.scalars(select(FormRecord).where(FormRecord.subject_id.in_(ids)).order_by(FormRecord.id))
    )
    kept = {r.id: r for r in records if (d := _row_date(session, r)) is None or d <= cutoff}
    values: dict[int, dict[str, Any]] = defaultdict(dict)
    for value in session.scalars(select(FormValue).where(FormValue.record_id.in_(list(kept)))):
        values[value.record_id][value.field_id] = json.loads(value.value_json)
    return [
        FormRecordValues(r.subject_id, r.form_id, r.visit_id, r.repeat_index, values.get(r.id, {}))
        for r in kept.values()
    ]


def _tumour(session: Session, ids: list[int], cutoff: dt.date) -> tuple[dict[int, TumourData], list[str]]:
    out: dict[int, TumourData] = {}
    problems: list[str] = []
    for sid in ids:
        try:
            data = tumour_data(session, sid)
        except ValueError as exc:  # a stored scan the RECIST reader refuses: reported, not exported
            problems.append(f"subject {sid}: {str(exc).splitlines()[0]}")
            continue
        if data is None or data.baseline.date > cutoff:
            continue
        out[sid] = TumourData(
            baseline=data.baseline, assessments=[a for a in data.assessments if a.date <= cutoff]
        )
    return out, problems


def _visits(session: Session, ids: list[int]) -> dict[int, dict[dt.date, str]]:
    out: dict[int, dict[dt.date, str]] = defaultdict(dict)
    for row in session.scalars(select(TumourAssessment).where(TumourAssessment.subject_id.in_(ids))):
        out[row.subject_id][row.date] = row.visit.upper()
    return dict(out)


def gather_records(
    session: Session, protocol: Protocol, cutoff: dt.date, site_ids: Collection[int] | None = None
) -> tuple[TrialRecords, list[str]]:
    """The export's :class:`TrialRecords` at ``cutoff`` and the records that could not be read."""
    sites = dict(
        session.execute(select(Site.id, Site.code).where(Site.protocol_id == protocol.id)).tuples().all()
    )
    allocations = {
        a.subject_id: a.allocated_at
        for a in session.scalars(select(Allocation).where(Allocation.protocol_id == protocol.id))
    }
    query = select(Subject).where(Subject.protocol_id == protocol.id, Subject.screening_date <= cutoff)
    if site_ids is not None:
        query = query.where(Subject.site_id.in_(list(site_ids)))
    subjects = list(session.scalars(query.order_by(Subject.id)))
    ids = [s.id for s in subjects]
    tumour, problems = _tumour(session, ids, cutoff)
    records = TrialRecords(
        protocol=protocol,
        study_id=study_id(protocol),
        cutoff=cutoff,
        subjects=[_subject_row(s, sites[s.site_id], allocations.get(s.id), cutoff) for s in subjects],
        adverse_events=_table(session, AdverseEvent, ids, cutoff),
        drug_administrations=_table(session, DrugAdministration, ids, cutoff),
        rt_fractions=_table(session, RtFraction, ids, cutoff),
        lab_results=_table(session, LabResultRow, ids, cutoff),
        forms=_forms(session, ids, cutoff),
        tumour=tumour,
        assessment_visits=_visits(session, ids),
    )
    for row in records.adverse_events:
        if row["resolution_date"] is not None and row["resolution_date"] > cutoff:
            row["resolution_date"] = None
    return records, problems
