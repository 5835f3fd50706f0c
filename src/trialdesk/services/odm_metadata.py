"""The ODM 1.3.2 study metadata of a protocol: events from its visit schedule, forms, item groups and
items from its case report forms and from trialdesk's fixed record types, code lists from the forms'
code lists, measurement units from the UCUM units used.

OIDs (stable, so two exports of one protocol version can be compared):

* events ``SE.<KIND>``: ``SE.SCREENING`` (screening, once), one repeating event per visit kind of
  the schedule (``SE.CYCLE``, ``SE.RADIOTHERAPY``, ``SE.TUMOUR_ASSESSMENT``, ``SE.END_OF_TREATMENT``,
  ``SE.SAFETY_FOLLOW_UP``, ``SE.SURVIVAL``; the visit id, e.g. ``C3``, is the repeat key) and
  ``SE.LOG`` (Type Common: log forms and the fixed record types not tied to a visit);
* protocol forms ``F.<form id>`` with one item group ``IG.<form id>`` and items
  ``IT.<form id>.<field id>``, code lists ``CL.<form id>.<field id>``;
* fixed record types ``F.TD.<KEY>`` / ``IG.TD.<KEY>`` / ``IT.TD.<KEY>.<column>`` (:data:`RECORD_KINDS`);
* units ``MU.<n>`` with the UCUM code as the symbol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trialdesk.adapters.odm import model
from trialdesk.domain.forms.model import FormDefinition, FormField
from trialdesk.domain.protocol.model import Protocol

LOG_EVENT = "LOG"
SCREENING_EVENT = "SCREENING"

VISIT_KIND_EVENTS: dict[str, str] = {
    "screening": SCREENING_EVENT,
    "cycle": "CYCLE",
    "radiotherapy": "RADIOTHERAPY",
    "tumour_assessment": "TUMOUR_ASSESSMENT",
    "end_of_treatment": "END_OF_TREATMENT",
    "safety_follow_up": "SAFETY_FOLLOW_UP",
    "survival": "SURVIVAL",
}
"""Visit kind of the schedule -> event key (``SE.<key>``)."""

_VISIT_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"SCR", "screening"),
    (r"C\d+|C\d+d-\d+", "cycle"),
    (r"RT-.+", "radiotherapy"),
    (r"TA\d+", "tumour_assessment"),
    (r"EOT", "end_of_treatment"),
    (r"SFU\d+", "safety_follow_up"),
    (r"SV\d+", "survival"),
)
"""Visit ids of :mod:`trialdesk.domain.calendar` (``C3``, ``C21d-2``, ``RT-shfrt``, ``TA2``, ``EOT``,
``SFU30``, ``SV4``) and the screening visit ``SCR`` -> visit kind."""

FIELD_TYPES: dict[str, model.OdmDataType] = {
    "integer": "integer",
    "decimal": "float",
    "text": "text",
    "date": "date",
    "code": "text",
    "boolean": "boolean",
}
"""Form field type -> ODM DataType."""


@dataclass(frozen=True)
class Column:
    """One exported column of a fixed record type: name, ODM type, label and UCUM unit."""

    name: str
    data_type: model.OdmDataType
    label: str
    unit: str | None = None


@dataclass(frozen=True)
class RecordKind:
    """A fixed record type of trialdesk exported as one form: the table its rows come from, its
    columns, whether a subject has several (repeat key: the row id) and its event."""

    key: str
    title: str
    table: str
    columns: tuple[Column, ...]
    repeating: bool
    event: str
    domain: str

    @property
    def form_oid(self) -> str:
        return f"F.TD.{self.key}"

    @property
    def group_oid(self) -> str:
        return f"IG.TD.{self.key}"

    def item_oid(self, column: str) -> str:
        return f"IT.TD.{self.key}.{column}"


def _c(name: str, data_type: model.OdmDataType, label: str, unit: str | None = None) -> Column:
    return Column(name, data_type, label, unit)


RECORD_KINDS: tuple[RecordKind, ...] = (
    RecordKind(
        "SUBJECT",
        "Screening and enrolment",
        "subjects",
        (
            _c("screening_date", "date", "Screening date"),
            _c("consent_date", "date", "Date of informed consent"),
            _c("status", "text", "Subject status"),
            _c("status_date", "date", "Date of the latest status change"),
            _c("phase_id", "text", "Trial phase"),
            _c("arm_id", "text", "Arm"),
            _c("enrolled_at", "datetime", "Enrolled at"),
            _c("treatment_start_date", "date", "Treatment start date"),
        ),
        False,
        SCREENING_EVENT,
        "DM",
    ),
    RecordKind(
        "ELIGIBILITY",
        "Eligibility evaluation",
        "eligibility_evaluations",
        (
            _c("protocol_version", "text", "Protocol version evaluated"),
            _c("verdict", "text", "Eligibility verdict"),
            _c("evaluated_at", "datetime", "Evaluated at"),
        ),
        True,
        SCREENING_EVENT,
        "IE",
    ),
    RecordKind(
        "AE",
        "Adverse events (CTCAE v5.0)",
        "adverse_events",
        (
            _c("term", "text", "CTCAE term"),
            _c("soc", "text", "System organ class"),
            _c("verbatim", "text", "Verbatim term"),
            _c("grade", "integer", "CTCAE grade"),
            _c("onset_date", "date", "Onset date"),
            _c("resolution_date", "date", "Resolution date"),
            _c("serious", "boolean", "Serious"),
            _c("outcome", "text", "Outcome"),
            _c("action_taken", "text", "Action taken"),
            _c("death_date", "date", "Date of death (grade 5)"),
            _c("baseline_condition", "boolean", "Present before consent"),
            _c("previous_episode_id", "integer", "Previous episode (record id)"),
            _c("attributions", "text", "Attribution per treatment component (JSON)"),
        ),
        True,
        LOG_EVENT,
        "AE",
    ),
    RecordKind(
        "LAB",
        "Laboratory results",
        "lab_results",
        (
            _c("test", "text", "Test"),
            _c("value", "float", "Result as entered"),
            _c("unit", "text", "Unit as entered (UCUM)"),
            _c("lln", "float", "Lower limit of normal, as entered"),
            _c("uln", "float", "Upper limit of normal, as entered"),
            _c("collected_date", "date", "Collection date"),
            _c("is_baseline", "boolean", "Baseline result"),
            _c("source", "text", "Source (entered or imported)"),
        ),
        True,
        LOG_EVENT,
        "LB",
    ),
    RecordKind(
        "TUMOUR_BASELINE",
        "Baseline tumour assessment (RECIST 1.1)",
        "tumour_baselines",
        (_c("date", "date", "Baseline scan date"), _c("lesions", "text", "Lesions (JSON)")),
        False,
        LOG_EVENT,
        "TU",
    ),
    RecordKind(
        "TUMOUR_ASSESSMENT",
        "Tumour assessments (RECIST 1.1 / iRECIST)",
        "tumour_assessments",
        (
            _c("visit", "text", "Visit"),
            _c("date", "date", "Scan date"),
            _c("measurements", "text", "Target lesion measurements (JSON)"),
            _c("non_target", "text", "Non-target lesion states (JSON)"),
            _c("new_lesions", "text", "New lesions (JSON)"),
        ),
        True,
        LOG_EVENT,
        "TR",
    ),
    RecordKind(
        "DOSE",
        "Drug administrations",
        "drug_administrations",
        (
            _c("agent", "text", "Agent"),
            _c("cycle", "integer", "Cycle"),
            _c("date", "date", "Administration date"),
            _c("height_cm", "float", "Height", "cm"),
            _c("weight_kg", "float", "Weight", "kg"),
            _c("planned_dose_mg", "float", "Planned dose", "mg"),
            _c("given_dose_mg", "float", "Dose given", "mg"),
            _c("deviation_reason", "text", "Dose deviation reason"),
        ),
        True,
        LOG_EVENT,
        "EX",
    ),
    RecordKind(
        "RT_FRACTION",
        "Radiotherapy fractions",
        "rt_fractions",
        (
            _c("intervention", "text", "Radiotherapy course"),
            _c("fraction_number", "integer", "Fraction number"),
            _c("date", "date", "Fraction date"),
            _c("dose_gy", "float", "Dose", "Gy"),
            _c("target", "text", "Target"),
        ),
        True,
        LOG_EVENT,
        "EX",
    ),
    RecordKind(
        "DISPOSITION",
        "Treatment and study disposition",
        "subjects",
        (
            _c("treatment_end_date", "date", "Treatment end date"),
            _c("end_of_treatment_reason", "text", "Reason treatment ended"),
            _c("discontinuation_reason", "text", "Discontinuation detail"),
            _c("end_of_study_date", "date", "End of study date"),
            _c("end_of_study_reason", "text", "Reason the subject left the study"),
            _c("death_date", "date", "Date of death"),
            _c("last_known_alive_date", "date", "Last known alive"),
            _c("new_anticancer_therapy_date", "date", "New anticancer therapy started"),
        ),
        False,
        LOG_EVENT,
        "DS",
    ),
)
"""The product's fixed record types, each exported as one form of its own."""


