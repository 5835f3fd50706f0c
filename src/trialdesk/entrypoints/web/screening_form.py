"""The screening form, generated from a protocol's eligibility criteria (never written per trial).

Each criterion's rule type names the patient-record items it reads (:func:`rule_items`); the form
shows those items under the first criterion that needs them, in protocol order, inclusion then
exclusion, with the unit beside each value. The submitted form becomes trialdesk patient JSON
(:func:`record_from_form`), which the same services as the API evaluate and store; an imported
record (patient JSON or FHIR R4) becomes form values again (:func:`form_from_record`).

Labels are English message ids marked with :func:`_` (a marker: the template translates them).
Nothing here decides eligibility: the rules are the domain's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from trialdesk.domain.eligibility.rules import (
    AgeRule,
    AnyOfRule,
    AttestationRule,
    CodedRule,
    ConsentRule,
    CreatinineClearanceRule,
    Criterion,
    FindingAbsentRule,
    FirstLineFailureRule,
    LabRule,
    MeasurableDiseaseRule,
    NoOtherMalignancyRule,
    NoPriorTherapyRule,
    NoRecentInvestigationalDrugRule,
    NumericRule,
    Rule,
    ScoreRule,
    TherapyModality,
)
from trialdesk.domain.labs.catalogue import LabTest
from trialdesk.domain.labs.units import accepted_units, canonical_unit, test_label
from trialdesk.domain.protocol.model import Protocol

FormValues = dict[str, Any]
"""Form field name -> the typed text (a list for a group of checkboxes)."""


def _(message: str) -> str:
    """Mark an English label for the catalogue; the template translates it when rendering."""
    return message


@dataclass(frozen=True)
class Field:
    """One input: its form name, label (message id), input kind, unit and options."""

    name: str
    label: str
    kind: str = "text"  # text, number, date, select, checkboxes, finding
    unit: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    hint: str | None = None
    step: str = "any"
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """A repeating list of the record (prior therapies, lesions...): rows of columns, and a 'none'
    box for an explicitly empty list (no box and no row: not recorded, hence unknown)."""

    key: str
    label: str
    columns: tuple[Field, ...]
    none_label: str


@dataclass
class Section:
    """One criterion of the form with the inputs it introduces and the items it shares."""

    criterion: Criterion
    fields: list[Field] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    shared: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)

    @property
    def plain_fields(self) -> list[Field]:
        """The inputs that are not lab results."""
        return [f for f in self.fields if not f.name.startswith("lab.")]

    @property
    def lab_groups(self) -> list[list[Field]]:
        """The lab-result inputs, one list (value, unit, date, ULN) per test."""
        tests: dict[str, list[Field]] = {}
        for f in self.fields:
            if f.name.startswith("lab."):
                tests.setdefault(f.name.split(".")[1], []).append(f)
        return list(tests.values())


YES_NO = (("", _("not recorded")), ("yes", _("yes")), ("no", _("no")))
SEX = (("", _("not recorded")), ("female", _("female")), ("male", _("male")))
CONFIRMATION = (
    ("", _("not recorded")),
    ("histology", _("histology")),
    ("cytology", _("cytology")),
    ("clinical", _("clinical")),
)
MODALITIES: tuple[TherapyModality, ...] = (
    "surgery",
    "radiotherapy",
    "chemotherapy",
    "immunotherapy",
    "targeted_therapy",
    "chemoradiotherapy",
    "other",
)
MODALITY_LABELS = {
    "surgery": _("surgery"),
    "radiotherapy": _("radiotherapy"),
    "chemotherapy": _("chemotherapy"),
    "immunotherapy": _("immunotherapy"),
    "targeted_therapy": _("targeted therapy"),
    "chemoradiotherapy": _("chemoradiotherapy"),
    "other": _("other"),
}
INTENTS = ("definitive", "palliative", "neoadjuvant", "adjuvant", "curative", "other")
INTENT_LABELS = {
    "definitive": _("definitive"),
    "palliative": _("palliative"),
    "neoadjuvant": _("neoadjuvant"),
    "adjuvant": _("adjuvant"),
    "curative": _("curative"),
    "other": _("other"),
}
OUTCOMES = {
    "progression": _("progression"),
    "intolerance": _("intolerance"),
    "completed": _("completed"),
    "ongoing": _("ongoing"),
}
METHODS = {"ct": "CT", "mri": "MRI", "caliper": _("caliper"), "xray": _("chest X-ray")}


def _choices(labels: Mapping[str, str], blank: str = _("not recorded")) -> tuple[tuple[str, str], ...]:
    return (("", blank), *labels.items())


HEADER_FIELDS = ("screening_number", "site_code", "screening_date", "consent_date")

PERSON_FIELDS: dict[str, Field] = {
    "birth_date": Field("birth_date", _("Birth date"), "date"),
    "sex": Field("sex", _("Sex"), "select", options=SEX),
    "weight_kg": Field("weight_kg", _("Actual body weight"), "number", unit="kg", step="0.1"),
    "ecog": Field("ecog", _("ECOG performance status"), "number", unit="0-5", step="1"),
    "expected_survival_months": Field(
        "expected_survival_months", _("Expected survival"), "number", unit=_("months")
    ),
    "consent_date": Field("consent_date", _("Informed consent signed on"), "date"),
}
DIAGNOSIS_LABELS = {
    "histology": _("Histology"),
    "confirmation": _("Diagnosis confirmed by"),
    "stage": _("Overall stage"),
    "m_stage": _("M category"),
    "setting": _("Disease setting"),
}

THERAPY_GROUP = Group(
    "prior_therapies",
    _("Prior anti-tumour therapies"),
    (
        Field("line", _("Line"), "number", step="1"),
        Field("modality", _("Modality"), "select", options=_choices(MODALITY_LABELS, _("choose"))),
        Field("intent", _("Intent"), "select", options=_choices(INTENT_LABELS)),
        Field("start_date", _("Start"), "date"),
        Field("end_date", _("End"), "date"),
        Field("outcome", _("Outcome"), "select", options=_choices(OUTCOMES)),
        Field("progression_date", _("Progression"), "date"),
        Field("for_esophageal_cancer", _("For esophageal cancer"), "select", options=YES_NO),
    ),
    _("No prior anti-tumour therapy (recorded as none)"),
)
DRUG_GROUP = Group(
    "investigational_drug_exposures",
    _("Participation in other drug trials"),
    (
        Field("last_dose_date", _("Last investigational dose"), "date"),
        Field("trial", _("Trial name or registry id")),
    ),
    _("No participation in another drug trial (recorded as none)"),
)
LESION_GROUP = Group(
    "lesions",
    _("Baseline lesions"),
    (
        Field("id", _("Lesion id")),
        Field("site", _("Site")),
        Field("nodal", _("Lymph node"), "select", options=(("no", _("no")), ("yes", _("yes")))),
        Field("regional_node", _("Regional node"), "select", options=YES_NO),
        Field("station", _("Node station")),
        Field("diameter_mm", _("Diameter"), "number", unit="mm", step="0.1"),
        Field("method", _("Imaging method"), "select", options=tuple(METHODS.items())),
        Field("slice_thickness_mm", _("Slice thickness"), "number", unit="mm", step="0.1"),
    ),
    _("No lesion seen (recorded as none)"),
)
PG_SGA_PARTS = (
    ("box1", _("Box 1, weight history"), "0-5"),
    ("box2", _("Box 2, food intake"), "0-4"),
    ("box3", _("Box 3, symptoms"), "0-24"),
    ("box4", _("Box 4, activities and function"), "0-3"),
    ("worksheet2", _("Worksheet 2, disease and its relation to needs"), "0-7"),
    ("worksheet3", _("Worksheet 3, metabolic stress"), "0-9"),
    ("worksheet4", _("Worksheet 4, physical exam"), "0-3"),
)
MAX_ROWS = 20


def _malignancy_group(protocol: Protocol) -> Group:
    types = protocol.vocabulary.malignancy_types
    type_field = (
        Field("type", _("Type"), "select", options=(("", _("choose")), *types.items()))
        if types
        else Field("type", _("Type"))
    )
    return Group(
        "other_malignancies",
        _("Other malignancies"),
        (
            type_field,
            Field("diagnosis_date", _("Diagnosed"), "date"),
            Field(
                "status",
                _("Status"),
                "select",
                options=_choices({"cured": _("cured"), "active": _("active disease")}),
            ),
            Field(
                "synchronous",
                _("Synchronous second primary"),
                "select",
                options=(("no", _("no")), ("yes", _("yes"))),
            ),
        ),
        _("No other malignancy (recorded as none)"),
    )


# ---------------------------------------------------------------- which items each rule reads


def rule_items(rule: Rule) -> Iterator[str]:
    """The record items a rule reads, as item keys (``birth_date``, ``lab:alt:uln``, ``group:lesions``,
    ``finding:pregnant``, ``attest``...), sub-rules of ``any_of`` included."""
    if isinstance(rule, AnyOfRule):
        for sub in rule.rules:
            yield from rule_items(sub)
    elif isinstance(rule, AgeRule):
        yield "birth_date"
    elif isinstance(rule, CodedRule):
        yield f"coded:{rule.field}"
    elif isinstance(rule, NumericRule):
        yield rule.field
    elif isinstance(rule, LabRule):
        yield f"lab:{rule.test}:uln" if rule.times_uln is not None else f"lab:{rule.test}"
    elif isinstance(rule, CreatinineClearanceRule):
        yield from ("birth_date", "sex", "weight_kg", "lab:creatinine")
    elif isinstance(rule, FindingAbsentRule):
        yield from (f"finding:{code}" for code in rule.findings)
        if rule.applies_to_sex:
            yield "sex"
    elif isinstance(rule, ConsentRule):
        yield "consent_date"
    elif isinstance(rule, ScoreRule):
        yield "pg_sga"
    else:
        yield from _history_items(rule)


def _history_items(rule: Rule) -> Iterator[str]:
    if isinstance(rule, (AttestationRule, FirstLineFailureRule)):
        yield "attest"
    if isinstance(rule, (FirstLineFailureRule, NoPriorTherapyRule)):
        yield "group:prior_therapies"
    elif isinstance(rule, NoRecentInvestigationalDrugRule):
        yield "group:investigational_drug_exposures"
    elif isinstance(rule, NoOtherMalignancyRule):
        yield "group:other_malignancies"
    elif isinstance(rule, MeasurableDiseaseRule):
        yield "group:lesions"


def _questions(rule: Rule) -> Iterator[str]:
    if isinstance(rule, AttestationRule):
        yield rule.question.strip()
    elif isinstance(rule, FirstLineFailureRule):
        yield rule.later_lines_question.strip()
    elif isinstance(rule, AnyOfRule):
        for sub in rule.rules:
            yield from _questions(sub)


@dataclass(frozen=True)
class ScreeningForm:
    """The generated form of one protocol: its sections in protocol order and every lab it asks."""

    protocol: Protocol
    sections: list[Section]
    labs: dict[LabTest, bool]  # test -> needs the upper limit of normal

    @property
    def inclusion(self) -> list[Section]:
        return [s for s in self.sections if s.criterion.kind == "inclusion"]

    @property
    def exclusion(self) -> list[Section]:
        return [s for s in self.sections if s.criterion.kind == "exclusion"]

    def group(self, key: str) -> Group | None:
        return next((g for s in self.sections for g in s.groups if g.key == key), None)


def default_units(form: ScreeningForm) -> dict[str, str]:
    """Form name of each lab's unit -> the unit the protocol states for it (else the canonical one)."""
    units = {f"lab.{test}.unit": canonical_unit(test) for test in form.labs}
    for criterion in form.protocol.eligibility.criteria:
        for rule in _flat(criterion.rule):
            if isinstance(rule, LabRule) and rule.unit:
                units[f"lab.{rule.test}.unit"] = rule.unit
    return units


