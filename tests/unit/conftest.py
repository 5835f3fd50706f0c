"""Fixtures shared by every unit test folder: the two built-in protocols, loaded once per session."""

from __future__ import annotations

import pytest

from trialdesk.domain.protocol.model import Protocol
from trialdesk.protocols import load_registry


@pytest.fixture(scope="session")
def scr_escc() -> Protocol:
    """The built-in SCR-ESCC-01 protocol (run-in then 1:1 randomization)."""
    return load_registry().get("scr-escc-01")


@pytest.fixture(scope="session")
def ivo_shfrt() -> Protocol:
    """The built-in single-arm ivonescimab + SHFRT protocol."""
    return load_registry().get("ivo-shfrt-2l")