def visit_event(visit_id: str | None) -> tuple[str, str | None]:
    """The event OID and its repeat key of a form record's visit (None: a log form)."""
    if visit_id is None:
        return f"SE.{LOG_EVENT}", None
    for pattern, kind in _VISIT_PATTERNS:
        if re.fullmatch(pattern, visit_id):
            key = VISIT_KIND_EVENTS[kind]
            return f"SE.{key}", (None if key == SCREENING_EVENT else visit_id)
    raise ValueError(f"visit id '{visit_id}' is not a visit of the schedule")


def form_oid(form: FormDefinition) -> str:
    return f"F.{form.id}"


def group_oid(form: FormDefinition) -> str:
    return f"IG.{form.id}"


def item_oid(form: FormDefinition, field_id: str) -> str:
    return f"IT.{form.id}.{field_id}"


def unit_oids(protocol: Protocol) -> dict[str, str]:
    """UCUM code -> ``MU.<n>`` for every unit of the protocol's forms and the fixed record types."""
    codes = [f.unit for form in protocol.forms for f in form.fields if f.unit]
    codes += [c.unit for kind in RECORD_KINDS for c in kind.columns if c.unit]
    return {code: f"MU.{n}" for n, code in enumerate(dict.fromkeys(codes), start=1)}


def _field_item(form: FormDefinition, field: FormField, units: dict[str, str]) -> model.ItemDef:
    codelist = f"CL.{form.id}.{field.id}" if field.codes else None
    check = None if field.range is None else model.RangeCheck(field.range.min, field.range.max)
    return model.ItemDef(
        oid=item_oid(form, field.id),
        name=field.id,
        data_type=FIELD_TYPES[field.type],
        question=field.label,
        unit_oid=units.get(field.unit) if field.unit else None,
        codelist_oid=codelist,
        range_check=check,
        origin="CRF",
        length=field.max_length if field.type == "text" else None,
    )


