"""`trialdesk prescreen PROTOCOL SOURCE [--json] [--out FILE] [--as-of DATE]` on small bulk exports
written by the tests: funnel counted by hand, candidates, unknown units, a patient without
observations, malformed lines named by file, line and field, --out with mode 0600, and agreement with
the single-patient FHIR Bundle import (an independent reader built on fhir.resources)."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from trialdesk.adapters.bulk_fhir import BulkDataError, read_source
from trialdesk.adapters.fhir_import import import_bundle
from trialdesk.domain.eligibility.columnar import STATUS_NAMES, evaluate_registry, is_computable
from trialdesk.domain.eligibility.evaluator import evaluate
from trialdesk.entrypoints.cli.main import app
from trialdesk.protocols import load_registry

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
AS_OF = "2026-06-01"
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"


def prescreen(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["prescreen", *args], terminal_width=220)
    return result.exit_code, result.stdout, result.stderr


def write_ndjson(
    folder: Path, resources: list[dict[str, Any]], extra_lines: dict[str, list[str]] | None = None
) -> Path:
    """A FHIR Bulk Data export: one NDJSON file per resource type (plus raw lines appended)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[str]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(json.dumps(resource))
    for name, lines in (extra_lines or {}).items():
        by_type.setdefault(name, []).extend(lines)
    for name, lines in by_type.items():
        (folder / f"{name}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def patient(pid: str, gender: str | None, birth: str | None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": pid}
    if gender:
        resource["gender"] = gender
    if birth:
        resource["birthDate"] = birth
    return resource


def lab(
    pid: str, loinc: str, value: Any, unit: str, date: str = "2026-05-20", high: float | None = None
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": date,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if high is not None:
        resource["referenceRange"] = [{"high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}]
    return resource


def ecog(pid: str, value: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "89247-1"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2026-05-25",
        "valueInteger": value,
    }


def finding(pid: str, code: str, present: bool) -> dict[str, Any]:
    status = "confirmed" if present else "refuted"
    return {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "urn:trialdesk:finding", "code": code}]},
        "verificationStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": status}
            ]
        },
        "subject": {"reference": f"Patient/{pid}"},
    }


def diagnosis(pid: str, histology: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "urn:trialdesk:histology", "code": histology}]},
        "verificationStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
            ]
        },
        "evidence": [
            {"code": [{"coding": [{"system": "urn:trialdesk:diagnosis-confirmation", "code": "histology"}]}]}
        ],
        "stage": [
            {"summary": {"coding": [{"system": "urn:trialdesk:stage", "code": "IVB"}]}},
            {"summary": {"coding": [{"system": "urn:trialdesk:m-stage", "code": "M1"}]}},
        ],
        "subject": {"reference": f"Patient/{pid}"},
    }


def population(folder: Path, extra_lines: dict[str, list[str]] | None = None) -> Path:
    """Six patients for scr-escc-01 whose funnel can be counted by hand (see the test)."""
    resources = [
        patient("A", "male", "2009-01-01"),  # 17 on 2026-06-01: excluded by inc-1-age
        diagnosis("A", "adenocarcinoma"),  # ... and not squamous (not counted again)
        patient("B", "male", "1950-03-01"),
        diagnosis("B", "adenocarcinoma"),  # excluded by inc-2-histology (and exc-1: not met, not counted)
        patient("C", "female", "1960-02-29"),
        diagnosis("C", "escc"),
        ecog("C", 2),  # excluded by inc-3-ecog
        patient("D", "female", "1970-07-01"),
        finding("D", "pregnant", True),  # excluded by exc-11-pregnancy
        patient("E", None, None),  # nothing recorded: a candidate with everything pending
        patient("F", "male", "1955-05-05"),
        diagnosis("F", "escc"),
        ecog("F", 1),
        lab("F", "718-7", 12.5, "G/L"),  # an unknown unit (UCUM is case-sensitive): not used here anyway
        finding("F", "pregnant", True),  # a male patient: the pregnancy exclusion does not apply
    ]
    return write_ndjson(folder, resources, extra_lines)


