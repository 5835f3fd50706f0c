"""The protocol file's consent-form versions (``consent_versions``): unique ids, effective dates
increasing in list order, a documented default in both built-in files, and one default version for a
protocol file that lists none. ICH E6(R2) 4.8.2: a revised form is used only from its approval, so each
version has the date it comes into use."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from trialdesk.protocols import ProtocolFileError, builtin_protocol_dir, load_registry
from trialdesk.protocols.loader import parse_protocol


def _seed_000() -> dict[str, Any]:
    data = yaml.safe_load((builtin_protocol_dir() / "ivo-shfrt-2l.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _version(version: str, effective: str) -> dict[str, Any]:
    return {"version": version, "effective_date": effective, "provenance": "default", "rationale": "a test"}


def _errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ProtocolFileError) as info:
        parse_protocol(data, "test.yaml")
    return [str(issue) for issue in info.value.issues]


def test_both_builtin_protocols_have_a_documented_default_version_1_0() -> None:
    for protocol in load_registry():
        (first,) = protocol.consent_versions
        assert first.version == "1.0" and first.provenance == "default"
        assert "ICH E6(R2) 4.8.2" in first.rationale
        assert "consent_versions[1.0]" in dict(protocol.open_parameters())


def test_versions_in_order_are_accepted_and_found_by_id() -> None:
    data = _seed_000()
    data["consent_versions"] = [_version("1.0", "2023-01-01"), _version("1.1", "2026-06-01")]
    protocol = parse_protocol(data, "test.yaml")
    assert protocol.consent_version("1.1").effective_date == dt.date(2026, 6, 1)
    with pytest.raises(KeyError):
        protocol.consent_version("3.0")


def test_duplicate_version_ids_are_refused() -> None:
    data = _seed_000()
    data["consent_versions"] = [_version("1.0", "2023-01-01"), _version("1.0", "2024-01-01")]
    assert any("duplicate consent version id(s): 1.0" in e for e in _errors(data))


@pytest.mark.parametrize("second", ["2023-01-01", "2022-12-31"])
def test_effective_dates_must_increase(second: str) -> None:
    data = _seed_000()
    data["consent_versions"] = [_version("1.0", "2023-01-01"), _version("2.0", second)]
    assert any("consent version '2.0' is effective on" in e and "oldest first" in e for e in _errors(data))


def test_an_empty_list_and_a_bad_version_id_are_refused() -> None:
    data = _seed_000()
    data["consent_versions"] = []
    assert any(e.startswith("consent_versions") for e in _errors(data))
    data["consent_versions"] = [_version("v 1", "2023-01-01")]
    assert any(e.startswith("consent_versions[0].version") for e in _errors(data))


def test_a_protocol_file_without_versions_gets_one_default_version() -> None:
    data = _seed_000()
    del data["consent_versions"]
    (only,) = parse_protocol(data, "test.yaml").consent_versions
    assert only.version == "1.0" and only.provenance == "default"
