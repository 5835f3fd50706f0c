"""Fixtures for the safety unit tests: the packaged CTCAE data (the protocols: tests/unit/conftest.py)."""

from __future__ import annotations

import pytest

from trialdesk.adapters.ctcae_data import lab_grading_table, term_catalogue
from trialdesk.domain.safety.ctcae import LabGradingTable, TermCatalogue


@pytest.fixture(scope="session")
def table() -> LabGradingTable:
    return lab_grading_table()


@pytest.fixture(scope="session")
def catalogue() -> TermCatalogue:
    return term_catalogue()
