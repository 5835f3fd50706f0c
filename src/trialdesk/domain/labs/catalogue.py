"""The laboratory (and functional) tests trialdesk knows: the :data:`LabTest` codes.

A code names a measurement, not a unit: each one has a canonical unit, accepted units and a
plausible range in :mod:`trialdesk.domain.labs.units` (``TESTS``), and a LOINC mapping for the FHIR
import (:mod:`trialdesk.adapters.fhir_codes`).
"""

from __future__ import annotations

from typing import Literal, TypeGuard, get_args

LabTest = Literal[
    "hemoglobin",
    "wbc",
    "anc",
    "lymphocytes",
    "platelets",
    "albumin",
    "alt",
    "ast",
    "total_bilirubin",
    "creatinine",
    "lvef",
    "sodium",
    "potassium",
    "calcium_corrected",
    "calcium_ionized",
    "magnesium",
    "alp",
    "ggt",
]
"""Laboratory and functional tests known to the units machinery (canonical units in ``units``)."""

LAB_TESTS: tuple[LabTest, ...] = get_args(LabTest)
"""Every :data:`LabTest` code, in declaration order."""


def is_lab_test(code: str) -> TypeGuard[LabTest]:
    """Whether ``code`` is a known :data:`LabTest` code (narrows a stored or entered string)."""
    return code in LAB_TESTS