def _coded_field(protocol: Protocol, name: str) -> Field:
    allowed: list[str] = []
    for criterion in protocol.eligibility.criteria:
        for rule in _flat(criterion.rule):
            if isinstance(rule, CodedRule) and rule.field == name:
                allowed += [a for a in rule.allowed if a not in allowed]
    key = name.split(".", 1)[1]
    label = DIAGNOSIS_LABELS[key]
    if key == "confirmation":
        return Field(name, label, "select", options=CONFIRMATION)
    if key == "setting":
        return Field(name, label, "checkboxes", options=tuple((a, a.replace("_", " ")) for a in allowed))
    return Field(name, label, suggestions=tuple(allowed), hint=_("A code, e.g. %(codes)s"))


def _flat(rule: Rule) -> Iterator[Rule]:
    yield rule
    if isinstance(rule, AnyOfRule):
        for sub in rule.rules:
            yield from _flat(sub)


def lab_fields(test: LabTest, with_uln: bool) -> list[Field]:
    """Value, unit, date (and upper limit of normal) of one lab test."""
    name = f"lab.{test}"
    units = tuple((u, u) for u in accepted_units(test))
    fields = [
        Field(f"{name}.value", test_label(test), "number"),
        Field(f"{name}.unit", _("Unit"), "select", options=units),
        Field(f"{name}.date", _("Result date"), "date"),
    ]
    if with_uln:
        fields.append(Field(f"{name}.uln", _("Upper limit of normal (ULN)"), "number"))
    return fields


