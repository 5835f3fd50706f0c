"""Read a FHIR R4 Bundle into the domain :class:`~trialdesk.domain.eligibility.patient.PatientRecord`.

The bundle is parsed with ``fhir.resources`` (R4B models, wire-compatible with R4 for the resources
used here). Mapping (details and examples in ``docs/patient-format.md``):

* ``Patient``: ``gender`` -> sex (male/female; other values leave sex unknown), ``birthDate``.
* ``Bundle.timestamp`` -> screening date (``--at`` overrides).
* ``Observation`` by LOINC: labs (:data:`~trialdesk.adapters.fhir_codes.LOINC_LABS`) with
  ``valueQuantity``, ``effectiveDateTime`` and ``referenceRange.high``/``low`` as ULN/LLN; ECOG
  89247-1; body weight 29463-7; local codes for expected survival, PG-SGA and baseline lesions.
  For ECOG, weight, expected survival and PG-SGA the latest one on or before the screening date is used.
* ``Condition``: the index diagnosis (``urn:trialdesk:histology``), protocol findings
  (``urn:trialdesk:finding``; verificationStatus ``confirmed`` = present, ``refuted`` = absent) and
  other malignancies (``urn:trialdesk:malignancy-type``).
* ``Procedure`` (surgery, radiotherapy, chemoradiotherapy) and ``MedicationStatement`` (systemic
  therapy; investigational products) -> prior therapies / investigational drug exposures.
* ``Consent`` (active) -> informed-consent date.
* ``QuestionnaireResponse`` of the attestation questionnaire: each boolean item is an attestation
  (``linkId`` = criterion id), answered by ``author`` at ``authored``.

Every problem is reported with the bundle entry it comes from (``entry[4] (Observation/hb)``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from trialdesk.adapters import fhir_codes as codes
from trialdesk.domain.eligibility.patient import PatientRecord
from trialdesk.domain.eligibility.validation import PatientDataError, PatientIssue, format_location
from trialdesk.domain.labs.catalogue import LabTest
from trialdesk.domain.labs.units import UnitError, convert

if TYPE_CHECKING:
    pass

SKIPPED_STATUSES = frozenset({"entered-in-error", "cancelled"})


@dataclass(frozen=True)
class ImportedPatient:
    """A patient record read from a bundle, with where each list item came from.

    ``origins`` maps record paths (``labs[2]``, ``prior_therapies[0]``...) to bundle locations, so
    that problems found later (e.g. an implausible value) can name the bundle entry.
    """

    record: PatientRecord
    origins: dict[str, str]

    def locate(self, error: PatientDataError) -> PatientDataError:
        """The same error with each record path prefixed by the bundle entry it comes from."""
        return locate_issues(error, self.origins)


def locate_issues(error: PatientDataError, origins: dict[str, str]) -> PatientDataError:
    """Prefix each issue's record path (``labs[2].value``) with its bundle entry, when known."""

    def locate(issue: PatientIssue) -> PatientIssue:
        for path, origin in origins.items():
            if issue.location == path or issue.location.startswith((path + ".", path + "[")):
                return PatientIssue(f"{origin} -> {issue.location}", issue.message)
        return issue

    return PatientDataError((locate(issue) for issue in error.issues), error.source)


@dataclass
class _Entry:
    index: int
    resource: Any

    @property
    def where(self) -> str:
        rid = getattr(self.resource, "id", None)
        name = self.resource.get_resource_type()
        return f"entry[{self.index}] ({name}/{rid})" if rid else f"entry[{self.index}] ({name})"


@dataclass
class _Reader:
    """Accumulates the patient data dict and every problem found."""

    on: dt.date | None
    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    issues: list[PatientIssue] = field(default_factory=list)
    attested_at: dict[str, dt.datetime] = field(default_factory=dict)

    def problem(self, entry: _Entry, path: str, message: str) -> None:
        self.issues.append(PatientIssue(f"{entry.where}.{path}" if path else entry.where, message))

    def add(self, key: str, item: dict[str, Any], entry: _Entry) -> None:
        items: list[dict[str, Any]] = self.data.setdefault(key, [])
        self.origins[f"{key}[{len(items)}]"] = entry.where
        items.append(item)


