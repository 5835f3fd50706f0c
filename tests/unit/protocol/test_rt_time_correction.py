"""The protocol's optional RT time-correction block (rt_quality.time_correction): off by default,
on in seed 002 (CFRT runs past the kick-off), off in seed 000 (SHFRT ends in a week); implausible
parameters are refused with the file path and the parameter named."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from trialdesk.domain.protocol.model import RtQuality
from trialdesk.domain.radiobiology import FOWLER_SQUAMOUS
from trialdesk.protocols import ProtocolFileError, builtin_protocol_dir, load_protocol_file
from trialdesk.protocols.loader import parse_protocol


def _seed_002() -> dict[str, Any]:
    data = yaml.safe_load((builtin_protocol_dir() / "scr-escc-01.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_default_is_off_with_fowler_parameters_documented() -> None:
    block = RtQuality().time_correction
    assert block.factor is None
    assert (block.alpha.value, block.tk_days.value, block.tpot_days.value) == (0.3, 21, 3)
    assert all(p.provenance == "default" and "Fowler" in p.rationale for p in (block.alpha, block.tpot_days))


def test_seed_002_uses_it_and_seed_000_does_not() -> None:
    scr = load_protocol_file(builtin_protocol_dir() / "scr-escc-01.yaml")
    ivo = load_protocol_file(builtin_protocol_dir() / "ivo-shfrt-2l.yaml")
    assert scr.rt_quality.time_correction.factor == FOWLER_SQUAMOUS
    assert ivo.rt_quality.time_correction.factor is None
    assert "seed states no time correction" in ivo.rt_quality.time_correction.enabled.rationale


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [("alpha", 3.0, "alpha"), ("tk_days", -7, "tk_days"), ("tpot_days", 0, "tpot_days")],
)
def test_implausible_parameters_are_refused(key: str, value: float, named: str) -> None:
    data = _seed_002()
    data["rt_quality"]["time_correction"][key]["value"] = value
    with pytest.raises(ProtocolFileError) as info:
        parse_protocol(data, "test.yaml")
    (issue,) = [str(i) for i in info.value.issues]
    assert issue.startswith(f"rt_quality.time_correction: {named}: ")