def _finding_field(protocol: Protocol, code: str) -> Field:
    label = protocol.vocabulary.findings.get(code, code.replace("_", " "))
    options = (("", _("not recorded")), ("absent", _("not present")), ("present", _("present")))
    return Field(f"finding.{code}", label, "finding", options=options)


def _pg_sga_fields() -> list[Field]:
    parts = [
        Field(f"pg_sga.{key}", label, "number", unit=span, step="1") for key, label, span in PG_SGA_PARTS
    ]
    total = Field("pg_sga.total", _("PG-SGA total (when the parts are not given)"), "number", step="1")
    return [*parts, total, Field("pg_sga.date", _("PG-SGA scored on"), "date")]


def _item_label(item: str, protocol: Protocol) -> str:
    if item.startswith("lab:"):
        return test_label(item.split(":")[1])  # type: ignore[arg-type]
    if item.startswith("finding:"):
        code = item.split(":", 1)[1]
        return protocol.vocabulary.findings.get(code, code)
    if item.startswith("coded:"):
        return DIAGNOSIS_LABELS[item.split(".", 1)[1]]
    if item.startswith("group:"):
        group = {
            "prior_therapies": THERAPY_GROUP,
            "investigational_drug_exposures": DRUG_GROUP,
            "lesions": LESION_GROUP,
        }.get(item[6:])
        return group.label if group else _("Other malignancies")
    if item == "pg_sga":
        return "PG-SGA"
    return PERSON_FIELDS[item].label


