"""Validation of an entered form record: type, unit (UCUM factors), range, code list, conditional
display and required fields, each error naming the field.

Unit factors are those of the UCUM specification (https://ucum.org/ucum, ucum-essence.xml):
1 [lb_av] = 7000 [gr] x 64.79891 mg = 453.59237 g; 1 [in_i] = 2.54 cm; 1 mm[Hg] = 133.3220 Pa.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from trialdesk.domain.forms import Entry, FormDefinition, FormRecordInvalid, shown_fields, validate_record
from trialdesk.domain.forms.units import UnitError, convert, display_unit
from trialdesk.domain.protocol.model import Protocol

TODAY = dt.date(2026, 3, 1)


def _demographics(**changes: Any) -> dict[str, Entry]:
    values: dict[str, Any] = {
        "sex": "female",
        "birth_date": "1958-07-14",
        "ethnicity": "han",
        "height": 162.0,
        "weight": 55.5,
        "ecog": 1,
        "smoking": "never",
        "alcohol": "current",
        "drinks_per_week": 3,
        "tumour_location": "middle",
        "histology": "escc",
        "diagnosis_date": "2025-06-02",
        "disease_setting": "metastatic",
        "m_category": "M1",
        "pdl1_known": True,
        "pdl1_cps": 10,
    }
    values.update(changes)
    return {k: v if isinstance(v, Entry) else Entry(v) for k, v in values.items()}


def _issues(form: FormDefinition, entries: dict[str, Entry], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(FormRecordInvalid) as info:
        validate_record(form, entries, TODAY, **kwargs)
    assert info.value.field == info.value.issues[0].field
    return {issue.field: issue.message for issue in info.value.issues}


def test_a_complete_record_validates_with_typed_values(ivo_shfrt: Protocol) -> None:
    values = validate_record(ivo_shfrt.form("demographics"), _demographics(), TODAY)
    assert values["birth_date"].value == dt.date(1958, 7, 14)
    assert values["ecog"].value == 1 and isinstance(values["ecog"].value, int)
    assert values["height"].value == 162.0 and values["height"].unit == "cm"
    assert "smoking" in values and "pack_years" not in values


def test_ucum_conversion_to_the_field_unit(ivo_shfrt: Protocol) -> None:
    form = ivo_shfrt.form("demographics")
    values = validate_record(
        form, _demographics(weight=Entry(150, "[lb_av]"), height=Entry(64, "[in_i]")), TODAY
    )
    assert values["weight"].value == pytest.approx(68.0388555)  # 150 x 0.45359237 kg
    assert values["weight"].unit == "kg"
    assert values["height"].value == pytest.approx(162.56)  # 64 x 2.54 cm
    assert convert(120, "mm[Hg]", "kPa") == pytest.approx(15.99864)  # 120 x 133.322 Pa
    assert convert(1, "a", "d") == 365.25 and convert(1, "mo", "d") == pytest.approx(30.4375)
    with pytest.raises(UnitError, match=r"'\[degF\]' is not a known UCUM unit"):
        convert(98.6, "[degF]", "Cel")


REFUSALS: list[tuple[dict[str, Any], str, str]] = [
    ({"weight": Entry(55, "cm")}, "weight", "'cm' (length) cannot be converted into 'kg' (mass)"),
    ({"weight": Entry(55, "stone")}, "weight", "'stone' is not a known UCUM unit"),
    ({"ecog": Entry(1, "kg")}, "ecog", "has no unit, got 'kg'"),
    ({"weight": 400}, "weight", "outside the plausible range 25-250 kg"),
    ({"weight": Entry(900, "[lb_av]")}, "weight", "outside the plausible range"),
    ({"ecog": 1.5}, "ecog", "whole number"),
    ({"ecog": "1"}, "ecog", "whole number"),
    ({"ecog": True}, "ecog", "whole number"),
    ({"height": "tall"}, "height", "must be a number"),
    ({"sex": "unknown"}, "sex", "not in the code list (female, male)"),
    ({"birth_date": "14/07/1958"}, "birth_date", "YYYY-MM-DD"),
    ({"diagnosis_date": "2026-05-01"}, "diagnosis_date", "in the future"),
    ({"birth_date": "1850-01-01"}, "birth_date", "before 1900"),
    ({"pdl1_known": "yes"}, "pdl1_known", "true or false"),
    ({"shoe_size": 42}, "shoe_size", "not a field of form 'demographics'"),
    ({"pack_years": 20}, "pack_years", "hidden (shown only if smoking in ('former', 'current'))"),
    ({"pdl1_known": False}, "pdl1_cps", "hidden"),
    ({"ethnicity": "other"}, "ethnicity_other", "required"),
    ({"birth_date": None}, "age_years", "required"),
    ({"histology": None}, "histology", "required"),
]


@pytest.mark.parametrize(("changes", "field", "words"), REFUSALS)
def test_refusals_name_the_field_and_the_reason(
    ivo_shfrt: Protocol, changes: dict[str, Any], field: str, words: str
) -> None:
    issues = _issues(ivo_shfrt.form("demographics"), _demographics(**changes))
    assert field in issues, issues
    assert words in issues[field], issues[field]


def test_every_problem_is_listed_in_field_order(ivo_shfrt: Protocol) -> None:
    entries = _demographics(sex="x", ecog=9, weight=Entry(1, "m"))
    with pytest.raises(FormRecordInvalid) as info:
        validate_record(ivo_shfrt.form("demographics"), entries, TODAY)
    assert [i.field for i in info.value.issues] == ["sex", "weight", "ecog"]
    assert info.value.message.startswith("sex: ") and "(and 2 more: weight, ecog)" in info.value.message


def test_an_incomplete_record_may_lack_required_values_but_not_break_rules(ivo_shfrt: Protocol) -> None:
    form = ivo_shfrt.form("demographics")
    assert validate_record(form, {"sex": Entry("male")}, TODAY, complete=False)["sex"].value == "male"
    assert "sex" in _issues(form, {"sex": Entry("?")}, complete=False)


def test_age_shown_only_without_a_birth_date(ivo_shfrt: Protocol) -> None:
    form = ivo_shfrt.form("demographics")
    assert "age_years" not in shown_fields(form, {"birth_date": dt.date(1960, 1, 1)})
    assert "age_years" in shown_fields(form, {})
    values = validate_record(form, _demographics(birth_date=None, age_years=Entry(66, "a")), TODAY)
    assert values["age_years"].value == 66


def test_age_in_months_converts_to_whole_years_or_is_refused(ivo_shfrt: Protocol) -> None:
    form = ivo_shfrt.form("demographics")
    values = validate_record(form, _demographics(birth_date=None, age_years=Entry(792, "mo")), TODAY)
    assert values["age_years"].value == 66  # 792 months = 66 Julian years
    issues = _issues(form, _demographics(birth_date=None, age_years=Entry(793, "mo")))
    assert "not a whole number" in issues["age_years"]


ATC_CODES = [
    ("A", True),
    ("A10", True),
    ("A10B", True),
    ("A10BA", True),
    ("A10BA02", True),
    ("a10ba02", False),
    ("A1", False),
    ("A10BA2", False),
    ("10BA02", False),
]


@pytest.mark.parametrize(("code", "valid"), ATC_CODES)
def test_atc_code_format(ivo_shfrt: Protocol, code: str, valid: bool) -> None:
    """WHO ATC structure: 1st level one letter, 2nd two digits, 3rd and 4th a letter each, 5th two
    digits (metformin A10BA02, WHO Collaborating Centre for Drug Statistics Methodology)."""
    form = ivo_shfrt.form("concomitant_medications")
    entries = {
        "name": Entry("Metformin"),
        "atc_code": Entry(code),
        "indication": Entry("Type 2 diabetes"),
        "start_date": Entry("2020-01-01"),
        "ongoing": Entry(True),
    }
    if valid:
        assert validate_record(form, entries, TODAY)["atc_code"].value == code
    else:
        assert "expected format" in _issues(form, entries)["atc_code"]


def test_stop_date_required_only_when_not_ongoing(ivo_shfrt: Protocol) -> None:
    form = ivo_shfrt.form("concomitant_medications")
    entries = {"name": Entry("Omeprazole"), "indication": Entry("GERD"), "start_date": Entry("2026-01-05")}
    assert _issues(form, {**entries, "ongoing": Entry(False)}) == {"stop_date": "is required"}
    assert (
        "hidden"
        in _issues(form, {**entries, "ongoing": Entry(True), "stop_date": Entry("2026-02-01")})["stop_date"]
    )


def test_units_as_people_read_them() -> None:
    assert [display_unit(u) for u in ("kg", "Cel", "[lb_av]", "{score}", "{drinks}/wk", "mm[Hg]", None)] == [
        "kg",
        "°C",
        "lb",
        "score",
        "drinks/wk",
        "mm[Hg]",
        "",
    ]