def is_fhir_bundle(data: Any) -> bool:
    """Whether parsed JSON is a FHIR Bundle (detected by ``resourceType``)."""
    return isinstance(data, dict) and data.get("resourceType") == "Bundle"


def import_bundle(data: Any, at: dt.date | None = None) -> ImportedPatient:
    """Parse a FHIR R4 Bundle (already-parsed JSON) into a patient record.

    ``at`` is the screening date (else ``Bundle.timestamp``). Raises :class:`PatientDataError`
    naming the entry and element of every problem.
    """
    from fhir.resources.R4B.bundle import Bundle  # the R4B models load only for a FHIR file

    if not is_fhir_bundle(data):
        raise PatientDataError([PatientIssue("resourceType", "expected a FHIR Bundle")])
    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as exc:
        raise PatientDataError(
            PatientIssue(format_location(tuple(err["loc"])), str(err["msg"]).removeprefix("Value error, "))
            for err in exc.errors(include_url=False)
        ) from None
    on = at or _as_date(bundle.timestamp)
    reader = _Reader(on=on)
    entries = [_Entry(i, e.resource) for i, e in enumerate(bundle.entry or []) if e.resource is not None]
    _read_patient(reader, entries)
    if on is None:
        reader.issues.append(
            PatientIssue("Bundle.timestamp", "missing: the screening date must be given (timestamp or --at)")
        )
    else:
        reader.data["screening_date"] = on.isoformat()
    handlers = {
        "Observation": _read_observation,
        "Condition": _read_condition,
        "Procedure": _read_procedure,
        "MedicationStatement": _read_medication,
        "Consent": _read_consent,
        "QuestionnaireResponse": _read_questionnaire,
    }
    for entry in entries:
        handler = handlers.get(entry.resource.get_resource_type())
        if handler is not None and getattr(entry.resource, "status", None) not in SKIPPED_STATUSES:
            handler(reader, entry)
    _finish(reader)
    if reader.issues:
        raise PatientDataError(reader.issues)
    try:
        record = PatientRecord.model_validate(reader.data)
    except ValidationError as exc:
        issues = (
            PatientIssue(format_location(tuple(err["loc"])), str(err["msg"]).removeprefix("Value error, "))
            for err in exc.errors(include_url=False)
        )
        raise locate_issues(PatientDataError(issues), reader.origins) from None
    return ImportedPatient(record, reader.origins)


# ---------------------------------------------------------------- small helpers


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise ValueError(f"not a full date: {value!r}")


