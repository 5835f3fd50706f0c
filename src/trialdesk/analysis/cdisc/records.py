"""The trial records an SDTM export maps (gathered by ``services/cdisc_export``), as plain values.

Each table is a list of rows (column name -> Python value, as stored); ``tumour`` holds each subject's
parsed RECIST baseline and scans, ``forms`` each case report form record with its values. Subjects
are keyed by their database id (``subject_id`` of every row).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from trialdesk.domain.endpoints.model import TumourData
from trialdesk.domain.protocol.model import Protocol

Row = dict[str, Any]


@dataclass(frozen=True)
class FormRecordValues:
    """One form record: subject, form, visit (``None``: a log form), repeat and the field values."""

    subject_id: int
    form_id: str
    visit_id: str | None
    repeat_index: int
    values: dict[str, Any]


@dataclass
class TrialRecords:
    """Everything the SDTM mapping reads, already cut at the data cut-off by the service.

    ``subjects``: the subject rows plus ``site_code`` and ``allocation_date``; ``assessment_visits``:
    subject id -> scan date -> visit name of each tumour assessment row.
    """

    protocol: Protocol
    study_id: str
    cutoff: dt.date
    subjects: list[Row]
    adverse_events: list[Row] = field(default_factory=list)
    drug_administrations: list[Row] = field(default_factory=list)
    rt_fractions: list[Row] = field(default_factory=list)
    lab_results: list[Row] = field(default_factory=list)
    forms: list[FormRecordValues] = field(default_factory=list)
    tumour: dict[int, TumourData] = field(default_factory=dict)
    assessment_visits: dict[int, dict[dt.date, str]] = field(default_factory=dict)

    def usubjid(self, subject_id: int) -> str:
        """USUBJID: the study id and the screening number, unique across studies."""
        return f"{self.study_id}-{self.subject(subject_id)['screening_number']}"

    def subject(self, subject_id: int) -> Row:
        """The subject row of database id ``subject_id`` (``KeyError`` if not exported)."""
        return self._by_id()[subject_id]

    def _by_id(self) -> dict[int, Row]:
        return self._index

    @cached_property
    def _index(self) -> dict[int, Row]:
        """Subject id -> row, built once (the subject list is not changed after gathering)."""
        return {int(s["id"]): s for s in self.subjects}

    def form_records(self, form_id: str) -> list[FormRecordValues]:
        """The records of one form of exported subjects, by subject, visit and repeat."""
        return self._forms_by_id.get(form_id, [])

    def subject_form(self, subject_id: int, form_id: str) -> FormRecordValues | None:
        """The first record of ``form_id`` of one subject (``None`` when the form was not filled)."""
        return self._first_form.get((subject_id, form_id))

    @cached_property
    def _forms_by_id(self) -> dict[str, list[FormRecordValues]]:
        known = self._index
        grouped: dict[str, list[FormRecordValues]] = {}
        ordered = sorted(self.forms, key=lambda r: (r.subject_id, r.visit_id or "", r.repeat_index))
        for record in ordered:
            if record.subject_id in known:
                grouped.setdefault(record.form_id, []).append(record)
        return grouped

    @cached_property
    def _first_form(self) -> dict[tuple[int, str], FormRecordValues]:
        first: dict[tuple[int, str], FormRecordValues] = {}
        for form_id, records in self._forms_by_id.items():
            for record in records:
                first.setdefault((record.subject_id, form_id), record)
        return first
