"""The trial records an SDTM export maps (gathered by ``services/cdisc_export``), as plain values.

Each table is a list of rows (column name -> Python value, as stored); ``tumour`` holds each subject's
parsed RECIST baseline and scans, ``forms`` each case report form record with its values. Subjects
are keyed by their database id (``subject_id`` of every row).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
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
        return {int(s["id"]): s for s in self.subjects}

    def form_records(self, form_id: str) -> list[FormRecordValues]:
        """The records of one form of exported subjects, by subject, visit and repeat."""
        known = self._by_id()
        return sorted(
            (r for r in self.forms if r.form_id == form_id and r.subject_id in known),
            key=lambda r: (r.subject_id, r.visit_id or "", r.repeat_index),
        )