def test_funnel_counted_by_hand(tmp_path: Path) -> None:
    code, out, err = prescreen("scr-escc-01", str(population(tmp_path / "bulk")), "--json", "--as-of", AS_OF)
    assert code == 0, err
    data = json.loads(out)
    assert data["patients"] == 6
    steps = {s["criterion_id"]: s for s in data["funnel"]}
    protocol = load_registry().get("scr-escc-01")
    assert [s["criterion_id"] for s in data["funnel"]] == [c.id for c in protocol.eligibility.criteria]
    excluded = {cid: s["excluded"] for cid, s in steps.items() if s["excluded"]}
    assert excluded == {"inc-1-age": 1, "inc-2-histology": 1, "inc-3-ecog": 1, "exc-11-pregnancy": 1}
    assert steps["inc-2-histology"]["not_met"] == 2  # A and B
    assert steps["exc-1-non-squamous"]["not_met"] == 2 and steps["exc-1-non-squamous"]["excluded"] == 0
    assert steps["exc-11-pregnancy"]["remaining"] == 2
    assert steps["inc-1-age"]["unknown"] == 1  # E
    assert steps["inc-5-organ-function"]["needs_attestation"] == 6
    listed = {c["patient_id"]: c for c in data["candidate_list"]}
    assert set(listed) == {"E", "F"} and data["candidates"] == 2
    assert "inc-1-age" in listed["E"]["pending_data"] and "inc-1-age" not in listed["F"]["pending_data"]
    assert listed["F"]["pending_attestation"].split(";") == [
        "inc-5-organ-function",
        "exc-2-curable-by-surgery",
        "exc-5-bleeding-fistula-risk",
    ]


def test_unknown_unit_is_unknown_and_a_patient_without_observations_is_a_candidate(tmp_path: Path) -> None:
    resources = [
        patient("U", "male", "1960-01-01"),
        lab("U", "718-7", 12.5, "G/L"),  # Hb in 'G/L' (not UCUM g/L): unknown, not 12.5 g/L
        lab("U", "718-7", 130, "g/L", date="2026-05-01"),  # an older usable result does not replace it
        lab("U", "6690-2", 4.0, "10*9/L"),
        patient("N", "female", "1970-01-01"),  # no observations at all
        patient("L", "male", "1960-01-01"),
        lab("L", "718-7", 8.0, "g/dL"),  # 80 g/L < 90: excluded by inc-d-hemoglobin
    ]
    folder = write_ndjson(tmp_path / "bulk", resources)
    out_file = tmp_path / "candidates.parquet"
    code, out, err = prescreen(
        "ivo-shfrt-2l", str(folder), "--json", "--as-of", AS_OF, "--out", str(out_file)
    )
    assert code == 0, err
    data = json.loads(out)
    steps = {s["criterion_id"]: s for s in data["funnel"]}
    assert steps["inc-d-hemoglobin"]["excluded"] == 1 and steps["inc-d-hemoglobin"]["unknown"] == 2
    assert steps["inc-d-wbc"]["unknown"] == 2  # N and L; U's 4.0 10*9/L is met
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    written = pl.read_parquet(out_file)
    assert sorted(written["patient_id"].to_list()) == ["N", "U"]
    pending = dict(zip(written["patient_id"], written["pending_data"], strict=True))
    assert "inc-d-hemoglobin" in pending["U"] and "inc-d-wbc" not in pending["U"]
    assert data["candidates_file"] == str(out_file)


def test_rich_output_lists_funnel_and_candidates(tmp_path: Path) -> None:
    code, out, err = prescreen("scr-escc-01", str(population(tmp_path / "bulk")), "--as-of", AS_OF)
    assert code == 0, err
    out = " ".join(out.split())
    assert "inc-1-age" in out and "exc-12-other-malignancy *" in out and "checked at screening" in out
    assert "2 candidates of 6 patients" in out


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({"Observation": ["{not json"]}, "Observation.ndjson, line 4: (line): not valid JSON"),
        (
            {"Observation": [json.dumps({**ecog("F", 1), "valueInteger": "one"})]},
            "Observation.ndjson, line 4: valueInteger: 'one' is not a number",
        ),
        (
            {"Observation": [json.dumps({**ecog("F", 1), "subject": {"reference": "Group/1"}})]},
            "Observation.ndjson, line 4: subject.reference",
        ),
        (
            {"Observation": [json.dumps({**ecog("F", 7)})]},
            "Observation.ndjson, line 4: value: ECOG must be a whole number 0-5, got 7.0",
        ),
        (
            {"Observation": [json.dumps(ecog("Z", 1))]},
            "Observation.ndjson, line 4: patient_id: 'Z' is not a patient of the extract",
        ),
    ],
)
def test_a_malformed_line_names_file_line_and_field(
    tmp_path: Path, extra: dict[str, list[str]], where: str
) -> None:
    code, _, err = prescreen("scr-escc-01", str(population(tmp_path / "bulk", extra)), "--as-of", AS_OF)
    assert code == 2
    assert where in " ".join(err.split()), err


