"""RECIST 1.1 s4.3.4 overall time-point response: Table 4 (targets) and Table 5 (non-targets only)."""

from __future__ import annotations

import pytest

from trialdesk.domain.recist.timepoint import NonTargetResponse, TargetResponse, overall_response

# Table 4: patients with target (+/- non-target) disease. "Non-PD" expands to CR and NON-CR/NON-PD.
TABLE_4 = [
    ("CR", "CR", False, "CR"),
    ("CR", "NON-CR/NON-PD", False, "PR"),
    ("CR", "NE", False, "PR"),
    ("PR", "CR", False, "PR"),
    ("PR", "NON-CR/NON-PD", False, "PR"),
    ("PR", "NE", False, "PR"),
    ("SD", "CR", False, "SD"),
    ("SD", "NON-CR/NON-PD", False, "SD"),
    ("SD", "NE", False, "SD"),
    ("NE", "CR", False, "NE"),
    ("NE", "NON-CR/NON-PD", False, "NE"),
    ("PD", "CR", False, "PD"),
    ("PD", "NON-CR/NON-PD", True, "PD"),
    ("PD", "NE", False, "PD"),
    ("CR", "PD", False, "PD"),
    ("SD", "PD", True, "PD"),
    ("NE", "PD", False, "PD"),
    ("CR", "CR", True, "PD"),
    ("PR", "NON-CR/NON-PD", True, "PD"),
    ("NE", "NE", True, "PD"),
]


@pytest.mark.parametrize(("target", "non_target", "new", "expected"), TABLE_4)
def test_table_4_overall_response_with_target_disease(
    target: TargetResponse, non_target: NonTargetResponse, new: bool, expected: str
) -> None:
    assert overall_response(target, non_target, new) == expected


@pytest.mark.parametrize(("target", "expected"), [("CR", "CR"), ("PR", "PR"), ("SD", "SD"), ("NE", "NE")])
def test_table_4_without_non_target_disease(target: TargetResponse, expected: str) -> None:
    assert overall_response(target, None, False) == expected


TABLE_5 = [
    ("CR", False, "CR"),
    ("NON-CR/NON-PD", False, "NON-CR/NON-PD"),
    ("NE", False, "NE"),
    ("PD", False, "PD"),
    ("PD", True, "PD"),
    ("CR", True, "PD"),
    ("NON-CR/NON-PD", True, "PD"),
    ("NE", True, "PD"),
]


@pytest.mark.parametrize(("non_target", "new", "expected"), TABLE_5)
def test_table_5_overall_response_with_non_target_disease_only(
    non_target: NonTargetResponse, new: bool, expected: str
) -> None:
    assert overall_response(None, non_target, new) == expected
