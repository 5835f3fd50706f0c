"""Fixtures for the safety unit tests: the packaged CTCAE data and the built-in protocols."""

from __future__ import annotations

import pytest

from trialdesk.adapters.ctcae_data import lab_grading_table, term_catalogue
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.safety.ctcae import LabGradingTable, TermCatalogue
from trialdesk.protocols import load_registry


@pytest.fixture(scope="session")
def table() -> LabGradingTable:
    return lab_grading_table()


@pytest.fixture(scope="session")
def catalogue() -> TermCatalogue:
    return term_catalogue()


@pytest.fixture(scope="session")
def ivo_shfrt() -> Protocol:
    return load_registry().get("ivo-shfrt-2l")
