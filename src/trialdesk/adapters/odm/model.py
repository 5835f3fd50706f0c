"""What an ODM 1.3.2 document holds, as plain frozen values (no XML): the study metadata, the
administrative data (users, locations) and the clinical data with optional audit records.

Names follow the ODM 1.3.2 specification (CDISC, Operational Data Model 1.3.2 final, 2013): an
``oid`` is an element's OID, ``*_oid`` a reference to one, a ``repeat_key`` the element's
``...RepeatKey``. Values are ODM text: dates ``YYYY-MM-DD``, date-times ISO 8601 with the UTC offset,
booleans ``true``/``false``, numbers in their shortest decimal form.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

OdmDataType = Literal["integer", "float", "date", "datetime", "text", "boolean"]
"""The ODM ``DataType`` values trialdesk writes."""

EventType = Literal["Scheduled", "Unscheduled", "Common"]
TransactionType = Literal["Insert", "Update", "Remove"]


@dataclass(frozen=True)
class MeasurementUnit:
    """A ``MeasurementUnit`` of ``BasicDefinitions``: its OID and the UCUM code as its symbol."""

    oid: str
    symbol: str


@dataclass(frozen=True)
class CodeList:
    """A ``CodeList`` of coded values (code, label), in the protocol's order."""

    oid: str
    name: str
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RangeCheck:
    """A soft range check of a number (inclusive bounds, in the item's unit)."""

    minimum: float | None
    maximum: float | None


@dataclass(frozen=True)
class ItemDef:
    """An ``ItemDef``: one field of a form or one column of a fixed record type."""

    oid: str
    name: str
    data_type: OdmDataType
    question: str
    unit_oid: str | None = None
    codelist_oid: str | None = None
    range_check: RangeCheck | None = None
    origin: str | None = None
    length: int | None = None


@dataclass(frozen=True)
class ItemGroupDef:
    """An ``ItemGroupDef`` with its items (OID, mandatory) in order."""

    oid: str
    name: str
    repeating: bool
    items: tuple[tuple[str, bool], ...]
    domain: str | None = None


@dataclass(frozen=True)
class FormDef:
    """A ``FormDef`` with its item groups in order."""

    oid: str
    name: str
    repeating: bool
    item_groups: tuple[str, ...]


@dataclass(frozen=True)
class StudyEventDef:
    """A ``StudyEventDef`` with its forms in order."""

    oid: str
    name: str
    repeating: bool
    type: EventType
    forms: tuple[str, ...]
    category: str | None = None


@dataclass(frozen=True)
class StudyMetadata:
    """``Study`` content: ``GlobalVariables``, ``BasicDefinitions`` and one ``MetaDataVersion``."""

    study_oid: str
    study_name: str
    description: str
    protocol_name: str
    mdv_oid: str
    mdv_name: str
    units: tuple[MeasurementUnit, ...]
    events: tuple[StudyEventDef, ...]
    forms: tuple[FormDef, ...]
    item_groups: tuple[ItemGroupDef, ...]
    items: tuple[ItemDef, ...]
    codelists: tuple[CodeList, ...]


@dataclass(frozen=True)
class User:
    """An ``AdminData`` ``User``: OID, login name and full name."""

    oid: str
    login: str
    full_name: str | None


@dataclass(frozen=True)
class Location:
    """An ``AdminData`` ``Location`` of type Site (a trial site)."""

    oid: str
    name: str


@dataclass(frozen=True)
class Audit:
    """An ``AuditRecord``: who (``UserRef``), where (``LocationRef``, the subject's site), when
    (``DateTimeStamp``, UTC), why (``ReasonForChange``) and the source row (``SourceID``)."""

    user_oid: str
    location_oid: str
    at: dt.datetime
    reason: str | None
    source_id: str


@dataclass(frozen=True)
class Flag:
    """A ``Flag`` of an annotation: a coded value and, optionally, a coded type (each from a
    ``CodeList`` of the metadata)."""

    value: str
    value_codelist_oid: str
    type: str | None = None
    type_codelist_oid: str | None = None


@dataclass(frozen=True)
class Annotation:
    """An ``Annotation``: its sequence number among its parent's annotations, a document-unique ``ID``,
    a ``Comment`` said by the sponsor's side or the site's, and flags."""

    seq: int
    id: str
    comment: str | None
    comment_by: Literal["Sponsor", "Site"] | None
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class ItemValue:
    """An ``ItemData``: the value (None: ``IsNull="Yes"``), with its transaction type and audit record
    in a transactional file, and its annotations (data queries, source data verification)."""

    item_oid: str
    value: str | None
    unit_oid: str | None = None
    transaction: TransactionType | None = None
    audit: Audit | None = None
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class ItemGroupData:
    """An ``ItemGroupData`` (repeat key for repeating groups), with the annotations of the whole
    record."""

    item_group_oid: str
    repeat_key: str | None
    items: tuple[ItemValue, ...]
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class FormData:
    """A ``FormData`` (repeat key for repeating forms)."""

    form_oid: str
    repeat_key: str | None
    item_groups: tuple[ItemGroupData, ...]


@dataclass(frozen=True)
class StudyEventData:
    """A ``StudyEventData`` (repeat key: the visit id for repeating events)."""

    event_oid: str
    repeat_key: str | None
    forms: tuple[FormData, ...]


@dataclass(frozen=True)
class SignatureDef:
    """An ``AdminData`` ``SignatureDef``: what a signature of this kind means, and why it is legally
    binding (``Methodology`` Electronic: a password re-entered, 21 CFR 11.200)."""

    oid: str
    meaning: str
    legal_reason: str


@dataclass(frozen=True)
class SubjectSignature:
    """A ``Signature`` of a ``SubjectData``: its document-unique ``ID``, who signed (``UserRef``), at
    which site (``LocationRef``), which kind (``SignatureRef``) and when (``DateTimeStamp``, UTC)."""

    id: str
    user_oid: str
    location_oid: str
    signature_oid: str
    at: dt.datetime


@dataclass(frozen=True)
class SubjectData:
    """A ``SubjectData``: the subject key (screening number), its site, its events and, when the
    investigator's casebook sign-off holds, its signature."""

    subject_key: str
    site_oid: str
    events: tuple[StudyEventData, ...]
    signature: SubjectSignature | None = None
    annotations: tuple[Annotation, ...] = ()
    """Annotations of data the document does not carry as items (a visit record, say)."""


@dataclass(frozen=True)
class OdmDocument:
    """A whole ODM file: ``Snapshot`` (current values) or ``Transactional`` (with the audit trail)."""

    file_oid: str
    created: dt.datetime
    description: str
    granularity: Literal["All", "SingleSite"]
    metadata: StudyMetadata
    users: tuple[User, ...]
    locations: tuple[Location, ...]
    subjects: tuple[SubjectData, ...]
    transactional: bool = False
    as_of: dt.datetime | None = None
    source_system_version: str | None = None
    signature_defs: tuple[SignatureDef, ...] = ()
