"""Read a registry extract for pre-screening into the frames of :mod:`trialdesk.domain.eligibility.columnar`.

Two sources (``docs/prescreen.md`` documents both):

* a **FHIR Bulk Data export folder** (``*.ndjson``, one resource per line: Patient, Observation,
  Condition, Procedure, MedicationStatement, MedicationAdministration; each line is dispatched by its
  ``resourceType``, so ``Observation.000.ndjson`` and ``Observation.001.ndjson`` both work). The
  codes are those of the single-patient FHIR import (:mod:`trialdesk.adapters.fhir_codes`);
* a **columnar extract**: a folder with ``patients``, ``observations``, ``findings``, ``therapies`` and
  ``exposures`` tables, each as ``NAME.parquet`` or ``NAME.csv`` (layout in :data:`EXTRACT_COLUMNS`).

Both are turned into the same raw tables and checked by one validator: a malformed line or value
raises :class:`BulkDataError` naming the file, the line (the CSV line, the Parquet row, the NDJSON
line) and the field. Units are not converted here for labs (the domain engine converts with the
domain's unit table); a weight or expected survival in a unit not known is kept as a null value
(unknown), never coerced. Nothing is written anywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, get_args

import polars as pl

from trialdesk.adapters import fhir_codes as codes
from trialdesk.domain.eligibility.columnar import OBSERVATION_CODE, OBSERVATION_CODES, SCHEMAS, Registry
from trialdesk.domain.eligibility.patient import (
    Diagnosis,
    InvestigationalDrugExposure,
    PatientRecord,
    PriorTherapy,
)
from trialdesk.domain.eligibility.rules import TherapyModality
from trialdesk.domain.labs.catalogue import LAB_TESTS, LabTest
from trialdesk.domain.labs.result import LabResult
from trialdesk.domain.labs.units import UnitError, convert, to_canonical

Progress = Callable[[int], None]
"""Called with the number of bytes (NDJSON) or tables (extract) read since the last call."""

PROGRESS_BYTES: Final = 1 << 20
"""Bytes read between two progress reports (not one report per line)."""
TABLES: Final = ("patients", "observations", "findings", "therapies", "exposures")
MODALITIES: Final = frozenset((*get_args(TherapyModality), codes.NONE_RECORDED))
SURVIVAL_UNITS: Final = frozenset({"mo", "month", "months"})

EXTRACT_COLUMNS: Final[dict[str, dict[str, Any]]] = {
    "patients": {
        "patient_id": pl.Utf8,
        "sex": pl.Utf8,
        "birth_date": pl.Date,
        "histology": pl.Utf8,
        "confirmation": pl.Utf8,
        "stage": pl.Utf8,
        "m_stage": pl.Utf8,
        "setting": pl.Utf8,
    },
    "observations": {
        "patient_id": pl.Utf8,
        "code": pl.Utf8,
        "value": pl.Float64,
        "unit": pl.Utf8,
        "uln": pl.Float64,
        "date": pl.Date,
    },
    "findings": {"patient_id": pl.Utf8, "code": pl.Utf8, "present": pl.Boolean},
    "therapies": {
        "patient_id": pl.Utf8,
        "modality": pl.Utf8,
        "for_esophageal_cancer": pl.Boolean,
        "start_date": pl.Date,
        "end_date": pl.Date,
    },
    "exposures": {"patient_id": pl.Utf8, "last_dose_date": pl.Date},
}
"""The columnar extract: table -> column -> dtype (``setting``: ``;``-separated disease settings).
Every column must be present (values may be empty); a CSV has a header line; dates are YYYY-MM-DD."""


class BulkDataError(ValueError):
    """A malformed registry file: names the file, the line (or row) and the field."""

    def __init__(self, file: str, line: int | None, field_name: str, message: str) -> None:
        self.file, self.line, self.field_name = file, line, field_name
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {field_name}: {message}")


# ---------------------------------------------------------------- entry point


def read_source(source: Path, progress: Progress | None = None) -> Registry:
    """Read a FHIR Bulk Data export folder or a columnar extract folder (detected by its files)."""
    if not source.is_dir():
        raise BulkDataError(str(source), None, "SOURCE", "not a folder (a bulk export or an extract folder)")
    if any(source.glob("*.ndjson")):
        return read_bulk_fhir(source, progress)
    if any((source / f"patients.{ext}").exists() for ext in ("parquet", "csv")):
        return read_extract(source, progress)
    raise BulkDataError(str(source), None, "SOURCE", "holds neither *.ndjson files nor patients.parquet/csv")


def source_size(source: Path) -> int:
    """Bytes the progress callback will report for ``source`` (NDJSON) or its number of tables."""
    files = sorted(source.glob("*.ndjson"))
    return sum(f.stat().st_size for f in files) if files else len(TABLES)


# ---------------------------------------------------------------- columnar extract


def read_extract(folder: Path, progress: Progress | None = None) -> Registry:
    """Read the five tables of a columnar extract (Parquet or CSV per table)."""
    raw: dict[str, pl.DataFrame] = {}
    for table in TABLES:
        raw[table] = _read_table(folder, table)
        if progress is not None:
            progress(1)
    return build_registry(raw)


def _read_table(folder: Path, table: str) -> pl.DataFrame:
    columns = EXTRACT_COLUMNS[table]
    parquet, csv = folder / f"{table}.parquet", folder / f"{table}.csv"
    if parquet.exists():
        frame, first_line, path = pl.read_parquet(parquet), 1, parquet
    elif csv.exists():
        try:
            frame = pl.read_csv(csv, infer_schema=False)
        except pl.exceptions.ComputeError as exc:
            raise BulkDataError(csv.name, None, "(file)", f"not a readable CSV file: {exc}") from None
        first_line, path = 2, csv
    else:
        raise BulkDataError(f"{table}.parquet/.csv", None, "(file)", "missing from the extract folder")
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise BulkDataError(path.name, None, ", ".join(absent), "column missing")
    frame = frame.select(list(columns)).with_columns(
        pl.lit(path.name).alias("_file"),
        (pl.int_range(pl.len(), dtype=pl.UInt32) + first_line).alias("_line"),
    )
    return _cast(frame, columns)


def _cast(frame: pl.DataFrame, columns: dict[str, Any]) -> pl.DataFrame:
    """Cast each column to its dtype; a value that does not cast is an error naming file and line."""
    casts = []
    for name, dtype in columns.items():
        col = pl.col(name)
        if frame.schema[name] == dtype:
            casts.append(col)
        elif frame.schema[name] == pl.Utf8 and dtype == pl.Date:
            casts.append(col.str.strip_chars().str.to_date("%Y-%m-%d", strict=False))
        elif frame.schema[name] == pl.Utf8 and dtype == pl.Boolean:
            text = col.str.strip_chars().str.to_lowercase()
            casts.append(pl.when(text == "true").then(True).when(text == "false").then(False).alias(name))
        elif frame.schema[name] == pl.Utf8:
            casts.append(col.str.strip_chars().cast(dtype, strict=False))
        else:
            casts.append(col.cast(dtype, strict=False))
    cast = frame.with_columns(casts)
    for name, dtype in columns.items():
        original = frame[name]
        if original.dtype == pl.Utf8:
            original = original.str.strip_chars().replace("", None)
        bad = original.is_not_null() & cast[name].is_null()
        if bad.any():
            row = cast.filter(bad).row(0, named=True)
            shown = original.filter(bad)[0]
            raise BulkDataError(row["_file"], row["_line"], name, f"{shown!r} is not a valid {dtype}")
    return cast


# ---------------------------------------------------------------- validation and the registry


def _fail_where(
    frame: pl.DataFrame, bad: pl.Expr, field_name: str, message: Callable[[dict[str, Any]], str]
) -> None:
    hits = frame.filter(bad.fill_null(False))
    if hits.height:
        row = hits.row(0, named=True)
        raise BulkDataError(row["_file"], row["_line"], field_name, message(row))


def build_registry(raw: dict[str, pl.DataFrame]) -> Registry:
    """Validate the raw tables (:data:`EXTRACT_COLUMNS` plus ``_file``/``_line``) into a registry."""
    patients = raw["patients"]
    _fail_where(patients, pl.col("patient_id").is_null(), "patient_id", lambda r: "missing")
    _fail_where(
        patients,
        pl.col("patient_id").is_duplicated(),
        "patient_id",
        lambda r: f"{r['patient_id']!r} listed twice",
    )
    _fail_where(
        patients,
        pl.col("sex").is_not_null() & ~pl.col("sex").is_in(["male", "female"]),
        "sex",
        lambda r: f"{r['sex']!r} is not male or female (leave it empty when unknown)",
    )
    ids = patients.select("patient_id", pl.int_range(pl.len(), dtype=pl.UInt32).alias("pid"))
    tables = {name: _with_pid(raw[name], ids) for name in TABLES[1:]}
    observations = _observations(tables["observations"])
    findings = _findings(tables["findings"])
    therapies = tables["therapies"]
    _fail_where(
        therapies,
        ~pl.col("modality").is_in(sorted(MODALITIES)),
        "modality",
        lambda r: f"{r['modality']!r} is not one of {', '.join(sorted(MODALITIES))}",
    )
    _fail_where(
        therapies, pl.col("end_date") < pl.col("start_date"), "end_date", lambda r: "before start_date"
    )
    setting = (
        pl.col("setting")
        .str.split(";")
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
    )
    registry_patients = patients.with_columns(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("pid"), setting.alias("setting")
    )
    return Registry(
        patients=registry_patients.select(list(SCHEMAS["patients"])),
        observations=observations.select(list(SCHEMAS["observations"])).with_columns(
            pl.col("code").cast(OBSERVATION_CODE)
        ),
        findings=findings.select(list(SCHEMAS["findings"])),
        therapies=therapies.select(list(SCHEMAS["therapies"])),
        exposures=tables["exposures"].select(list(SCHEMAS["exposures"])),
    )


def _with_pid(frame: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    joined = frame.join(ids, on="patient_id", how="left", maintain_order="left")
    _fail_where(
        joined,
        pl.col("pid").is_null(),
        "patient_id",
        lambda r: f"{r['patient_id']!r} is not a patient of the extract",
    )
    return joined


def _observations(obs: pl.DataFrame) -> pl.DataFrame:
    code, value, unit = pl.col("code"), pl.col("value"), pl.col("unit")
    _fail_where(obs, ~code.is_in(sorted(OBSERVATION_CODES)), "code", lambda r: f"unknown code {r['code']!r}")
    _fail_where(obs, pl.col("date").is_null(), "date", lambda r: "missing: an observation needs its date")
    is_lab = code.is_in(LAB_TESTS)
    _fail_where(obs, is_lab & value.is_null(), "value", lambda r: f"missing: the {r['code']} result")
    _fail_where(
        obs, is_lab & unit.is_null(), "unit", lambda r: f"missing: the unit of the {r['code']} result"
    )
    _fail_where(
        obs, value.is_nan() | value.is_infinite(), "value", lambda r: f"{r['value']} is not a finite number"
    )
    _fail_where(obs, value < 0, "value", lambda r: f"{r['value']} is negative")
    _fail_where(obs, pl.col("uln") <= 0, "uln", lambda r: f"{r['uln']} must be positive")
    ecog = code == "ecog"
    _fail_where(
        obs,
        ecog & ((value != value.round(0)) | (value > 5)),
        "value",
        lambda r: f"ECOG must be a whole number 0-5, got {r['value']}",
    )
    weight_factor = unit.replace_strict(codes.WEIGHT_UNITS_TO_KG, default=None, return_dtype=pl.Float64)
    survival_ok = unit.is_null() | unit.is_in(sorted(SURVIVAL_UNITS))
    normalised = (
        pl.when(code == "weight_kg")
        .then(value * weight_factor)
        .when(code == "expected_survival_months")
        .then(pl.when(survival_ok).then(value))
        .otherwise(value)
    )
    obs = obs.with_columns(normalised.alias("value"), pl.int_range(pl.len(), dtype=pl.UInt32).alias("seq"))
    _fail_where(
        obs,
        (code == "weight_kg") & ((value <= 0) | (value > 400)),
        "value",
        lambda r: f"body weight {r['value']} kg is outside 0-400 kg",
    )
    _fail_where(
        obs,
        (code == "expected_survival_months") & (value > 600),
        "value",
        lambda r: f"expected survival {r['value']} months is above 600",
    )
    return obs


def _findings(findings: pl.DataFrame) -> pl.DataFrame:
    _fail_where(findings, pl.col("code").is_null(), "code", lambda r: "missing")
    _fail_where(findings, pl.col("present").is_null(), "present", lambda r: "missing: true or false")
    conflict = pl.col("present").n_unique().over("pid", "code") > 1
    _fail_where(
        findings, conflict, "present", lambda r: f"finding {r['code']!r} is recorded both present and absent"
    )
    return findings.unique(subset=["pid", "code"], keep="first", maintain_order=True)


# ---------------------------------------------------------------- FHIR Bulk Data (NDJSON)


@dataclass
class _Rows:
    """Raw rows per table, each with its file and line."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {t: [] for t in TABLES})
    diagnoses: dict[str, tuple[tuple[str, int], dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, where: tuple[str, int], **values: Any) -> dict[str, Any]:
        row = {**dict.fromkeys(EXTRACT_COLUMNS[table]), **values, "_file": where[0], "_line": where[1]}
        self.tables[table].append(row)
        return row


def read_bulk_fhir(folder: Path, progress: Progress | None = None) -> Registry:
    """Read every ``*.ndjson`` file of a FHIR Bulk Data export folder."""
    rows = _Rows()
    handlers: dict[str, Callable[[_Rows, dict[str, Any], tuple[str, int]], None]] = {
        "Patient": _patient,
        "Observation": _observation,
        "Condition": _condition,
        "Procedure": _procedure,
        "MedicationStatement": _medication,
        "MedicationAdministration": _medication,
    }
    for path in sorted(folder.glob("*.ndjson")):
        with path.open("rb") as handle:
            unreported = 0
            for number, raw in enumerate(handle, start=1):
                unreported += len(raw)
                if progress is not None and unreported >= PROGRESS_BYTES:
                    progress(unreported)
                    unreported = 0
                if not raw.strip():
                    continue
                where = (path.name, number)
                try:
                    resource = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise BulkDataError(path.name, number, "(line)", f"not valid JSON: {exc}") from None
                if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                    raise BulkDataError(
                        path.name, number, "resourceType", "missing: each line is one FHIR resource"
                    )
                handler = handlers.get(resource["resourceType"])
                if handler is not None and resource.get("status") not in ("entered-in-error", "cancelled"):
                    try:
                        handler(rows, resource, where)
                    except _Malformed as exc:
                        raise BulkDataError(path.name, number, exc.field_name, exc.message) from None
            if progress is not None and unreported:
                progress(unreported)
    _merge_diagnoses(rows)
    raw_tables = {
        name: pl.DataFrame(
            rows.tables[name],
            schema={**EXTRACT_COLUMNS[name], "_file": pl.Utf8, "_line": pl.UInt32},
            orient="row",
        )
        if rows.tables[name]
        else pl.DataFrame(schema={**EXTRACT_COLUMNS[name], "_file": pl.Utf8, "_line": pl.UInt32})
        for name in TABLES
    }
    return build_registry(raw_tables)


def _merge_diagnoses(rows: _Rows) -> None:
    """Put each patient's index diagnosis (histology Condition) on the patient's row."""
    for patient in rows.tables["patients"]:
        found = rows.diagnoses.pop(patient["patient_id"], None)
        if found is not None:
            patient.update(found[1])
    for patient_id, ((file, line), _) in rows.diagnoses.items():
        raise BulkDataError(file, line, "subject.reference", f"Patient/{patient_id} is not in the export")


class _Malformed(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name, self.message = field_name, message


def _date(value: Any, field_name: str, *, partial_is_unknown: bool = False) -> dt.date | None:
    """A FHIR date or dateTime as a date; a partial date (year, year-month) is unknown or malformed."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Malformed(field_name, f"{value!r} is not a date")
    if len(value) < 10:
        if partial_is_unknown and len(value) in (4, 7):
            return None
        raise _Malformed(field_name, f"{value!r} is not a full date")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise _Malformed(field_name, f"{value!r} is not a date") from None


def _subject(resource: dict[str, Any], element: str = "subject") -> str:
    reference = (resource.get(element) or {}).get("reference")
    if not isinstance(reference, str) or not reference.startswith("Patient/"):
        raise _Malformed(f"{element}.reference", "missing or not a Patient/ID reference")
    return reference.removeprefix("Patient/")


def _codings(concepts: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
    for concept in concepts:
        for coding in (concept or {}).get("coding") or []:
            yield coding.get("system"), coding.get("code")


def _code(concept: Any, system: str) -> str | None:
    return next((c for s, c in _codings([concept]) if s == system and c), None)


def _codes(concepts: Any, system: str) -> list[str]:
    return [c for s, c in _codings(concepts or []) if s == system and c]


def _extension(resource: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in resource.get("extension") or [] if e.get("url") == url), None)


def _patient(rows: _Rows, resource: dict[str, Any], where: tuple[str, int]) -> None:
    patient_id = resource.get("id")
    if not isinstance(patient_id, str) or not patient_id:
        raise _Malformed("id", "missing: a Patient needs its id (the subject of the other resources)")
    gender = resource.get("gender")
    if gender is not None and gender not in ("male", "female", "other", "unknown"):
        raise _Malformed("gender", f"unknown administrative gender {gender!r}")
    birth = _date(resource.get("birthDate"), "birthDate", partial_is_unknown=True)
    rows.add(
        "patients", where, patient_id=patient_id, sex=codes.GENDER_TO_SEX.get(gender or ""), birth_date=birth
    )


def _number(value: Any, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Malformed(field_name, f"{value!r} is not a number")
    return float(value)


def _quantity(resource: dict[str, Any], key: str = "valueQuantity") -> tuple[float, str | None]:
    quantity = resource.get(key)
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        raise _Malformed(f"{key}.value", "missing")
    unit = quantity.get("code") if quantity.get("system") == codes.UCUM else None
    return _number(quantity["value"], f"{key}.value"), unit or quantity.get("unit") or quantity.get("code")


def _observation(rows: _Rows, resource: dict[str, Any], where: tuple[str, int]) -> None:
    loinc = _code(resource.get("code"), codes.LOINC)
    local = _code(resource.get("code"), codes.TD_OBSERVATION)
    code: str
    if loinc in codes.LOINC_LABS:
        code = codes.LOINC_LABS[loinc]
    elif loinc == codes.LOINC_ECOG:
        code = "ecog"
    elif loinc == codes.LOINC_BODY_WEIGHT:
        code = "weight_kg"
    elif local == codes.OBS_EXPECTED_SURVIVAL:
        code = "expected_survival_months"
    else:
        return  # an observation pre-screening does not use
    if resource.get("dataAbsentReason") is not None:
        return
    patient_id = _subject(resource)
    effective = resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("end")
    when = _date(effective, "effectiveDateTime")
    if when is None:
        raise _Malformed("effectiveDateTime", "missing: the observation needs its date")
    if "valueInteger" in resource:
        value, unit = _number(resource["valueInteger"], "valueInteger"), None
    else:
        value, unit = _quantity(resource)
    uln = None
    for ref in resource.get("referenceRange") or []:
        high = ref.get("high")
        if isinstance(high, dict) and high.get("value") is not None:
            uln = _upper_limit(code, ref, unit)
            break
    rows.add(
        "observations", where, patient_id=patient_id, code=code, value=value, unit=unit, uln=uln, date=when
    )


def _upper_limit(code: str, ref: dict[str, Any], unit: str | None) -> float | None:
    """``referenceRange.high`` in the unit of the value (converted with the domain's unit table as
    the single-patient import does); ``None`` when the value's own unit is not known (the result is
    unusable anyway); a high limit in a unit not known for the test is malformed."""
    high_value, high_unit = _quantity(ref, "high")
    if high_unit is None or high_unit == unit or code not in LAB_TESTS:
        return high_value
    test: LabTest = code
    try:
        to_canonical(test, 1.0, unit or "")
    except UnitError:
        return None
    try:
        return convert(test, high_value, high_unit, unit or "")
    except UnitError as exc:
        raise _Malformed("referenceRange.high.unit", str(exc)) from None


def _condition(rows: _Rows, resource: dict[str, Any], where: tuple[str, int]) -> None:
    status = _code(resource.get("verificationStatus"), codes.CONDITION_VERIFICATION)
    if status == "entered-in-error":
        return
    finding = _code(resource.get("code"), codes.TD_FINDING)
    histology = _code(resource.get("code"), codes.TD_HISTOLOGY)
    if finding is not None:
        if status in ("confirmed", "refuted"):
            rows.add(
                "findings", where, patient_id=_subject(resource), code=finding, present=status == "confirmed"
            )
        elif status is None:
            raise _Malformed("verificationStatus", f"finding '{finding}' needs confirmed or refuted")
    elif histology is not None and status != "refuted":
        _diagnosis(rows, resource, where, histology)


def _diagnosis(rows: _Rows, resource: dict[str, Any], where: tuple[str, int], histology: str) -> None:
    patient_id = _subject(resource)
    if patient_id in rows.diagnoses:
        raise _Malformed(
            "code", f"a second index diagnosis for patient {patient_id!r} (one histology Condition)"
        )
    evidence = [c for ev in resource.get("evidence") or [] for c in ev.get("code") or []]
    summaries = [stage.get("summary") for stage in resource.get("stage") or []]
    settings = _codes(resource.get("category"), codes.TD_SETTING)
    diagnosis = {
        "histology": histology,
        "confirmation": next(iter(_codes(evidence, codes.TD_CONFIRMATION)), None),
        "stage": next(iter(_codes(summaries, codes.TD_STAGE)), None),
        "m_stage": next(iter(_codes(summaries, codes.TD_M_STAGE)), None),
        "setting": ";".join(settings) if settings else None,
    }
    rows.diagnoses[patient_id] = (where, diagnosis)


def _therapy_row(
    rows: _Rows, resource: dict[str, Any], where: tuple[str, int], modality: str, start: Any, end: Any
) -> None:
    ext = _extension(resource, codes.EXT_FOR_ESOPHAGEAL_CANCER)
    rows.add(
        "therapies",
        where,
        patient_id=_subject(resource),
        modality=modality,
        for_esophageal_cancer=ext.get("valueBoolean") if ext is not None else None,
        start_date=_date(start, "period.start"),
        end_date=_date(end, "period.end"),
    )


def _procedure(rows: _Rows, resource: dict[str, Any], where: tuple[str, int]) -> None:
    modality = _code(resource.get("code"), codes.TD_THERAPY)
    if modality is None:
        return
    status = resource.get("status")
    if modality == codes.NONE_RECORDED:
        if status != "not-done":
            raise _Malformed("status", "the 'none' therapy statement must have status not-done")
        rows.add("therapies", where, patient_id=_subject(resource), modality=codes.NONE_RECORDED)
        return
    if status == "not-done":
        return
    period = resource.get("performedPeriod") or {}
    performed = resource.get("performedDateTime")
    _therapy_row(
        rows, resource, where, modality, period.get("start", performed), period.get("end", performed)
    )


def _medication(rows: _Rows, resource: dict[str, Any], where: tuple[str, int]) -> None:
    category = resource.get("category")
    categories = category if isinstance(category, list) else [category] if category else []
    not_taken = resource.get("status") in ("not-taken", "not-done")
    period = resource.get("effectivePeriod") or {}
    start = period.get("start", resource.get("effectiveDateTime"))
    end = period.get("end", resource.get("effectiveDateTime"))
    if codes.INVESTIGATIONAL_PRODUCT in _codes(categories, codes.TD_MEDICATION_CATEGORY):
        patient_id = _subject(resource)
        if not_taken:
            rows.add("exposures", where, patient_id=patient_id)
            return
        last = _date(end or start, "effectivePeriod")
        if last is None:
            raise _Malformed("effectivePeriod", "an investigational drug exposure needs its last dose date")
        rows.add("exposures", where, patient_id=patient_id, last_dose_date=last)
        return
    modalities = _codes(categories, codes.TD_THERAPY)
    if not modalities:
        return  # a concomitant medication
    if modalities[0] == codes.NONE_RECORDED:
        if not not_taken:
            raise _Malformed("status", "the 'none' therapy statement must have status not-taken")
        rows.add("therapies", where, patient_id=_subject(resource), modality=codes.NONE_RECORDED)
    elif not not_taken:
        _therapy_row(rows, resource, where, modalities[0], start, end)


# ---------------------------------------------------------------- per-patient records (reference path)


def patient_records(
    registry: Registry, on: dt.date, pids: Iterable[int] | None = None
) -> Iterator[PatientRecord]:
    """The registry's patients as :class:`PatientRecord` for the per-patient evaluator, as the columnar
    engine sees them on ``on``: data dated after ``on`` left out, a birth date after ``on`` not used,
    ECOG / weight / expected survival the latest value on or before ``on`` (same day: the later row).

    For the agreement test and the benchmark's per-patient side; one Python object per patient.
    """
    chosen = None if pids is None else pl.Series("pid", list(pids), dtype=pl.UInt32)

    def rows_of(frame: pl.DataFrame) -> dict[int, list[dict[str, Any]]]:
        if chosen is not None:
            frame = frame.filter(pl.col("pid").is_in(chosen.implode()))
        grouped: dict[int, list[dict[str, Any]]] = {}
        for row in frame.iter_rows(named=True):
            grouped.setdefault(row["pid"], []).append(row)
        return grouped

    obs = rows_of(registry.observations.filter(pl.col("date") <= on).sort("seq"))
    findings = rows_of(registry.findings)
    start = pl.col("start_date")
    therapies = rows_of(registry.therapies.filter(start.is_null() | (start <= on)))
    dose = pl.col("last_dose_date")
    exposures = rows_of(registry.exposures.filter(dose.is_null() | (dose <= on)))
    patients = (
        registry.patients
        if chosen is None
        else registry.patients.filter(pl.col("pid").is_in(chosen.implode()))
    )
    for p in patients.iter_rows(named=True):
        pid = p["pid"]
        scalars: dict[str, Any] = {}
        labs = []
        for o in obs.get(pid, []):
            if o["code"] in LAB_TESTS:
                labs.append(
                    LabResult(test=o["code"], value=o["value"], unit=o["unit"], date=o["date"], uln=o["uln"])
                )
            elif o["code"] not in scalars or o["date"] >= scalars[o["code"]][0]:
                scalars[o["code"]] = (o["date"], o["value"])
        therapy_rows = therapies.get(pid)
        exposure_rows = exposures.get(pid)
        ecog = scalars.get("ecog", (None, None))[1]
        yield PatientRecord(
            id=p["patient_id"],
            sex=p["sex"],
            birth_date=p["birth_date"] if p["birth_date"] is not None and p["birth_date"] <= on else None,
            screening_date=on,
            weight_kg=scalars.get("weight_kg", (None, None))[1],
            diagnosis=Diagnosis(
                histology=p["histology"],
                confirmation=p["confirmation"],
                stage=p["stage"],
                m_stage=p["m_stage"],
                setting=p["setting"],
            ),
            ecog=int(ecog) if ecog is not None else None,
            expected_survival_months=scalars.get("expected_survival_months", (None, None))[1],
            labs=labs,
            prior_therapies=None
            if therapy_rows is None
            else [
                PriorTherapy(
                    modality=t["modality"],
                    start_date=t["start_date"],
                    end_date=t["end_date"],
                    for_esophageal_cancer=t["for_esophageal_cancer"],
                )
                for t in therapy_rows
                if t["modality"] != codes.NONE_RECORDED
            ],
            investigational_drug_exposures=None
            if exposure_rows is None
            else [
                InvestigationalDrugExposure(last_dose_date=e["last_dose_date"])
                for e in exposure_rows
                if e["last_dose_date"] is not None
            ],
            findings={f["code"]: f["present"] for f in findings.get(pid, [])},
        )