def _instant(value: Any) -> dt.datetime:
    """A FHIR date or dateTime as an aware datetime (a bare date is midnight UTC), for ordering."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return float(value)
    raise ValueError(f"not a number: {value!r}")


def _codings(concept: Any) -> Iterator[tuple[str | None, str | None]]:
    for coding in getattr(concept, "coding", None) or []:
        yield coding.system, coding.code


def _code_in(concept: Any, system: str) -> str | None:
    for coding_system, code in _codings(concept):
        if coding_system == system and code:
            return code
    return None


def _codes_in(concepts: Any, system: str) -> list[str]:
    return [code for concept in concepts or [] for s, code in _codings(concept) if s == system and code]


def _extension(resource: Any, url: str) -> Any:
    for ext in getattr(resource, "extension", None) or []:
        if ext.url == url:
            return ext
    return None


def _effective(resource: Any) -> dt.date | None:
    for name in ("effectiveDateTime", "effectiveInstant"):
        value = getattr(resource, name, None)
        if value is not None:
            return _as_date(value)
    period = getattr(resource, "effectivePeriod", None)
    if period is not None:
        return _as_date(period.end or period.start)
    return None


def _quantity_unit(quantity: Any) -> str | None:
    if quantity.system == codes.UCUM and quantity.code:
        return str(quantity.code)
    return str(quantity.unit) if quantity.unit else (str(quantity.code) if quantity.code else None)


# ---------------------------------------------------------------- Patient


def _read_patient(reader: _Reader, entries: list[_Entry]) -> None:
    patients = [e for e in entries if e.resource.get_resource_type() == "Patient"]
    if len(patients) != 1:
        reader.issues.append(
            PatientIssue("Bundle.entry", f"expected exactly one Patient resource, found {len(patients)}")
        )
        return
    entry = patients[0]
    patient = entry.resource
    reader.data["id"] = next((i.value for i in patient.identifier or [] if i.value), None) or patient.id
    if not reader.data["id"]:
        reader.problem(entry, "id", "the Patient needs an id or an identifier value")
    gender = patient.gender
    if gender is not None and gender not in ("male", "female", "other", "unknown"):
        reader.problem(entry, "gender", f"unknown administrative gender {gender!r}")
    reader.data["sex"] = codes.GENDER_TO_SEX.get(gender or "")
    if patient.birthDate is not None:
        reader.data["birth_date"] = _as_date(patient.birthDate).isoformat()  # type: ignore[union-attr]


# ---------------------------------------------------------------- Observation


@dataclass
class _Latest:
    """The most recent dated value of a single-valued observation (ECOG, weight...)."""

    when: dt.date
    value: Any
    where: str


def _keep_latest(reader: _Reader, key: str, entry: _Entry, when: dt.date, value: Any) -> None:
    current: _Latest | None = reader.data.get("_latest", {}).get(key)
    if current is None or when >= current.when:
        reader.data.setdefault("_latest", {})[key] = _Latest(when, value, entry.where)


def _read_observation(reader: _Reader, entry: _Entry) -> None:
    obs = entry.resource
    try:
        when = _effective(obs)
    except ValueError as exc:
        reader.problem(entry, "effectiveDateTime", str(exc))
        return
    loinc = _code_in(obs.code, codes.LOINC)
    local = _code_in(obs.code, codes.TD_OBSERVATION)
    known = loinc in codes.LOINC_LABS or loinc in (codes.LOINC_ECOG, codes.LOINC_BODY_WEIGHT) or local
    if not known:
        return  # an observation the screening does not use
    if when is None:
        reader.problem(entry, "effectiveDateTime", "missing: the observation needs its date")
        return
    if reader.on is not None and when > reader.on:
        reader.problem(entry, "effectiveDateTime", f"{when} is after the screening date {reader.on}")
        return
    if obs.dataAbsentReason is not None:
        return  # explicitly not available: stays unknown
    try:
        _read_observation_value(reader, entry, loinc, local, when)
    except ValueError as exc:
        reader.problem(entry, "value[x]", str(exc))


def _read_observation_value(
    reader: _Reader, entry: _Entry, loinc: str | None, local: str | None, when: dt.date
) -> None:
    obs = entry.resource
    if loinc in codes.LOINC_LABS:
        _read_lab(reader, entry, codes.LOINC_LABS[loinc], when)
    elif loinc == codes.LOINC_ECOG:
        _keep_latest(reader, "ecog", entry, when, _integer_value(obs, "ECOG"))
    elif loinc == codes.LOINC_BODY_WEIGHT:
        _keep_latest(reader, "weight_kg", entry, when, _weight_kg(obs))
    elif local == codes.OBS_EXPECTED_SURVIVAL:
        _keep_latest(reader, "expected_survival_months", entry, when, _months(obs))
    elif local == codes.OBS_PG_SGA:
        _keep_latest(reader, "pg_sga", entry, when, _pg_sga(obs, when))
    elif local == codes.OBS_BASELINE_LESION:
        reader.add("lesions", _lesion(obs), entry)
    else:
        reader.problem(entry, "code", f"unknown {codes.TD_OBSERVATION} code {local!r}")


def _read_lab(reader: _Reader, entry: _Entry, test: LabTest, when: dt.date) -> None:
    obs = entry.resource
    quantity = obs.valueQuantity
    if quantity is None or quantity.value is None:
        reader.problem(entry, "valueQuantity", f"missing: a {test} result needs valueQuantity.value")
        return
    unit = _quantity_unit(quantity)
    if unit is None:
        reader.problem(entry, "valueQuantity.unit", f"missing: the unit of the {test} result")
        return
    lab: dict[str, Any] = {
        "test": test,
        "value": float(quantity.value),
        "unit": unit,
        "date": when.isoformat(),
    }
    for ref in obs.referenceRange or []:
        for bound, key in ((ref.high, "uln"), (ref.low, "lln")):
            if bound is None or bound.value is None or key in lab:
                continue
            bound_unit = _quantity_unit(bound) or unit
            try:
                lab[key] = convert(test, float(bound.value), bound_unit, unit)
            except UnitError as exc:
                reader.problem(entry, f"referenceRange.{'high' if key == 'uln' else 'low'}.unit", str(exc))
    reader.add("labs", lab, entry)


def _integer_value(obs: Any, what: str) -> int:
    if obs.valueInteger is not None:
        return int(obs.valueInteger)
    if obs.valueQuantity is not None and obs.valueQuantity.value is not None:
        value = _number(obs.valueQuantity.value)
        if value is not None and value == int(value):
            return int(value)
        raise ValueError(f"{what} must be a whole number, got {value}")
    raise ValueError(f"{what} needs valueInteger or valueQuantity")


def _weight_kg(obs: Any) -> float:
    quantity = obs.valueQuantity
    if quantity is None or quantity.value is None:
        raise ValueError("body weight needs valueQuantity")
    unit = _quantity_unit(quantity) or ""
    factor = codes.WEIGHT_UNITS_TO_KG.get(unit)
    if factor is None:
        raise ValueError(
            f"unknown unit '{unit}' for body weight (accepted: {', '.join(codes.WEIGHT_UNITS_TO_KG)})"
        )
    return float(quantity.value) * factor


def _months(obs: Any) -> float:
    if obs.valueInteger is not None:
        return float(obs.valueInteger)
    quantity = obs.valueQuantity
    if quantity is None or quantity.value is None:
        raise ValueError("expected survival needs valueQuantity (months) or valueInteger")
    unit = _quantity_unit(quantity)
    if unit not in (None, "mo", "month", "months"):
        raise ValueError(f"unknown unit '{unit}' for expected survival (accepted: mo)")
    return float(quantity.value)


def _component_values(obs: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for component in obs.component or []:
        code = _code_in(component.code, codes.TD_OBSERVATION)
        if code is None:
            continue
        for name in ("valueInteger", "valueBoolean", "valueString"):
            if getattr(component, name, None) is not None:
                values[code] = getattr(component, name)
        if component.valueQuantity is not None:
            values[code] = _number(component.valueQuantity.value)
        if component.valueCodeableConcept is not None:
            values[code] = component.valueCodeableConcept.text or next(
                (c for _, c in _codings(component.valueCodeableConcept) if c), None
            )
    return values


def _pg_sga(obs: Any, when: dt.date) -> dict[str, Any]:
    components = {k: v for k, v in _component_values(obs).items() if k in codes.PG_SGA_COMPONENTS}
    result: dict[str, Any] = {"date": when.isoformat()}
    if components:
        result["components"] = components
    if obs.valueInteger is not None:
        result["total"] = int(obs.valueInteger)
    return result


def _lesion(obs: Any) -> dict[str, Any]:
    values = _component_values(obs)
    site = obs.bodySite.text if obs.bodySite is not None else None
    lesion: dict[str, Any] = {
        "id": obs.id or (obs.identifier[0].value if obs.identifier else None),
        "site": site,
        "nodal": values.get("nodal"),
        "diameter_mm": values.get("diameter"),
    }
    optional = {"regional-node": "regional_node", "station": "station", "method": "method"}
    optional["slice-thickness"] = "slice_thickness_mm"
    for code, key in optional.items():
        if code in values:
            lesion[key] = values[code]
    return lesion


# ---------------------------------------------------------------- Condition


def _verification(condition: Any) -> str | None:
    return _code_in(condition.verificationStatus, codes.CONDITION_VERIFICATION)


def _read_condition(reader: _Reader, entry: _Entry) -> None:
    condition = entry.resource
    status = _verification(condition)
    if status == "entered-in-error":
        return
    if (code := _code_in(condition.code, codes.TD_FINDING)) is not None:
        _read_finding(reader, entry, code, status)
    elif (code := _code_in(condition.code, codes.TD_MALIGNANCY)) is not None:
        _read_malignancy(reader, entry, code, status)
    elif (code := _code_in(condition.code, codes.TD_HISTOLOGY)) is not None and status != "refuted":
        _read_diagnosis(reader, entry, code)


def _read_finding(reader: _Reader, entry: _Entry, code: str, status: str | None) -> None:
    if status not in ("confirmed", "refuted"):
        if status is None:
            reader.problem(entry, "verificationStatus", f"finding '{code}' needs confirmed or refuted")
        return  # unconfirmed / provisional / differential: stays unknown
    present = status == "confirmed"
    findings: dict[str, bool] = reader.data.setdefault("findings", {})
    if findings.get(code, present) != present:
        reader.problem(entry, "verificationStatus", f"finding '{code}' is recorded both present and absent")
    findings[code] = present


def _read_malignancy(reader: _Reader, entry: _Entry, code: str, status: str | None) -> None:
    condition = entry.resource
    if code == codes.NONE_RECORDED:
        if status == "refuted":
            reader.data.setdefault("other_malignancies", [])
        else:
            reader.problem(entry, "verificationStatus", "the 'none' malignancy statement must be refuted")
        return
    if status == "refuted":
        return
    synchronous = _extension(condition, codes.EXT_SYNCHRONOUS)
    clinical = _code_in(condition.clinicalStatus, codes.CONDITION_CLINICAL)
    item: dict[str, Any] = {
        "type": code,
        "status": codes.CLINICAL_STATUS_TO_MALIGNANCY.get(clinical or ""),
        "synchronous": bool(synchronous.valueBoolean) if synchronous is not None else False,
    }
    try:
        onset = _as_date(condition.onsetDateTime)
    except ValueError as exc:
        reader.problem(entry, "onsetDateTime", str(exc))
        return
    if onset is not None:
        item["diagnosis_date"] = onset.isoformat()
    reader.add("other_malignancies", item, entry)


def _read_diagnosis(reader: _Reader, entry: _Entry, histology: str) -> None:
    condition = entry.resource
    if "diagnosis" in reader.data:
        reader.problem(entry, "code", "a second index diagnosis (only one histology Condition is allowed)")
        return
    diagnosis: dict[str, Any] = {"histology": histology}
    confirmations = _codes_in(
        [c for ev in condition.evidence or [] for c in ev.code or []], codes.TD_CONFIRMATION
    )
    if confirmations:
        diagnosis["confirmation"] = confirmations[0]
    summaries = [stage.summary for stage in condition.stage or [] if stage.summary is not None]
    for system, key in ((codes.TD_STAGE, "stage"), (codes.TD_M_STAGE, "m_stage")):
        found = _codes_in(summaries, system)
        if found:
            diagnosis[key] = found[0]
    settings = _codes_in(condition.category, codes.TD_SETTING)
    if settings:
        diagnosis["setting"] = settings
    reader.data["diagnosis"] = diagnosis
    reader.origins["diagnosis"] = entry.where


# ---------------------------------------------------------------- Procedure, MedicationStatement


def _therapy(reader: _Reader, entry: _Entry, modality: str, start: Any, end: Any) -> None:
    resource = entry.resource
    item: dict[str, Any] = {"modality": modality}
    for url, key in (
        (codes.EXT_THERAPY_LINE, "line"),
        (codes.EXT_THERAPY_INTENT, "intent"),
        (codes.EXT_THERAPY_OUTCOME, "outcome"),
        (codes.EXT_PROGRESSION_DATE, "progression_date"),
        (codes.EXT_FOR_ESOPHAGEAL_CANCER, "for_esophageal_cancer"),
    ):
        ext = _extension(resource, url)
        if ext is None:
            continue
        value = next(
            (
                getattr(ext, n)
                for n in ("valueInteger", "valueCode", "valueDate", "valueBoolean")
                if getattr(ext, n, None) is not None
            ),
            None,
        )
        item[key] = value.isoformat() if isinstance(value, dt.date) else value
    try:
        for key, value in (("start_date", start), ("end_date", end)):
            if (day := _as_date(value)) is not None:
                item[key] = day.isoformat()
    except ValueError as exc:
        reader.problem(entry, "period", str(exc))
        return
    if item.get("outcome") is None and getattr(resource, "status", None) in ("in-progress", "active"):
        item["outcome"] = "ongoing"
    reader.add("prior_therapies", item, entry)


def _read_procedure(reader: _Reader, entry: _Entry) -> None:
    procedure = entry.resource
    modality = _code_in(procedure.code, codes.TD_THERAPY)
    if modality is None:
        return
    if modality == codes.NONE_RECORDED or procedure.status == "not-done":
        if modality == codes.NONE_RECORDED and procedure.status == "not-done":
            reader.data.setdefault("prior_therapies", [])
        elif modality == codes.NONE_RECORDED:
            reader.problem(entry, "status", "the 'none' therapy statement must have status not-done")
        return
    period = procedure.performedPeriod
    start = period.start if period is not None else procedure.performedDateTime
    end = period.end if period is not None else procedure.performedDateTime
    _therapy(reader, entry, modality, start, end)


def _read_medication(reader: _Reader, entry: _Entry) -> None:
    statement = entry.resource
    categories = [statement.category] if statement.category is not None else []
    period = statement.effectivePeriod
    start = period.start if period is not None else statement.effectiveDateTime
    end = period.end if period is not None else statement.effectiveDateTime
    if codes.INVESTIGATIONAL_PRODUCT in _codes_in(categories, codes.TD_MEDICATION_CATEGORY):
        if statement.status == "not-taken":
            reader.data.setdefault("investigational_drug_exposures", [])
            return
        last = _as_date(end or start)
        if last is None:
            reader.problem(
                entry, "effectivePeriod", "an investigational drug exposure needs its last dose date"
            )
            return
        reader.add("investigational_drug_exposures", {"last_dose_date": last.isoformat()}, entry)
        return
    modalities = _codes_in(categories, codes.TD_THERAPY)
    if not modalities:
        return  # a concomitant medication, not an anti-tumour therapy
    if modalities[0] == codes.NONE_RECORDED:
        if statement.status == "not-taken":
            reader.data.setdefault("prior_therapies", [])
        else:
            reader.problem(entry, "status", "the 'none' therapy statement must have status not-taken")
        return
    if statement.status != "not-taken":
        _therapy(reader, entry, modalities[0], start, end)


# ---------------------------------------------------------------- Consent, QuestionnaireResponse


def _read_consent(reader: _Reader, entry: _Entry) -> None:
    consent = entry.resource
    if consent.status != "active":
        return
    signed = _as_date(consent.dateTime)
    if signed is None:
        reader.problem(entry, "dateTime", "missing: the date consent was signed")
        return
    current = reader.data.get("consent")
    if current is None or signed.isoformat() > current["signed_date"]:
        reader.data["consent"] = {"signed_date": signed.isoformat()}


def _items(items: Any) -> Iterator[Any]:
    for item in items or []:
        yield item
        yield from _items(item.item)


def _read_questionnaire(reader: _Reader, entry: _Entry) -> None:
    response = entry.resource
    if response.questionnaire != codes.ATTESTATION_QUESTIONNAIRE or response.status not in (
        "completed",
        "amended",
    ):
        return
    author = response.author
    by = (author.display or author.reference) if author is not None else None
    if not by:
        reader.problem(entry, "author", "an attestation needs its author (who answered)")
    if response.authored is None:
        reader.problem(entry, "authored", "an attestation needs the time it was recorded")
    if not by or response.authored is None:
        return
    role_ext = _extension(response, codes.EXT_ATTESTATION_ROLE)
    attestations: dict[str, Any] = reader.data.setdefault("attestations", {})
    for item in _items(response.item):
        answers = [a for a in item.answer or [] if a.valueBoolean is not None]
        if not item.answer:
            continue
        if len(answers) != 1:
            reader.problem(
                entry, f"item[{item.linkId}]", "an attestation item needs exactly one valueBoolean answer"
            )
            continue
        when = _instant(response.authored)
        previous = reader.attested_at.get(item.linkId)
        if previous is not None and previous > when:
            continue  # a later response to the same question supersedes this one
        reader.attested_at[item.linkId] = when
        attestations[item.linkId] = {
            "answer": answers[0].valueBoolean,
            "by": by,
            "at": response.authored.isoformat(),
            "role": role_ext.valueString if role_ext is not None else None,
        }
        reader.origins[f"attestations.{item.linkId}"] = entry.where


def _finish(reader: _Reader) -> None:
    """Move the latest single-valued observations into the record."""
    for key, latest in reader.data.pop("_latest", {}).items():
        reader.data[key] = latest.value
        reader.origins[key] = latest.where