def build_form(protocol: Protocol) -> ScreeningForm:
    """The screening form of ``protocol``: one section per criterion, in protocol order."""
    seen: set[str] = set(HEADER_FIELDS)
    labs: dict[LabTest, bool] = {}
    for criterion in protocol.eligibility.criteria:
        for item in rule_items(criterion.rule):
            if item.startswith("lab:"):
                parts = item.split(":")
                test: LabTest = parts[1]  # type: ignore[assignment]
                labs[test] = labs.get(test, False) or len(parts) > 2
    sections = [_section(protocol, c, seen, labs) for c in protocol.eligibility.criteria]
    order = {"inclusion": 0, "exclusion": 1}
    sections.sort(key=lambda s: order[s.criterion.kind])  # stable: protocol order within each kind
    return ScreeningForm(protocol, sections, labs)


def _section(protocol: Protocol, criterion: Criterion, seen: set[str], labs: dict[LabTest, bool]) -> Section:
    section = Section(criterion, questions=list(_questions(criterion.rule)))
    for item in dict.fromkeys(rule_items(criterion.rule)):
        key = item.rsplit(":uln", 1)[0] if item.startswith("lab:") else item
        if key == "attest":
            continue
        if key in seen:
            section.shared.append(_item_label(key, protocol))
            continue
        seen.add(key)
        _add_item(protocol, section, key, labs)
    return section


