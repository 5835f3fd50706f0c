"""The risk-based SDV plan's rules (issue 14): deterministic sampling and item states.

Reference: FDA guidance "Oversight of Clinical Investigations - A Risk-Based Approach to Monitoring"
(2013) and ICH E6(R3) 3.11.4: critical data (eligibility, primary endpoint, SAEs) verified in full,
other data sampled; the sample must be reproducible (a stable hash of the record, not a random draw).
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from trialdesk.domain.sdv import SdvPlanItem, in_sample, sample_point, state, value_sha256


def test_sampling_is_stable_and_close_to_the_fraction() -> None:
    assert in_sample("p", "form_records", "7", 0.2) == in_sample("p", "form_records", "7", 0.2)
    assert all(in_sample("p", "t", str(i), 1.0) for i in range(100))
    chosen = sum(in_sample("p", "form_records", str(i), 0.2) for i in range(10_000))
    assert 1_850 <= chosen <= 2_150  # 20% +/- 1.5 points (binomial SD 0.4 points)
    assert 0 <= sample_point("p", "t", "1") < 1


def test_states_follow_the_value_hash() -> None:
    one, two = value_sha256("1"), value_sha256("2")
    assert state(None, one) == "unverified" and state(one, one) == "verified" and state(one, two) == "changed"
    assert value_sha256(None) != value_sha256("")


def test_a_plan_item_names_one_target() -> None:
    with pytest.raises(ValidationError):
        SdvPlanItem(fraction=1.0)
    with pytest.raises(ValidationError):
        SdvPlanItem(form="ecog", table="adverse_events", fraction=1.0)
    assert SdvPlanItem(form="ecog", fraction=0.5).target == "ecog"


def test_a_plan_naming_an_unknown_form_is_refused_at_load() -> None:
    import yaml

    from trialdesk.protocols.loader import ProtocolFileError, builtin_protocol_dir, parse_protocol

    path = builtin_protocol_dir() / "ivo-shfrt-2l.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["sdv_plan"]["items"].append({"form": "no_such_form", "fraction": 1.0})
    with pytest.raises(ProtocolFileError, match="sdv_plan form 'no_such_form' is not defined"):
        parse_protocol(data, path)
