"""Builders shared by the randomization unit tests (allocation specifications)."""

from __future__ import annotations

from trialdesk.domain.protocol.model import Allocation, StratificationFactor


def make_allocation(
    ratio: dict[str, int] | None = None,
    block_sizes: list[int] | None = None,
    *,
    method: str = "permuted_blocks",
    stratify_by_site: bool = True,
    p: float = 0.8,
    factors: dict[str, list[str]] | None = None,
) -> Allocation:
    """An Allocation with the given ratio, block sizes and factors (ECOG 0/1 by default)."""
    factor_levels = {"ecog": ["0", "1"]} if factors is None else factors
    return Allocation.model_validate(
        {
            "method": method,
            "ratio": ratio or {"A": 1, "B": 1},
            "block_sizes": block_sizes or [2, 4],
            "stratify_by_site": stratify_by_site,
            "minimization_p": p,
            "stratification_factors": [
                StratificationFactor(
                    id=fid, label=fid.upper(), levels=levels, provenance="default", rationale="t"
                )
                for fid, levels in factor_levels.items()
            ],
        }
    )
