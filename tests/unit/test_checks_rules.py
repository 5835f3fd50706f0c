"""Edit checks as protocol data (issue 14): both trials' checks files load; a bad rule is refused at
protocol load naming the rule and the problem; each builtin cross-record check on tiny data, against
the outside reference it implements (cited per test)."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from trialdesk.domain.checks import builtins as b
from trialdesk.domain.forms.vectorised import date_to_days
from trialdesk.protocols.loader import ProtocolFileError, builtin_protocol_dir, load_registry, parse_protocol

SCR = "scr-escc-01"


def _protocol_data(protocol_id: str = SCR) -> dict[str, Any]:
    folder = builtin_protocol_dir()
    data: dict[str, Any] = yaml.safe_load((folder / f"{protocol_id}.yaml").read_text(encoding="utf-8"))
    rules = yaml.safe_load((folder / "checks" / f"{protocol_id}.checks.yaml").read_text(encoding="utf-8"))
    data.pop("checks_file")
    data["checks"] = rules["rules"]
    return data


def _with_rule(rule: dict[str, Any]) -> dict[str, Any]:
    data = _protocol_data()
    data["checks"] = [*data["checks"], rule]
    return data


def _parse(data: dict[str, Any]) -> Any:
    return parse_protocol(data, builtin_protocol_dir() / f"{SCR}.yaml")


FORM_RULE: dict[str, Any] = {
    "id": "x-rule",
    "version": "1",
    "kind": "form",
    "form": "vital_signs",
    "field": "weight",
    "when": "weight > 200",
    "description": "Weight {weight} kg at {visit}",
    "provenance": "default",
    "source": "test",
}


def test_both_trials_load_their_checks_with_every_builtin() -> None:
    registry = load_registry()
    for protocol in registry:
        builtins = {r.builtin for r in protocol.checks if r.kind == "builtin"}
        assert set(b.BUILTINS) <= builtins, protocol.id
        assert all(r.source and r.provenance for r in protocol.checks)
        kinds = {r.kind for r in protocol.checks}
        assert kinds == {"form", "builtin"}
    assert any(r.id == "enrolled-pg-sga-9-or-more" for r in registry.get(SCR).checks)


def test_a_valid_extra_rule_loads() -> None:
    protocol = _parse(_with_rule(FORM_RULE))
    assert protocol.checks[-1].key_prefix == "x-rule@1"


BAD: list[tuple[dict[str, Any], str]] = [
    ({"when": "weigth > 200"}, "unknown field 'weigth'"),
    ({"when": "weight + 1"}, "must be true or false"),
    ({"when": "__import__('os')"}, "only these functions may be called"),
    ({"form": "no_form"}, "unknown form 'no_form'"),
    ({"field": "bmi"}, "has no field 'bmi'"),
    ({"description": "Weight {wieght}"}, "description uses wieght"),
    (
        {"kind": "builtin", "builtin": "nope", "form": None, "field": None, "when": None},
        "unknown builtin check 'nope'",
    ),
    (
        {
            "kind": "builtin",
            "builtin": "ecog_worsening_without_ae",
            "form": None,
            "field": None,
            "when": None,
            "params": {"min_points": 9},
            "description": "x {score}",
        },
        "min_points",
    ),
    (
        {
            "kind": "builtin",
            "builtin": "weight_change_without_dose_recalculation",
            "form": None,
            "field": None,
            "when": None,
            "params": {"field": "mass"},
            "description": "x {agent}",
        },
        "has no field 'mass'",
    ),
    (
        {
            "kind": "builtin",
            "builtin": "enrolled_but_ineligible",
            "form": None,
            "field": None,
            "when": None,
            "params": {"form": "demographics", "field": "ecog", "when": "ecog >", "criterion": "c"},
            "description": "x {value}",
        },
        "params.when",
    ),
    ({"version": "one two"}, "version"),
]


@pytest.mark.parametrize(("change", "words"), BAD)
def test_a_bad_rule_is_refused_at_load_naming_it(change: dict[str, Any], words: str) -> None:
    rule = {k: v for k, v in {**copy.deepcopy(FORM_RULE), **change}.items() if v is not None}
    with pytest.raises(ProtocolFileError) as caught:
        _parse(_with_rule(rule))
    assert words in str(caught.value)
    if "version" not in change:
        assert "x-rule" in str(caught.value)


def test_duplicate_rule_ids_and_a_missing_checks_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProtocolFileError, match="duplicate rule id"):
        _parse(_with_rule({**FORM_RULE, "id": "vs-fever"}))
    data = _protocol_data()
    data.pop("checks")
    data["checks_file"] = "checks/none.checks.yaml"
    with pytest.raises(ProtocolFileError, match="cannot read"):
        parse_protocol(data, tmp_path / "p.yaml")
    data["checks_file"] = "../x.checks.yaml"
    with pytest.raises(ProtocolFileError, match="checks_file"):
        parse_protocol(data, tmp_path / "p.yaml")


# ---------------------------------------------------------------- builtins on tiny data


def _days(*dates: str) -> Any:
    return np.array([date_to_days(dt.date.fromisoformat(d)) for d in dates], dtype=np.int64)


def test_ae_after_death() -> None:
    """CDISC SDTM IG 3.4: an AE start date cannot be after the death date (same day is allowed)."""
    onset = _days("2026-03-01", "2026-03-10", "2026-03-11", "2026-03-12")
    death = _days("2026-03-10", "2026-03-10", "2026-03-10", "2026-03-10")
    known = np.array([True, True, True, False])
    assert b.ae_after_death(onset, death, known).tolist() == [False, False, True, False]


def test_scan_after_progression_outside_the_irecist_confirmation_window() -> None:
    """iRECIST (Seymour 2017): iUPD is confirmed 4-8 weeks later: 56 days is still a confirmation scan,
    57 days is not; the earliest progression date of a subject counts; a subject without
    progression is never flagged."""
    scan_subjects = np.array([1, 1, 1, 2, 3], dtype=np.int64)
    scans = _days("2026-02-01", "2026-04-28", "2026-04-29", "2026-09-01", "2026-09-01")
    progression_subjects = np.array([1, 1, 2], dtype=np.int64)
    progressions = _days("2026-05-01", "2026-03-03", "2026-01-01")
    mask, since = b.scan_after_progression(scan_subjects, scans, progression_subjects, progressions, 56)
    assert mask.tolist() == [False, False, True, True, False]
    assert since[2] == 57


def test_ecog_worsening_without_an_ae_nearby() -> None:
    """ECOG (Oken 1982): baseline 1 at screening; 3 is a 2-point worsening. Subject 1 has an AE 10 days
    before (within 14 days): no finding; subject 2 has none: a finding; 2 (1 point) is not enough."""
    subjects = np.array([1, 1, 2, 2, 2], dtype=np.int64)
    days = _days("2026-01-01", "2026-03-01", "2026-01-01", "2026-02-01", "2026-03-01")
    scores = np.array([1, 3, 1, 2, 3], dtype=float)
    screening = np.array([True, False, True, False, False])
    ae = np.sort(b.keys(np.array([1, 2], dtype=np.int64), _days("2026-02-19", "2026-01-05")))
    params = b.EcogWorseningWithoutAe()
    mask, baseline = b.ecog_worsening_without_ae(subjects, days, scores, screening, ae, params)
    assert mask.tolist() == [False, False, False, False, True]
    assert baseline.tolist() == [1, 1, 1, 1, 1]


def test_weight_change_over_ten_percent_without_recalculation() -> None:
    """ASCO (Griggs 2012) / pharmacy rule: recalculate a BSA dose when weight changes by > 10 %.
    Dosed for 70 kg; measured 62 kg (11.4 %) before the dose: finding; 63 kg (exactly 10 %): none;
    a measurement after the dose does not count."""
    measured_subjects = np.array([1, 2, 3], dtype=np.int64)
    measured_days = _days("2026-03-01", "2026-03-01", "2026-03-10")
    measured_keys = b.keys(measured_subjects, measured_days)
    order = np.argsort(measured_keys)
    values = np.array([62.0, 63.0, 50.0])[order]
    dose_subjects = np.array([1, 2, 3], dtype=np.int64)
    dose_days = _days("2026-03-02", "2026-03-02", "2026-03-02")
    latest, known = b.latest_measurement(measured_keys[order], values, dose_subjects, dose_days)
    assert known.tolist() == [True, True, False]
    mask, change = b.weight_change_without_dose_recalculation(np.array([70.0, 70.0, 70.0]), latest, known, 10)
    assert mask.tolist() == [True, False, False]
    assert round(float(change[0]), 1) == 11.4


def test_conmed_given_for_an_ae_needs_the_ae() -> None:
    """A medication for an adverse event: subject 1 has an AE 3 days before the start (recorded), subject
    2 has one 30 days before (outside 7 days): finding; a medication for hypertension: none."""
    indications = np.array(["Adverse event: nausea", "toxicity (rash)", "hypertension"], dtype=object)
    for_ae = b.given_for_adverse_event(indications, ["adverse event", "toxicity"])
    assert for_ae.tolist() == [True, True, False]
    subjects = np.array([1, 2, 2], dtype=np.int64)
    starts = _days("2026-03-10", "2026-03-10", "2026-03-10")
    ae = np.sort(b.keys(np.array([1, 2], dtype=np.int64), _days("2026-03-07", "2026-02-08")))
    assert b.conmed_after_ae_drug_given(subjects, starts, for_ae, ae, 7).tolist() == [False, True, False]


def test_count_in_window_keeps_subjects_apart() -> None:
    keys = np.sort(b.keys(np.array([1, 2], dtype=np.int64), _days("2026-01-01", "2026-01-01")))
    counts = b.count_in_window(
        keys,
        np.array([1, 3], dtype=np.int64),
        _days("2025-12-01", "2025-12-01"),
        _days("2026-02-01", "2026-02-01"),
    )
    assert counts.tolist() == [1, 0]
