"""Bad patient data: every error names the field, nothing is guessed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.unit.eligibility.conftest import lab, screen
from trialdesk.domain.eligibility.validation import PatientDataError, parse_patient
from trialdesk.domain.protocol.model import Protocol


def errors_of(protocol: Protocol, data: Any, at: dt.date | None = None) -> list[str]:
    with pytest.raises(PatientDataError) as info:
        screen(protocol, data, at)
    return [str(issue) for issue in info.value.issues]


def test_not_an_object() -> None:
    with pytest.raises(PatientDataError, match="must hold a JSON object"):
        parse_patient([1, 2])


@pytest.mark.parametrize(
    ("change", "location", "text"),
    [
        (lambda d: d.update(ecog=6), "ecog", "less than or equal to 5"),
        (lambda d: d.update(sex="m"), "sex", "'female' or 'male'"),
        (lambda d: d.update(birth_date="1960-13-01"), "birth_date", "date"),
        (lambda d: d.update(weight_kg=-60), "weight_kg", "greater than 0"),
        (lambda d: d.update(favourite_colour="blue"), "favourite_colour", "unknown key"),
        (lambda d: d["labs"][2].update(test="ldh"), "labs[2].test", "'hemoglobin'"),
        (lambda d: d["labs"][2].pop("date"), "labs[2].date", "Field required"),
        (lambda d: d["labs"][4].update(uln=0), "labs[4].uln", "greater than 0"),
        (
            lambda d: d["prior_therapies"][0].update(end_date="2025-05-01"),
            "prior_therapies[0]",
            "before start_date",
        ),
        (
            lambda d: d["prior_therapies"][0].update(modality="homeopathy"),
            "prior_therapies[0].modality",
            "surgery",
        ),
        (lambda d: d.update(diagnosis={"confirmation": "hearsay"}), "diagnosis.confirmation", "histology"),
        (
            lambda d: d.update(attestations={"inc-g-compliance": {"answer": True}}),
            "attestations.inc-g-compliance.by",
            "Field required",
        ),
    ],
)
def test_structural_errors_name_the_field(
    ivo: Protocol, ivo_patient: dict[str, Any], change: Any, location: str, text: str
) -> None:
    change(ivo_patient)
    issues = errors_of(ivo, ivo_patient)
    assert any(i.startswith(location + ":") and text in i for i in issues), issues


def test_pg_sga_needs_exactly_one_form(scr: Protocol, scr_patient: dict[str, Any]) -> None:
    scr_patient["pg_sga"]["total"] = 8
    assert errors_of(scr, scr_patient) == ["pg_sga: give exactly one of 'total' or 'components'"]
    scr_patient["pg_sga"] = {"date": "2026-04-01"}
    assert errors_of(scr, scr_patient) == ["pg_sga: give exactly one of 'total' or 'components'"]
    scr_patient["pg_sga"] = {"total": 56}
    assert errors_of(scr, scr_patient)[0].startswith("pg_sga.total:")


def test_pg_sga_component_out_of_range(scr: Protocol, scr_patient: dict[str, Any]) -> None:
    scr_patient["pg_sga"]["components"]["worksheet4"] = 5
    assert errors_of(scr, scr_patient)[0].startswith(
        "pg_sga.components.worksheet4: Input should be less than or equal to 3"
    )


def test_negative_count(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    lab(ivo_patient, "platelets")["value"] = -5
    assert errors_of(ivo, ivo_patient) == ["labs[2].value: platelets -5 10^9/L is negative"]


def test_implausible_hemoglobin_900_g_per_dl(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    lab(ivo_patient, "hemoglobin").update(value=900, uln=None, lln=None)
    assert errors_of(ivo, ivo_patient) == [
        "labs[0].value: hemoglobin 900 g/dL (9000 g/L) is implausible (plausible 10-250 g/L)"
    ]


def test_unknown_unit_names_test_and_unit(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    lab(ivo_patient, "creatinine")["unit"] = "mg/L"
    (issue,) = errors_of(ivo, ivo_patient)
    assert issue.startswith("labs[7].unit: unknown unit 'mg/L' for creatinine (accepted: mg/dL, umol/L")


def test_lln_must_be_below_uln(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    lab(ivo_patient, "hemoglobin").update(lln=18, uln=17.5)
    assert errors_of(ivo, ivo_patient) == ["labs[0].lln: lln 18.0 is not below uln 17.5"]


def test_future_birth_date(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    ivo_patient["birth_date"] = "2026-03-03"
    assert errors_of(ivo, ivo_patient) == [
        "birth_date: birth date 2026-03-03 is after the screening date 2026-03-02"
    ]


def test_implausible_age(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    ivo_patient["birth_date"] = "1860-05-14"
    assert errors_of(ivo, ivo_patient) == [
        "birth_date: birth date 1860-05-14 gives an implausible age of 165 years"
    ]


def test_lab_dated_after_screening(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    lab(ivo_patient, "albumin")["date"] = "2026-03-05"
    assert errors_of(ivo, ivo_patient) == [
        "labs[3].date: albumin result dated 2026-03-05 is after the screening date 2026-03-02"
    ]


def test_screening_date_override_makes_later_data_an_error(
    ivo: Protocol, ivo_patient: dict[str, Any]
) -> None:
    issues = errors_of(ivo, ivo_patient, at=dt.date(2026, 2, 21))
    assert "labs[0].date: hemoglobin result dated 2026-02-24 is after the screening date 2026-02-21" in issues
    assert not any(i.startswith("attestations.") for i in issues)  # attestations complete screening later


def test_attestation_dated_in_the_future_is_an_error(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    ivo_patient["attestations"]["inc-g-compliance"]["at"] = "2999-01-01T09:00:00+00:00"
    assert errors_of(ivo, ivo_patient) == [
        "attestations.inc-g-compliance.at: attested at 2999-01-01T09:00:00+00:00, which is in the future"
    ]


@pytest.mark.parametrize(
    ("path", "value", "location"),
    [
        (("prior_therapies", 0, "progression_date"), "2026-04-01", "prior_therapies[0].progression_date"),
        (
            ("investigational_drug_exposures",),
            [{"last_dose_date": "2026-03-10"}],
            "investigational_drug_exposures[0].last_dose_date",
        ),
    ],
)
def test_history_dated_after_screening(
    ivo: Protocol, ivo_patient: dict[str, Any], path: tuple[Any, ...], value: Any, location: str
) -> None:
    node: Any = ivo_patient
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    (issue,) = errors_of(ivo, ivo_patient)
    assert issue.startswith(location + ": 2026-")


def test_other_dates_after_screening(scr: Protocol, scr_patient: dict[str, Any]) -> None:
    scr_patient["pg_sga"]["date"] = "2026-04-16"
    scr_patient["other_malignancies"][0]["diagnosis_date"] = "2026-05-01"
    assert errors_of(scr, scr_patient) == [
        "other_malignancies[0].diagnosis_date: 2026-05-01 is after the screening date 2026-04-15",
        "pg_sga.date: 2026-04-16 is after the screening date 2026-04-15",
    ]


def test_missing_screening_date(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    del ivo_patient["screening_date"]
    assert errors_of(ivo, ivo_patient) == [
        "screening_date: missing: give it in the patient file or as --at DATE"
    ]
    assert screen(ivo, ivo_patient, dt.date(2026, 3, 2)).verdict == "eligible"


def test_finding_code_not_in_protocol_vocabulary(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    ivo_patient["findings"]["pleural_metastasis"] = False  # a seed-002 code
    (issue,) = errors_of(ivo, ivo_patient)
    assert issue.startswith(
        "findings.pleural_metastasis: unknown finding code 'pleural_metastasis' for protocol ivo-shfrt-2l"
    )


def test_malignancy_type_not_in_vocabulary(scr: Protocol, scr_patient: dict[str, Any]) -> None:
    scr_patient["other_malignancies"][0]["type"] = "melanoma"
    (issue,) = errors_of(scr, scr_patient)
    assert issue.startswith("other_malignancies[0].type: unknown malignancy type 'melanoma'")


@pytest.mark.parametrize("criterion_id", ["inc-9-nonexistent", "inc-1-age"])
def test_attestation_for_unknown_or_non_attestation_criterion(
    scr: Protocol, scr_patient: dict[str, Any], criterion_id: str
) -> None:
    scr_patient["attestations"][criterion_id] = {"answer": True, "by": "Dr. X", "at": "2026-04-15T08:00:00"}
    (issue,) = errors_of(scr, scr_patient)
    assert issue.startswith(f"attestations.{criterion_id}: protocol scr-escc-01 has no attestation criterion")


def test_all_problems_are_reported_together(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    ivo_patient["birth_date"] = "2030-01-01"
    lab(ivo_patient, "wbc")["value"] = -1
    ivo_patient["findings"]["made_up"] = True
    with pytest.raises(PatientDataError) as info:
        screen(ivo, ivo_patient)
    assert len(info.value.issues) == 3
    assert "invalid patient data (3 problems)" in str(info.value)