def _add_item(protocol: Protocol, section: Section, key: str, labs: dict[LabTest, bool]) -> None:
    if key.startswith("lab:"):
        test: LabTest = key.split(":")[1]  # type: ignore[assignment]
        section.fields += lab_fields(test, labs[test])
    elif key.startswith("coded:"):
        section.fields.append(_coded_field(protocol, key[6:]))
    elif key.startswith("finding:"):
        section.fields.append(_finding_field(protocol, key[8:]))
    elif key == "pg_sga":
        section.fields += _pg_sga_fields()
    elif key == "group:other_malignancies":
        section.groups.append(_malignancy_group(protocol))
    elif key.startswith("group:"):
        groups = {g.key: g for g in (THERAPY_GROUP, DRUG_GROUP, LESION_GROUP)}
        section.groups.append(groups[key[6:]])
    else:
        section.fields.append(PERSON_FIELDS[key])


# ---------------------------------------------------------------- form values <-> patient JSON


@dataclass
class Built:
    """Patient JSON built from the form, and where each record location came from on the form."""

    record: dict[str, Any]
    locations: dict[str, str]
    errors: dict[str, str]


def _number(values: Mapping[str, Any], name: str, errors: dict[str, str], integer: bool = False) -> Any:
    text = str(values.get(name) or "").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        errors[name] = "not a number"
        return None
    if integer:
        if not number.is_integer():
            errors[name] = "a whole number is needed"
            return None
        return int(number)
    return number


def _text(values: Mapping[str, Any], name: str) -> str | None:
    text = str(values.get(name) or "").strip()
    return text or None


def _yes_no(values: Mapping[str, Any], name: str) -> bool | None:
    return {"yes": True, "no": False}.get(str(values.get(name) or ""))


def row_count(values: Mapping[str, Any], key: str) -> int:
    """How many rows of group ``key`` the form shows: those typed plus one empty row (and one more
    per 'add a row')."""
    filled = max(
        (int(m.group(1)) + 1 for name in values if (m := re.match(rf"{key}\.(\d+)\.", name))), default=0
    )
    try:
        asked = int(str(values.get(f"{key}.rows") or 0))
    except ValueError:
        asked = 0
    return min(max(filled + 1, asked, 1), MAX_ROWS)