def test_csv_extract_and_its_errors(tmp_path: Path) -> None:
    folder = tmp_path / "extract"
    folder.mkdir()
    (folder / "patients.csv").write_text(
        "patient_id,sex,birth_date,histology,confirmation,stage,m_stage,setting\n"
        "P1,male,1950-01-01,escc,histology,IVB,M1,metastatic\nP2,,,,,,,\n"
    )
    (folder / "observations.csv").write_text(
        "patient_id,code,value,unit,uln,date\nP1,ecog,1,,,2026-05-30\nP1,hemoglobin,95,g/L,,2026-05-30\n"
    )
    (folder / "findings.csv").write_text("patient_id,code,present\nP1,pregnant,false\n")
    (folder / "therapies.csv").write_text(
        "patient_id,modality,for_esophageal_cancer,start_date,end_date\nP1,none,,,\n"
    )
    pl.DataFrame(
        {"patient_id": ["P1"], "last_dose_date": [None]},
        schema={"patient_id": pl.Utf8, "last_dose_date": pl.Date},
    ).write_parquet(folder / "exposures.parquet")
    code, out, err = prescreen("scr-escc-01", str(folder), "--json", "--as-of", AS_OF)
    assert code == 0, err
    data = json.loads(out)
    assert data["patients"] == 2 and data["candidates"] == 2
    (folder / "observations.csv").write_text(
        "patient_id,code,value,unit,uln,date\nP1,ecog,1,,,2026-05-30\nP1,ecog,1,,,2026-13-01\n"
    )
    code, _, err = prescreen("scr-escc-01", str(folder), "--as-of", AS_OF)
    assert code == 2
    assert "observations.csv, line 3: date: '2026-13-01' is not a valid Date" in " ".join(err.split())


# ---- a second, independent reader: the single-patient FHIR Bundle import (fhir.resources)


def bundle_as_bulk_export(bundle: dict[str, Any], folder: Path) -> Path:
    return write_ndjson(folder, [entry["resource"] for entry in bundle["entry"]])


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.fhir.json")))
def test_bulk_export_of_an_example_bundle_agrees_with_the_bundle_import(tmp_path: Path, name: str) -> None:
    bundle = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    protocol = load_registry().get(name.split("-eligible")[0])
    on = dt.datetime.fromisoformat(bundle["timestamp"]).date()
    expected = {c.id: c.status for c in evaluate(protocol, import_bundle(bundle).record, on).criteria}
    registry = read_source(bundle_as_bulk_export(bundle, tmp_path / "bulk"))
    row = evaluate_registry(protocol, registry, on).row(0, named=True)
    compared = 0
    for criterion in protocol.eligibility.criteria:
        if not is_computable(criterion.rule) or criterion.rule.type in ("attestation", "consent"):
            continue  # attestations and consent come after pre-screening; the bundle holds them
        assert STATUS_NAMES[row[criterion.id]] == expected[criterion.id], criterion.id
        compared += 1
    assert compared >= 15


def test_source_that_is_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(BulkDataError, match="not a folder"):
        read_source(tmp_path / "missing")
    code, _, err = prescreen("scr-escc-01", str(tmp_path), "--as-of", AS_OF)
    assert code == 2 and "neither" in err


def test_out_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = population(tmp_path / "bulk")
    code, _, err = prescreen(
        "scr-escc-01", str(folder), "--as-of", AS_OF, "--out", str(tmp_path / "no" / "c.csv")
    )
    assert code == 2 and "--out: cannot write" in err
    code, _, err = prescreen("scr-escc-01", str(folder), "--out", str(tmp_path / "c.xlsx"))
    assert code == 2 and "use a .csv or .parquet file name" in err
