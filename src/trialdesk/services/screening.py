"""Use case: screen a patient file against a protocol's eligibility criteria.

``load -> detect format (trialdesk patient JSON or FHIR R4 Bundle, by ``resourceType``) -> parse ->
evaluate``. The CLI (``trialdesk screen``) and the API call these functions; the rules themselves
live in :mod:`trialdesk.domain.eligibility`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from trialdesk.adapters.fhir_import import import_bundle, is_fhir_bundle
from trialdesk.domain.eligibility.evaluator import EligibilityResult, evaluate
from trialdesk.domain.eligibility.patient import PatientRecord
from trialdesk.domain.eligibility.validation import PatientDataError, PatientIssue, parse_patient
from trialdesk.domain.protocol.model import Protocol

InputFormat = Literal["trialdesk-json", "fhir-r4-bundle"]

SCHEMA_ID = "urn:trialdesk:schema:patient"


@dataclass(frozen=True)
class Screening:
    """A screening result with the patient record it was computed from and the input format."""

    result: EligibilityResult
    patient: PatientRecord
    input_format: InputFormat


def read_json_file(path: Path | str) -> Any:
    """Read a JSON file; unreadable files and JSON syntax errors are :class:`PatientDataError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PatientDataError([PatientIssue("", f"cannot read the file: {exc}")], str(path)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise PatientDataError([PatientIssue(where, f"not valid JSON: {exc.msg}")], str(path)) from None


def detect_format(data: Any) -> InputFormat:
    """``fhir-r4-bundle`` when ``resourceType`` is ``Bundle``; else trialdesk patient JSON.

    Any other FHIR resource type is an error (screening needs a Bundle of the patient's resources).
    """
    if is_fhir_bundle(data):
        return "fhir-r4-bundle"
    if isinstance(data, dict) and "resourceType" in data:
        raise PatientDataError(
            [
                PatientIssue(
                    "resourceType", f"a FHIR {data['resourceType']!r} is not screenable: give a Bundle"
                )
            ]
        )
    return "trialdesk-json"


def screen_data(protocol: Protocol, data: Any, at: dt.date | None = None) -> Screening:
    """Screen already-parsed patient data (either format) against ``protocol`` on date ``at``."""
    input_format = detect_format(data)
    if input_format == "fhir-r4-bundle":
        imported = import_bundle(data, at)
        try:
            result = evaluate(protocol, imported.record, at)
        except PatientDataError as exc:
            raise imported.locate(exc) from None
        return Screening(result, imported.record, input_format)
    patient = parse_patient(data)
    return Screening(evaluate(protocol, patient, at), patient, input_format)


def screen_file(protocol: Protocol, path: Path | str, at: dt.date | None = None) -> Screening:
    """Screen the patient in the JSON file ``path``; errors name the file and the field."""
    data = read_json_file(path)
    try:
        return screen_data(protocol, data, at)
    except PatientDataError as exc:
        raise PatientDataError(exc.issues, str(path)) from None


def result_to_json(result: EligibilityResult) -> dict[str, Any]:
    """The documented JSON form of a screening result (``trialdesk screen --json``)."""
    return {
        "protocol": result.protocol_id,
        "protocol_version": result.protocol_version,
        "patient": result.patient_id,
        "screening_date": result.screening_date.isoformat(),
        "verdict": result.verdict,
        "criteria": [
            {
                "id": c.id,
                "source": c.source,
                "kind": c.kind,
                "status": c.status,
                "evidence": c.evidence,
                "missing": list(c.missing),
            }
            for c in result.criteria
        ],
    }


def patient_json_schema() -> dict[str, Any]:
    """The JSON Schema of the trialdesk patient format, generated from :class:`PatientRecord`."""
    schema = PatientRecord.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "trialdesk patient record",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def patient_schema_path() -> Path:
    """Where the committed schema lives in the package (``trialdesk/schemas/patient.schema.json``)."""
    return Path(__file__).resolve().parents[1] / "schemas" / "patient.schema.json"


def render_patient_schema() -> str:
    """The schema file's exact text (2-space indent, trailing newline)."""
    return json.dumps(patient_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_patient_schema(path: Path | None = None) -> Path:
    """Regenerate the committed schema file (run after changing the patient model)."""
    target = path or patient_schema_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_patient_schema(), encoding="utf-8")
    return target


if __name__ == "__main__":  # pragma: no cover - `python -m trialdesk.services.screening` rewrites the schema
    print(write_patient_schema())
