"""Fixtures for eligibility tests: the two built-in protocols and the example patient records."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trialdesk.domain.eligibility.evaluator import EligibilityResult, evaluate
from trialdesk.domain.eligibility.validation import parse_patient
from trialdesk.domain.protocol.model import Protocol
from trialdesk.protocols import load_registry

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "patients"


def load_example(name: str) -> dict[str, Any]:
    """A fresh (deep-copied) example patient dict from examples/patients/."""
    return copy.deepcopy(json.loads((EXAMPLES / name).read_text(encoding="utf-8")))


def screen(protocol: Protocol, data: dict[str, Any], at: Any = None) -> EligibilityResult:
    """Parse and evaluate a patient dict."""
    return evaluate(protocol, parse_patient(data), at)


def status_of(result: EligibilityResult, criterion_id: str) -> str:
    """The status of one criterion in a result."""
    return next(c.status for c in result.criteria if c.id == criterion_id)


def lab(data: dict[str, Any], test: str) -> dict[str, Any]:
    """The (first) lab entry of ``test`` in a patient dict, for in-place edits."""
    return next(entry for entry in data["labs"] if entry["test"] == test)


@pytest.fixture(scope="session")
def ivo() -> Protocol:
    return load_registry().get("ivo-shfrt-2l")


@pytest.fixture(scope="session")
def scr() -> Protocol:
    return load_registry().get("scr-escc-01")


@pytest.fixture
def ivo_patient() -> dict[str, Any]:
    return load_example("ivo-shfrt-2l-eligible.json")


@pytest.fixture
def scr_patient() -> dict[str, Any]:
    return load_example("scr-escc-01-eligible.json")


Mutation = Callable[[dict[str, Any]], None]