class RecordBuilder:
    """Builds patient JSON from the form values of one :class:`ScreeningForm`."""

    def __init__(self, form: ScreeningForm, values: Mapping[str, Any]) -> None:
        self.form = form
        self.values = values
        self.record: dict[str, Any] = {"schema_version": "1.0"}
        self.locations: dict[str, str] = {}
        self.errors: dict[str, str] = {}

    def put(self, location: str, name: str, value: Any) -> None:
        if value is None:
            return
        target = self.record
        *parents, last = location.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
        self.locations[location] = name

    def build(self) -> Built:
        v = self.values
        self.record["id"] = _text(v, "screening_number") or "-"
        self.locations["id"] = "screening_number"
        self.put("screening_date", "screening_date", _text(v, "screening_date"))
        self.put("birth_date", "birth_date", _text(v, "birth_date"))
        self.put("sex", "sex", _text(v, "sex"))
        self.put("weight_kg", "weight_kg", _number(v, "weight_kg", self.errors))
        self.put("ecog", "ecog", _number(v, "ecog", self.errors, integer=True))
        self.put(
            "expected_survival_months",
            "expected_survival_months",
            _number(v, "expected_survival_months", self.errors),
        )
        consent = _text(v, "consent_date")
        if consent:
            self.put("consent.signed_date", "consent_date", consent)
        self._diagnosis()
        self._labs()
        self._findings()
        self._pg_sga()
        for key in ("prior_therapies", "investigational_drug_exposures", "other_malignancies", "lesions"):
            if self.form.group(key) is not None:
                self._group(key)
        self._proposals()
        return Built(self.record, self.locations, self.errors)

    def _diagnosis(self) -> None:
        for key in DIAGNOSIS_LABELS:
            name = f"diagnosis.{key}"
            value = self.values.get(name)
            if key == "setting":
                chosen = [x for x in (value if isinstance(value, list) else [value] if value else []) if x]
                self.put(name, name, chosen or None)
            else:
                self.put(name, name, _text(self.values, name))

    def _labs(self) -> None:
        labs: list[dict[str, Any]] = []
        for test in self.form.labs:
            name = f"lab.{test}"
            value = _number(self.values, f"{name}.value", self.errors)
            if value is None:
                continue
            index = len(labs)
            lab: dict[str, Any] = {
                "test": test,
                "value": value,
                "unit": _text(self.values, f"{name}.unit") or canonical_unit(test),
            }
            for key in ("date", "uln"):
                typed = (
                    _text(self.values, f"{name}.date")
                    if key == "date"
                    else _number(self.values, f"{name}.uln", self.errors)
                )
                if typed is not None:
                    lab[key] = typed
            for key in ("value", "unit", "date", "uln"):
                self.locations[f"labs[{index}].{key}"] = f"{name}.{key}"
            self.locations[f"labs[{index}]"] = f"{name}.value"
            labs.append(lab)
        if labs:
            self.record["labs"] = labs

    def _findings(self) -> None:
        for name, value in self.values.items():
            if name.startswith("finding.") and value in ("present", "absent"):
                code = name[8:]
                self.record.setdefault("findings", {})[code] = value == "present"
                self.locations[f"findings.{code}"] = name

    def _pg_sga(self) -> None:
        if not any(f.name.startswith("pg_sga.") for s in self.form.sections for f in s.fields):
            return
        parts = {
            key: _number(self.values, f"pg_sga.{key}", self.errors, integer=True)
            for key, _l, _s in PG_SGA_PARTS
        }
        total = _number(self.values, "pg_sga.total", self.errors, integer=True)
        date = _text(self.values, "pg_sga.date")
        if all(p is None for p in parts.values()) and total is None and date is None:
            return
        score: dict[str, Any] = {}
        if any(p is not None for p in parts.values()):
            score["components"] = parts
            for key in parts:
                self.locations[f"pg_sga.components.{key}"] = f"pg_sga.{key}"
        if total is not None:
            score["total"] = total
        if date:
            score["date"] = date
        self.record["pg_sga"] = score
        self.locations.update(
            {"pg_sga": "pg_sga.total", "pg_sga.total": "pg_sga.total", "pg_sga.date": "pg_sga.date"}
        )

    def _group(self, key: str) -> None:
        group = self.form.group(key)
        assert group is not None
        rows: list[dict[str, Any]] = []
        for index in range(row_count(self.values, key)):
            row = self._row(group, index, len(rows))
            if row:
                rows.append(row)
        none = self.values.get(f"{key}.none") == "yes"
        self.locations[key] = f"{key}.none"
        if rows and none:
            self.errors[f"{key}.none"] = "rows are listed: untick 'none' or clear the rows"
        if rows:
            self.record[key] = rows
        elif none:
            self.record[key] = []

    def _row(self, group: Group, index: int, position: int) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column in group.columns:
            name = f"{group.key}.{index}.{column.name}"
            if column.kind == "number":
                value: Any = _number(self.values, name, self.errors, integer=column.step == "1")
            elif column.options and column.options[-1][0] in ("yes", "no") and column.name != "nodal":
                value = _yes_no(self.values, name)
            else:
                value = _text(self.values, name)
            if value is not None:
                row[column.name] = value
            self.locations[f"{group.key}[{position}].{column.name}"] = name
        if group.key == "lesions" and row:
            row["nodal"] = self.values.get(f"lesions.{index}.nodal") == "yes"
            row.setdefault("diameter_mm", None)
        if group.key == "other_malignancies" and row:
            row["synchronous"] = self.values.get(f"other_malignancies.{index}.synchronous") == "yes"
        meaningful = {k for k in row if k not in ("nodal", "synchronous", "diameter_mm", "method")}
        return row if meaningful or row.get("diameter_mm") is not None else {}

    def _proposals(self) -> None:
        text = _text(self.values, "proposals")
        if not text:
            return
        try:
            proposals = json.loads(text)
        except json.JSONDecodeError:
            return
        if isinstance(proposals, dict) and proposals:
            self.record["attestations"] = proposals


