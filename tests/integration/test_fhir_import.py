"""FHIR R4 Bundle import: the same patient as FHIR and as trialdesk JSON gives the same verdict, and
every bad bundle gives an error naming the entry and element."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trialdesk.adapters import fhir_codes as codes
from trialdesk.adapters.fhir_import import import_bundle
from trialdesk.domain.eligibility.validation import PatientDataError
from trialdesk.domain.protocol.model import Protocol
from trialdesk.protocols import load_registry
from trialdesk.services.screening import screen_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
PAIRS = [
    ("ivo-shfrt-2l", "ivo-shfrt-2l-eligible"),
    ("scr-escc-01", "scr-escc-01-eligible"),
]


@functools.cache
def protocol(protocol_id: str) -> Protocol:
    return load_registry().get(protocol_id)


def load(name: str) -> Any:
    return copy.deepcopy(json.loads((EXAMPLES / name).read_text(encoding="utf-8")))


def statuses(protocol_id: str, data: Any, at: dt.date | None = None) -> tuple[str, dict[str, str]]:
    result = screen_data(protocol(protocol_id), data, at).result
    return result.verdict, {c.id: c.status for c in result.criteria}


def resource(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == rid)


def errors(data: Any, protocol_id: str = "ivo-shfrt-2l", at: dt.date | None = None) -> list[str]:
    with pytest.raises(PatientDataError) as info:
        screen_data(protocol(protocol_id), data, at)
    return [str(i) for i in info.value.issues]


@pytest.mark.parametrize(("protocol_id", "stem"), PAIRS)
def test_fhir_and_json_of_the_same_patient_agree(protocol_id: str, stem: str) -> None:
    fhir = statuses(protocol_id, load(f"{stem}.fhir.json"))
    plain = statuses(protocol_id, load(f"{stem}.json"))
    assert fhir == plain
    assert fhir[0] == "eligible"


def test_imported_record_equals_the_json_record_for_the_same_patient() -> None:
    imported = import_bundle(load("scr-escc-01-eligible.fhir.json")).record
    plain = load("scr-escc-01-eligible.json")
    assert imported.sex == "female"
    assert imported.birth_date == dt.date(1958, 11, 3)
    assert imported.screening_date == dt.date(2026, 4, 15)
    assert imported.weight_kg == 54.0
    assert imported.ecog == 1
    assert imported.prior_therapies == []
    assert imported.pg_sga is not None and imported.pg_sga.components is not None
    assert imported.pg_sga.components.model_dump() == plain["pg_sga"]["components"]
    assert [m.type for m in imported.other_malignancies or []] == ["cervical_carcinoma_in_situ"]
    assert imported.other_malignancies is not None and imported.other_malignancies[0].status == "cured"
    assert imported.findings == plain["findings"]
    assert imported.diagnosis.model_dump() == plain["diagnosis"]
    assert {k: v.answer for k, v in imported.attestations.items()} == {
        k: v["answer"] for k, v in plain["attestations"].items()
    }


Change = Callable[[dict[str, Any]], None]


def json_lab(test: str, **values: Any) -> Change:
    return lambda d: next(x for x in d["labs"] if x["test"] == test).update(values)


def fhir_value(rid: str, **values: Any) -> Change:
    return lambda b: resource(b, rid)["valueQuantity"].update(values)


def json_attest(cid: str, answer: bool) -> Change:
    return lambda d: d["attestations"][cid].update(answer=answer)


def fhir_attest(rid: str, answer: bool) -> Change:
    return lambda b: resource(b, rid)["item"][0]["answer"][0].update(valueBoolean=answer)


def fhir_finding(code: str) -> Change:
    rid = "f-" + code.replace("_", "-")
    return lambda b: resource(b, rid)["verificationStatus"]["coding"][0].update(code="confirmed")


def fhir_drop(rid: str) -> Change:
    return lambda b: b.update(entry=[e for e in b["entry"] if e["resource"].get("id") != rid])


IVO_VARIANTS: list[tuple[str, Change, Change]] = [
    ("hb 89 g/L", json_lab("hemoglobin", value=8.9), fhir_value("hb", value=8.9)),
    ("alt 2.5 x ULN", json_lab("alt", value=100), fhir_value("alt", value=100)),
    ("alt > 2.5 x ULN", json_lab("alt", value=101), fhir_value("alt", value=101)),
    ("ecog 3", lambda d: d.update(ecog=3), lambda b: resource(b, "ecog").update(valueInteger=3)),
    ("airway invasion", json_attest("exc-f-airway-invasion", True), fhir_attest("att-4", True)),
    (
        "fistula",
        lambda d: d["findings"].update(esophagotracheal_fistula=True),
        fhir_finding("esophagotracheal_fistula"),
    ),
    ("trials unknown", lambda d: d.pop("investigational_drug_exposures"), fhir_drop("no-ip")),
    ("no weight", lambda d: d.pop("weight_kg"), fhir_drop("weight")),
    ("attestation missing", lambda d: d["attestations"].pop("exc-g-shfrt-unsuitable"), fhir_drop("att-5")),
    (
        "late progression",
        lambda d: d["prior_therapies"][0].update(progression_date="2026-01-19"),
        lambda b: resource(b, "ccrt")["extension"][3].update(valueDate="2026-01-19"),
    ),
]


@pytest.mark.parametrize(
    ("label", "json_change", "fhir_change"), IVO_VARIANTS, ids=[v[0] for v in IVO_VARIANTS]
)
def test_variants_agree_between_fhir_and_json(label: str, json_change: Change, fhir_change: Change) -> None:
    plain, fhir = load("ivo-shfrt-2l-eligible.json"), load("ivo-shfrt-2l-eligible.fhir.json")
    json_change(plain)
    fhir_change(fhir)
    assert statuses("ivo-shfrt-2l", fhir) == statuses("ivo-shfrt-2l", plain)


def test_every_required_loinc_code_is_mapped() -> None:
    required = {
        "718-7": "hemoglobin",
        "6690-2": "wbc",
        "777-3": "platelets",
        "1751-7": "albumin",
        "1742-6": "alt",
        "1920-8": "ast",
        "1975-2": "total_bilirubin",
        "2160-0": "creatinine",
        "10230-1": "lvef",
    }
    assert {code: codes.LOINC_LABS[code] for code in required} == required
    assert codes.LOINC_ECOG == "89247-1"


def test_uln_in_another_unit_is_converted_to_the_value_unit() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    resource(bundle, "crea")["referenceRange"] = [{"high": {"value": 106.08, "unit": "umol/L"}}]
    record = import_bundle(bundle).record
    creatinine = next(lab for lab in record.labs if lab.test == "creatinine")
    assert creatinine.unit == "mg/dL"
    assert creatinine.uln == pytest.approx(1.2)


def test_screening_date_override_applies_to_bundles() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    del bundle["timestamp"]
    assert errors(bundle) == [
        "Bundle.timestamp: missing: the screening date must be given (timestamp or --at)"
    ]
    assert statuses("ivo-shfrt-2l", bundle, dt.date(2026, 3, 2))[0] == "eligible"
    # a later screening date makes the labs too old: unknown, never assumed normal
    verdict, status = statuses("ivo-shfrt-2l", bundle, dt.date(2026, 6, 1))
    assert verdict == "incomplete"
    assert status["inc-d-hemoglobin"] == "unknown"


def test_dropped_resources_are_not_read() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    resource(bundle, "hb")["status"] = "entered-in-error"
    assert statuses("ivo-shfrt-2l", bundle)[1]["inc-d-hemoglobin"] == "unknown"


# ---------------------------------------------------------------- error paths


def test_not_a_bundle() -> None:
    assert errors({"resourceType": "Patient", "id": "x"}) == [
        "resourceType: a FHIR 'Patient' is not screenable: give a Bundle"
    ]


def test_invalid_fhir_names_the_element() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    resource(bundle, "ivo-scr-001")["birthDate"] = "14/05/1960"
    (issue,) = errors(bundle)
    assert issue.startswith("entry[0].resource.birthDate:")


@pytest.mark.parametrize("count", [0, 2])
def test_exactly_one_patient(count: int) -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    patient = bundle["entry"][0]
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"] + [
        patient
    ] * count
    assert f"Bundle.entry: expected exactly one Patient resource, found {count}" in errors(bundle)


def test_observation_after_screening_date() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    resource(bundle, "alb")["effectiveDateTime"] = "2026-03-05"
    assert errors(bundle) == [
        "entry[4] (Observation/alb).effectiveDateTime: 2026-03-05 is after the screening date 2026-03-02"
    ]


def test_unknown_unit_names_entry_test_and_unit() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    resource(bundle, "crea")["valueQuantity"] = {"value": 1.1, "unit": "mg/L"}
    resource(bundle, "crea")["referenceRange"] = []
    (issue,) = errors(bundle)
    assert issue.startswith("entry[8] (Observation/crea) -> labs[7].unit: unknown unit 'mg/L' for creatinine")


def test_implausible_value_names_entry() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    resource(bundle, "hb")["valueQuantity"]["value"] = 900
    resource(bundle, "hb")["referenceRange"] = []
    assert errors(bundle) == [
        "entry[1] (Observation/hb) -> labs[0].value: "
        "hemoglobin 900 g/dL (9000 g/L) is implausible (plausible 10-250 g/L)"
    ]


def test_lab_without_value() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    del resource(bundle, "plt")["valueQuantity"]
    assert errors(bundle) == [
        "entry[3] (Observation/plt).valueQuantity: missing: a platelets result needs valueQuantity.value"
    ]


def test_lab_without_date() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    del resource(bundle, "plt")["effectiveDateTime"]
    assert errors(bundle) == [
        "entry[3] (Observation/plt).effectiveDateTime: missing: the observation needs its date"
    ]


def test_ecog_must_be_whole_number_and_weight_unit_known() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    ecog = resource(bundle, "ecog")
    del ecog["valueInteger"]
    ecog["valueQuantity"] = {"value": 1.5}
    resource(bundle, "weight")["valueQuantity"] = {"value": 62.5, "unit": "stone"}
    assert errors(bundle) == [
        "entry[10] (Observation/ecog).value[x]: ECOG must be a whole number, got 1.5",
        "entry[11] (Observation/weight).value[x]: "
        "unknown unit 'stone' for body weight (accepted: kg, g, [lb_av], lb)",
    ]


def test_finding_needs_verification_status() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    del resource(bundle, "f-mental-disorder")["verificationStatus"]
    (issue,) = errors(bundle)
    assert (
        "(Condition/f-mental-disorder).verificationStatus: "
        "finding 'mental_disorder' needs confirmed or refuted" in issue
    )


def test_finding_code_outside_vocabulary() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    resource(bundle, "f-mental-disorder")["code"]["coding"][0]["code"] = "mood"
    (issue,) = errors(bundle)
    assert issue.startswith("findings.mood: unknown finding code 'mood'")


def test_attestation_needs_author_and_time() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    del resource(bundle, "att-1")["author"]
    del resource(bundle, "att-2")["authored"]
    assert errors(bundle) == [
        "entry[27] (QuestionnaireResponse/att-1).author: an attestation needs its author (who answered)",
        "entry[28] (QuestionnaireResponse/att-2).authored: an attestation needs the time it was recorded",
    ]


def test_attestation_for_unknown_criterion_names_the_entry() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    resource(bundle, "att-1")["item"][0]["linkId"] = "inc-z-made-up"
    (issue,) = errors(bundle)
    assert issue.startswith(
        "entry[27] (QuestionnaireResponse/att-1) -> attestations.inc-z-made-up: protocol ivo-shfrt-2l has no"
    )


def test_latest_attestation_answer_supersedes_earlier_ones() -> None:
    bundle = load("ivo-shfrt-2l-eligible.fhir.json")
    later = copy.deepcopy(resource(bundle, "att-4"))
    later.update(id="att-4b", authored="2026-03-02T11:00:00+08:00")
    later["item"][0]["answer"][0]["valueBoolean"] = True
    bundle["entry"].insert(5, {"resource": later})  # order in the bundle does not matter
    verdict, status = statuses("ivo-shfrt-2l", bundle)
    assert (verdict, status["exc-f-airway-invasion"]) == ("ineligible", "not_met")
    record = import_bundle(bundle).record
    assert record.attestations["exc-f-airway-invasion"].at.hour == 11


def test_none_statements_must_be_negated() -> None:
    bundle = load("scr-escc-01-eligible.fhir.json")
    resource(bundle, "no-therapy")["status"] = "completed"
    assert errors(bundle, "scr-escc-01") == [
        "entry[22] (Procedure/no-therapy).status: the 'none' therapy statement must have status not-done"
    ]
