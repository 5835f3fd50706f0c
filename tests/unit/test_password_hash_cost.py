"""Password hashing cost: argon2id with argon2-cffi's standard parameters in every deployment; the
test suite's cheaper cost is refused in production, and hashes of either cost verify."""

from __future__ import annotations

import pytest

from trialdesk.config import Settings, UnsafeSettings
from trialdesk.services import auth


def test_the_standard_cost_is_argon2_cffis_default() -> None:
    standard = auth._hasher_for("standard")
    assert standard.memory_cost == 65536 and standard.time_cost == 3
    cheap = auth._hasher_for("test")
    assert cheap.memory_cost == 1024 and cheap.time_cost == 1


def test_hashes_of_either_cost_verify_with_the_stored_parameters() -> None:
    for cost in ("standard", "test"):
        stored = auth._hasher_for(cost).hash("correct horse battery")
        assert stored.startswith("$argon2id$")
        assert auth.password_matches(stored, "correct horse battery")
        assert not auth.password_matches(stored, "wrong horse battery")


def test_the_test_cost_is_refused_in_production(tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(UnsafeSettings, match="TRIALDESK_PASSWORD_HASH_COST"):
        Settings(environment="production", password_hash_cost="test", data_dir=tmp_path)
