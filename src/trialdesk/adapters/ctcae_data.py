"""Load the CTCAE v5.0 data shipped in ``trialdesk/domain/safety/data`` (term catalogue, lab grading).

The domain holds the models and rules (:mod:`trialdesk.domain.safety.ctcae`); this adapter only reads
the packaged YAML through :mod:`importlib.resources` and validates it. Both files are read once per
process (cached); a file that does not validate is a start-up error naming the file.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from trialdesk.domain.labs.units import canonical_unit
from trialdesk.domain.safety.ctcae import LabGradingTable, TermCatalogue

DATA_PACKAGE = "trialdesk.domain.safety"
TERMS_FILE = "ctcae_v5_terms.yaml"
LAB_GRADING_FILE = "ctcae_v5_lab_grading.yaml"


class CtcaeDataError(RuntimeError):
    """A packaged CTCAE data file is missing or does not validate."""


def _read(name: str) -> Any:
    try:
        text = resources.files(DATA_PACKAGE).joinpath("data", name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CtcaeDataError(f"packaged CTCAE data file {name} is missing") from exc
    return yaml.safe_load(text)


@cache
def term_catalogue() -> TermCatalogue:
    """The AE term catalogue (CTCAE v5.0 terms with SOC and available grades)."""
    try:
        return TermCatalogue.model_validate(_read(TERMS_FILE))
    except ValidationError as exc:
        raise CtcaeDataError(f"{TERMS_FILE} does not validate: {exc}") from exc


@cache
def lab_grading_table() -> LabGradingTable:
    """The CTCAE v5.0 lab grading table; each term's unit must be its test's canonical unit."""
    try:
        table = LabGradingTable.model_validate(_read(LAB_GRADING_FILE))
    except ValidationError as exc:
        raise CtcaeDataError(f"{LAB_GRADING_FILE} does not validate: {exc}") from exc
    for term in table.terms:
        if term.unit != canonical_unit(term.test):
            raise CtcaeDataError(
                f"{LAB_GRADING_FILE}: '{term.term}' is written in {term.unit}, but the canonical unit of "
                f"{term.test} is {canonical_unit(term.test)}"
            )
    catalogue = term_catalogue()
    for term in table.terms:
        entry = catalogue.lookup(term.term)
        if entry is None or entry.soc != term.soc:
            raise CtcaeDataError(
                f"{LAB_GRADING_FILE}: '{term.term}' is not in the term catalogue with its SOC"
            )
    return table