def _events(protocol: Protocol) -> tuple[model.StudyEventDef, ...]:
    kinds = protocol.visit_kinds()
    by_event: dict[str, list[str]] = {key: [] for key in VISIT_KIND_EVENTS.values()}
    logs: list[str] = []
    for form in protocol.forms:
        if form.is_log:
            logs.append(form_oid(form))
        for kind in form.visits:
            by_event[VISIT_KIND_EVENTS[kind]].append(form_oid(form))
    for record_kind in RECORD_KINDS:
        target = logs if record_kind.event == LOG_EVENT else by_event[record_kind.event]
        target.append(record_kind.form_oid)
    events = [
        model.StudyEventDef(
            oid=f"SE.{key}",
            name=visit_kind.replace("_", " ").capitalize(),
            repeating=key != SCREENING_EVENT,
            type="Scheduled",
            forms=tuple(by_event[key]),
            category=visit_kind,
        )
        for visit_kind, key in VISIT_KIND_EVENTS.items()
        if visit_kind in kinds
    ]
    events.append(
        model.StudyEventDef(
            f"SE.{LOG_EVENT}", "Log and records not tied to a visit", False, "Common", tuple(logs)
        )
    )
    return tuple(events)


def study_metadata(protocol: Protocol) -> model.StudyMetadata:
    """The ODM study metadata of ``protocol`` (one ``MetaDataVersion`` per protocol version)."""
    units = unit_oids(protocol)
    forms: list[model.FormDef] = []
    groups: list[model.ItemGroupDef] = []
    items: list[model.ItemDef] = []
    codelists: list[model.CodeList] = []
    for form in protocol.forms:
        forms.append(model.FormDef(form_oid(form), form.title, form.repeating, (group_oid(form),)))
        refs = tuple((item_oid(form, f.id), f.required) for f in form.fields)
        groups.append(model.ItemGroupDef(group_oid(form), form.title, False, refs))
        items.extend(_field_item(form, f, units) for f in form.fields)
        codelists.extend(
            model.CodeList(
                f"CL.{form.id}.{f.id}", f"{form.id}.{f.id}", tuple((c.code, c.label) for c in f.codes)
            )
            for f in form.fields
            if f.codes
        )
    for kind in RECORD_KINDS:
        forms.append(model.FormDef(kind.form_oid, kind.title, False, (kind.group_oid,)))
        refs = tuple((kind.item_oid(c.name), False) for c in kind.columns)
        groups.append(model.ItemGroupDef(kind.group_oid, kind.title, kind.repeating, refs, kind.domain))
        items.extend(
            model.ItemDef(
                kind.item_oid(c.name),
                c.name,
                c.data_type,
                c.label,
                unit_oid=units.get(c.unit) if c.unit else None,
                origin=f"trialdesk {kind.table}.{c.name}",
            )
            for c in kind.columns
        )
    return model.StudyMetadata(
        study_oid=f"S.{protocol.id}",
        study_name=protocol.short_title,
        description=protocol.title,
        protocol_name=protocol.id,
        mdv_oid=f"MDV.{protocol.id}.{protocol.version}",
        mdv_name=f"{protocol.id} version {protocol.version}",
        units=tuple(model.MeasurementUnit(oid, code) for code, oid in units.items()),
        events=_events(protocol),
        forms=tuple(forms),
        item_groups=tuple(groups),
        items=tuple(items),
        codelists=tuple(codelists),
    )
