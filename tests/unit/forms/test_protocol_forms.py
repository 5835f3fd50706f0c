"""Both built-in protocols declare their case report forms, and a protocol's forms are checked when
it loads (ids unique, units known, show_if valid and local to the form, visits in the schedule)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from trialdesk.domain.calendar import VisitKind
from trialdesk.domain.forms.model import FormVisitKind, Provenance
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.protocol.parameters import Provenance as ParameterProvenance
from trialdesk.protocols import ProtocolFileError, load_protocol_file
from trialdesk.protocols.loader import builtin_protocol_dir, parse_protocol

COMMON_FORMS = {
    "demographics",
    "medical_history",
    "prior_therapies",
    "vital_signs",
    "ecog",
    "concomitant_medications",
}


def test_form_visit_kinds_are_the_calendar_kinds_and_screening() -> None:
    assert set(get_args(FormVisitKind)) == {"screening", *get_args(VisitKind)}
    assert get_args(Provenance) == get_args(ParameterProvenance)


def test_both_protocols_declare_the_built_in_forms(ivo_shfrt: Protocol, scr_escc: Protocol) -> None:
    assert {f.id for f in ivo_shfrt.forms} == COMMON_FORMS
    assert {f.id for f in scr_escc.forms} == COMMON_FORMS | {"pg_sga"}  # PG-SGA: seed 002 exclusion 6
    for protocol in (ivo_shfrt, scr_escc):
        assert protocol.form("concomitant_medications").is_log
        assert protocol.form("concomitant_medications").repeating
        assert protocol.form("ecog").visits == ["screening", "cycle", "end_of_treatment"]
        demographics = protocol.form("demographics")
        assert {
            "sex",
            "birth_date",
            "height",
            "weight",
            "ecog",
            "smoking",
            "alcohol",
            "tumour_location",
            "histology",
            "stage",
            "pdl1_cps",
            "pdl1_tps",
        } <= {f.id for f in demographics.fields}
        assert demographics.field("weight").unit == "kg" and demographics.field("height").unit == "cm"
        assert all(form.provenance in ("seed", "default") and form.rationale for form in protocol.forms)
    # ages as the seeds state them: 000 inclusion a (18-80), 002 inclusion 1 (>= 18)
    assert ivo_shfrt.form("demographics").field("age_years").range.max == 80  # type: ignore[union-attr]
    assert scr_escc.form("pg_sga").field("category").code_label("C") == "C: severely malnourished"


def _with_forms(forms: list[dict[str, Any]]) -> dict[str, Any]:
    data = yaml.safe_load((builtin_protocol_dir() / "ivo-shfrt-2l.yaml").read_text(encoding="utf-8"))
    data.pop("forms_file")
    data.pop("checks_file", None)  # the trial's edit checks name its own forms, not these
    data.pop("sdv_plan", None)  # it names the built-in forms replaced here
    data["forms"] = forms
    return data


def _form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "id": "extra",
        "title": "Extra",
        "visits": ["screening"],
        "provenance": "default",
        "rationale": "test form",
        "fields": [
            {"id": "a", "label": "A", "type": "integer", "unit": "kg"},
            {"id": "b", "label": "B", "type": "boolean"},
        ],
    }
    form.update(changes)
    return form


def _field(**changes: Any) -> dict[str, Any]:
    return {"id": "c", "label": "C", "type": "decimal", **changes}


BAD_FORMS: list[tuple[list[dict[str, Any]], str]] = [
    ([_form(), _form()], "duplicate form id(s): extra"),
    ([_form(fields=[_field(), _field()])], "duplicate field id(s) c"),
    ([_form(fields=[_field(unit="stone")])], "unit 'stone' is not a known UCUM unit"),
    ([_form(fields=[_field(type="text", unit="kg")])], "only numbers have a unit"),
    ([_form(fields=[_field(range={"min": 5, "max": 1})])], "range min 5 is greater than max 1"),
    ([_form(fields=[_field(type="code")])], "a code list is needed by, and only by, a 'code' field"),
    ([_form(fields=[_field(show_if="zz > 1")])], "unknown field 'zz'"),
    ([_form(fields=[_field(show_if="c > 1")])], "show_if refers to itself"),
    ([_form(fields=[_field(show_if="__import__('os')")])], "only these functions"),
    ([_form(fields=[_field(show_if="1 + 1")])], "true or false"),
    ([_form(fields=[_field(id="lambda")])], "reserved word"),
    ([_form(fields=[_field(id="Bad Id")])], "String should match pattern"),
    ([_form(visits=["coffee"])], "Input should be 'screening'"),
    ([_form(fields=[_field(type="text", pattern="([")])], "pattern does not compile"),
]


@pytest.mark.parametrize(("forms", "words"), BAD_FORMS)
def test_bad_forms_are_refused_at_load_naming_the_problem(forms: list[dict[str, Any]], words: str) -> None:
    with pytest.raises(ProtocolFileError) as info:
        parse_protocol(_with_forms(forms), "test.yaml")
    assert any(words in str(issue) for issue in info.value.issues), info.value.issues
    assert all(str(issue).startswith("forms") for issue in info.value.issues), info.value.issues


def test_a_form_at_a_visit_the_schedule_does_not_have_is_refused() -> None:
    data = _with_forms([_form(visits=["radiotherapy"])])
    data["visit_schedule"]["radiotherapy"] = []
    with pytest.raises(ProtocolFileError, match="filled at 'radiotherapy' visits, which this protocol"):
        parse_protocol(data, "test.yaml")


def test_forms_file_is_read_beside_the_protocol(tmp_path: Path) -> None:
    data = _with_forms([])
    del data["forms"]
    data["forms_file"] = "mine.forms.yaml"
    (tmp_path / "mine.forms.yaml").write_text(yaml.safe_dump({"forms": [_form()]}), encoding="utf-8")
    (tmp_path / "ivo-shfrt-2l.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    assert [f.id for f in load_protocol_file(tmp_path / "ivo-shfrt-2l.yaml").forms] == ["extra"]
    for bad, words in (
        ("../x.forms.yaml", "in or below"),
        ("x.yaml", "in or below"),
        ("no.forms.yaml", "cannot read"),
    ):
        broken = copy.deepcopy(data)
        broken["forms_file"] = bad
        with pytest.raises(ProtocolFileError, match=words.replace(".", r"\.")):
            parse_protocol(broken, tmp_path / "ivo-shfrt-2l.yaml")


def test_baseline_table_fields_belong_to_a_screening_form() -> None:
    form = _form(repeating=True, fields=[_field(baseline_table=True)])
    with pytest.raises(ProtocolFileError, match="baseline_table fields need a non-repeating screening form"):
        parse_protocol(_with_forms([form]), "test.yaml")
