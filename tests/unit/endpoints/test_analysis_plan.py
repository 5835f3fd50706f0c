"""The protocol's analysis section: defaults, the built-in values and its validation."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from trialdesk.domain.protocol.model import AnalysisPlan
from trialdesk.protocols.loader import ProtocolFileError, builtin_protocol_dir, load_registry, parse_protocol


def _data(protocol_id: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((builtin_protocol_dir() / f"{protocol_id}.yaml").read_text("utf-8"))
    return data


def test_builtin_protocols_carry_their_analysis_parameters() -> None:
    registry = load_registry()
    single = registry.get("ivo-shfrt-2l").analysis
    assert single.historical_median_pfs_months.value == 3.4
    assert single.historical_median_pfs_months.provenance == "default"
    assert "ATTRACTION-3" in single.historical_median_pfs_months.rationale
    assert single.logrank_strata.value == []
    randomized = registry.get("scr-escc-01").analysis
    assert randomized.logrank_strata.value == ["ecog"]
    assert randomized.historical_median_pfs_months.value is None
    for plan in (single, randomized):
        assert plan.censor_at_new_anticancer_therapy.value is True
        assert plan.max_missed_assessments.value == 2
        assert plan.landmarks_months.value == [6.0, 12.0]


def test_a_protocol_without_an_analysis_section_gets_the_documented_defaults() -> None:
    data = _data("ivo-shfrt-2l")
    del data["analysis"]
    protocol = parse_protocol(data)
    assert protocol.analysis == AnalysisPlan()
    assert protocol.analysis.no_baseline_assessment.value == "censor_at_origin"
    assert protocol.analysis.no_post_baseline_assessment.value == "censor_at_origin_unless_early_death"
    paths = [path for path, _ in protocol.open_parameters()]
    assert "analysis.max_missed_assessments" in paths


def test_unknown_logrank_stratum_is_rejected() -> None:
    data = _data("scr-escc-01")
    data["analysis"]["logrank_strata"]["value"] = ["site"]
    with pytest.raises(ProtocolFileError, match="logrank_strata"):
        parse_protocol(data)


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_missed_assessments", 0), ("landmarks_months", [0]), ("historical_median_pfs_months", -1.0)],
)
def test_implausible_analysis_values_are_rejected(name: str, value: object) -> None:
    data = _data("ivo-shfrt-2l")
    data["analysis"][name]["value"] = value
    with pytest.raises(ProtocolFileError, match=name):
        parse_protocol(data)