def record_from_form(form: ScreeningForm, values: Mapping[str, Any]) -> Built:
    """Patient JSON from the typed form values (only what was typed: nothing is defaulted)."""
    return RecordBuilder(form, values).build()


def form_location(built: Built, field_path: str | None) -> str | None:
    """The form field of a service error's ``field`` (``patient.labs[0].date`` -> ``lab.alt.date``)."""
    if not field_path:
        return None
    path = field_path.removeprefix("patient.").removeprefix("patient")
    if path in built.locations:
        return built.locations[path]
    for prefix in (path.rsplit(".", 1)[0], path.split("[", 1)[0]):
        if prefix in built.locations:
            return built.locations[prefix]
    return None


# ---------------------------------------------------------------- imported record -> form values


def form_from_record(form: ScreeningForm, record: Mapping[str, Any]) -> FormValues:
    """The form values of an imported patient record (the latest result of each lab the form asks;
    attestations kept apart as proposals)."""
    values: FormValues = {}
    for key in ("birth_date", "sex", "weight_kg", "ecog", "expected_survival_months", "screening_date"):
        if record.get(key) is not None:
            values[key] = _shown(record[key])
    values["screening_number"] = str(record.get("id") or "")
    consent = record.get("consent") or {}
    if consent.get("signed_date"):
        values["consent_date"] = str(consent["signed_date"])
    for key, value in (record.get("diagnosis") or {}).items():
        if value is not None:
            values[f"diagnosis.{key}"] = value if isinstance(value, list) else str(value)
    _labs_to_form(form, record, values)
    for code, present in (record.get("findings") or {}).items():
        values[f"finding.{code}"] = "present" if present else "absent"
    _pg_sga_to_form(record, values)
    for key in ("prior_therapies", "investigational_drug_exposures", "other_malignancies", "lesions"):
        _group_to_form(key, record.get(key), values)
    if record.get("attestations"):
        values["proposals"] = json.dumps(record["attestations"], default=str)
    return values


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _labs_to_form(form: ScreeningForm, record: Mapping[str, Any], values: FormValues) -> None:
    latest: dict[str, Mapping[str, Any]] = {}
    for lab in record.get("labs") or []:
        test = lab.get("test")
        if test in form.labs and (
            test not in latest or str(lab.get("date")) >= str(latest[test].get("date"))
        ):
            latest[test] = lab
    for test, lab in latest.items():
        for key in ("value", "unit", "date", "uln"):
            if lab.get(key) is not None:
                values[f"lab.{test}.{key}"] = _shown(lab[key])


def _pg_sga_to_form(record: Mapping[str, Any], values: FormValues) -> None:
    score = record.get("pg_sga") or {}
    for key, value in (score.get("components") or {}).items():
        values[f"pg_sga.{key}"] = _shown(value)
    if score.get("total") is not None:
        values["pg_sga.total"] = _shown(score["total"])
    if score.get("date"):
        values["pg_sga.date"] = str(score["date"])


def _group_to_form(key: str, rows: Any, values: FormValues) -> None:
    if rows is None:
        return
    if not rows:
        values[f"{key}.none"] = "yes"
        return
    for index, row in enumerate(rows):
        for column, value in row.items():
            if value is not None:
                values[f"{key}.{index}.{column}"] = _shown(value)
