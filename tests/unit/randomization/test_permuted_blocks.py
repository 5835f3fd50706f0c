"""Stratified permuted-block allocation lists (ICH E9 2.3.2): balance, reproducibility, fingerprints."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter, defaultdict
from typing import Any

import pytest

from tests.unit.randomization.helpers import make_allocation
from trialdesk.domain.protocol.model import Allocation, Protocol
from trialdesk.domain.randomization import (
    AllocationList,
    AllocationSlotSpec,
    StratumError,
    all_strata,
    allocation_list_sha256,
    generate_allocation_list,
    stratum_key,
)

SEED = hashlib.sha256(b"trialdesk permuted-block test seed").digest()
OTHER_SEED = hashlib.sha256(b"another seed").digest()


def _iib_allocation(protocol: Protocol) -> Allocation:
    allocation = protocol.phase("iib").allocation
    assert allocation is not None
    return allocation


def _blocks(allocation_list: AllocationList) -> dict[tuple[str, int], list[AllocationSlotSpec]]:
    blocks: dict[tuple[str, int], list[AllocationSlotSpec]] = defaultdict(list)
    for slot in allocation_list.slots:
        blocks[(slot.stratum, slot.block_number)].append(slot)
    return blocks


def test_stratum_key_is_canonical_for_scr_escc(scr_escc: Protocol) -> None:
    allocation = _iib_allocation(scr_escc)
    assert stratum_key("S01", {"ecog": "0"}, allocation) == "site=S01|ecog=0"
    assert stratum_key("S02", {"ecog": "1"}, allocation) == "site=S02|ecog=1"


def test_stratum_key_orders_factors_as_the_protocol_does() -> None:
    allocation = make_allocation(factors={"ecog": ["0", "1"], "liver": ["no", "yes"]})
    assert stratum_key("S1", {"liver": "yes", "ecog": "1"}, allocation) == "site=S1|ecog=1|liver=yes"


def test_stratum_key_without_site_stratification_ignores_the_site() -> None:
    allocation = make_allocation(stratify_by_site=False)
    assert stratum_key("S01", {"ecog": "1"}, allocation) == "ecog=1"
    assert stratum_key(None, {"ecog": "1"}, allocation) == "ecog=1"
    assert stratum_key(None, {}, make_allocation(stratify_by_site=False, factors={})) == "all"


@pytest.mark.parametrize(
    ("site", "factors", "message"),
    [
        ("S01", {}, "'ecog'.*missing"),
        ("S01", {"ecog": "2"}, "'ecog' has value '2', not one of its levels: 0, 1"),
        ("S01", {"ecog": "0", "stage": "IV"}, "unknown stratification factor 'stage'"),
        (None, {"ecog": "0"}, "stratified by site, but no site"),
        ("S|01", {"ecog": "0"}, "site 'S|01'"),
        ("", {"ecog": "0"}, "site ''"),
    ],
)
def test_stratum_key_errors_name_the_factor(
    scr_escc: Protocol, site: str | None, factors: dict[str, str], message: str
) -> None:
    with pytest.raises(StratumError, match=message):
        stratum_key(site, factors, _iib_allocation(scr_escc))


def test_all_strata_is_sites_times_levels(scr_escc: Protocol) -> None:
    assert all_strata(["S01", "S02"], _iib_allocation(scr_escc)) == [
        "site=S01|ecog=0",
        "site=S01|ecog=1",
        "site=S02|ecog=0",
        "site=S02|ecog=1",
    ]
    assert all_strata([], make_allocation(stratify_by_site=False)) == ["ecog=0", "ecog=1"]
    with pytest.raises(StratumError):
        all_strata([], _iib_allocation(scr_escc))
    with pytest.raises(StratumError, match="duplicate site"):
        all_strata(["S01", "S01"], _iib_allocation(scr_escc))


def test_same_seed_gives_identical_list_and_different_seed_a_different_one(scr_escc: Protocol) -> None:
    allocation = _iib_allocation(scr_escc)
    strata = all_strata(["S01", "S02"], allocation)
    first = generate_allocation_list(allocation, strata, 40, SEED)
    again = generate_allocation_list(allocation, strata, 40, SEED)
    other = generate_allocation_list(allocation, strata, 40, OTHER_SEED)
    assert first == again
    assert first.list_sha256 == again.list_sha256
    assert [s.arm for s in other.slots] != [s.arm for s in first.slots]
    assert other.list_sha256 != first.list_sha256
    assert first.seed_sha256 == hashlib.sha256(SEED).hexdigest()
    assert other.seed_sha256 == hashlib.sha256(OTHER_SEED).hexdigest()


def test_strata_get_different_sequences_from_one_seed(scr_escc: Protocol) -> None:
    allocation = _iib_allocation(scr_escc)
    generated = generate_allocation_list(allocation, all_strata(["S01", "S02"], allocation), 40, SEED)
    sequences = {tuple(s.arm for s in generated.slots_for(stratum)) for stratum in generated.strata}
    assert len(sequences) == 4


def test_adding_a_site_leaves_existing_strata_unchanged(scr_escc: Protocol) -> None:
    allocation = _iib_allocation(scr_escc)
    one_site = generate_allocation_list(allocation, all_strata(["S01"], allocation), 30, SEED)
    two_sites = generate_allocation_list(allocation, all_strata(["S01", "S02"], allocation), 30, SEED)
    for stratum in one_site.strata:
        assert one_site.slots_for(stratum) == two_sites.slots_for(stratum)


@pytest.mark.parametrize(
    ("ratio", "block_sizes"),
    [({"A": 1, "B": 1}, [2, 4]), ({"A": 2, "B": 1}, [3, 6]), ({"A": 1, "B": 1, "C": 1}, [3, 6, 9])],
)
def test_every_block_holds_the_arms_in_the_ratio_and_has_an_allowed_size(
    ratio: dict[str, int], block_sizes: list[int]
) -> None:
    allocation = make_allocation(ratio, block_sizes)
    generated = generate_allocation_list(allocation, all_strata(["S01", "S02"], allocation), 100, SEED)
    unit = sum(ratio.values())
    sizes_seen = set()
    for (_, _), slots in _blocks(generated).items():
        size = slots[0].block_size
        sizes_seen.add(size)
        assert size in block_sizes
        assert len(slots) == size
        assert all(s.block_size == size for s in slots)
        assert Counter(s.arm for s in slots) == {arm: w * size // unit for arm, w in ratio.items()}
    assert sizes_seen == set(block_sizes)  # every allowed size is actually drawn


def test_running_imbalance_never_exceeds_half_the_largest_block(scr_escc: Protocol) -> None:
    allocation = _iib_allocation(scr_escc)
    generated = generate_allocation_list(
        allocation, all_strata([f"S{i:02d}" for i in range(5)], allocation), 70, SEED
    )
    bound = max(allocation.block_sizes) // 2
    worst = 0
    for stratum in generated.strata:
        difference = 0
        for slot in generated.slots_for(stratum):
            difference += 1 if slot.arm == "A" else -1
            worst = max(worst, abs(difference))
            assert abs(difference) <= bound, (stratum, slot.sequence)
        assert difference == 0  # whole blocks: every stratum ends balanced
    assert worst == bound  # the bound is reached, so the test can fail


def test_sequences_and_block_numbers_are_one_based_and_contiguous(scr_escc: Protocol) -> None:
    allocation = _iib_allocation(scr_escc)
    generated = generate_allocation_list(allocation, all_strata(["S01"], allocation), 25, SEED)
    for stratum in generated.strata:
        slots = generated.slots_for(stratum)
        assert [s.sequence for s in slots] == list(range(1, len(slots) + 1))
        block_numbers = [s.block_number for s in slots]
        assert block_numbers[0] == 1
        assert sorted(set(block_numbers)) == list(range(1, max(block_numbers) + 1))
        assert block_numbers == sorted(block_numbers)


@pytest.mark.parametrize("slots_per_stratum", [1, 2, 3, 5, 10, 17, 40])
def test_slots_per_stratum_rounds_up_to_whole_blocks(slots_per_stratum: int) -> None:
    allocation = make_allocation(block_sizes=[2, 4, 6])
    generated = generate_allocation_list(
        allocation, all_strata(["S01", "S02"], allocation), slots_per_stratum, SEED
    )
    for stratum in generated.strata:
        slots = generated.slots_for(stratum)
        blocks = {s.block_number: s.block_size for s in slots}
        assert len(slots) == sum(blocks.values())  # whole blocks only
        assert len(slots) >= slots_per_stratum
        # the smallest whole number of blocks: without the last block it would be too short
        assert len(slots) - blocks[max(blocks)] < slots_per_stratum


@pytest.mark.parametrize(("slots_per_stratum", "expected"), [(1, 4), (4, 4), (5, 8), (10, 12), (12, 12)])
def test_fixed_block_size_gives_exact_slot_counts(slots_per_stratum: int, expected: int) -> None:
    allocation = make_allocation(block_sizes=[4])
    generated = generate_allocation_list(allocation, ["site=S01|ecog=0"], slots_per_stratum, SEED)
    assert len(generated.slots) == expected


def test_list_hash_is_sha256_of_canonical_json(scr_escc: Protocol) -> None:
    allocation = _iib_allocation(scr_escc)
    generated = generate_allocation_list(allocation, all_strata(["S01"], allocation), 6, SEED)
    canonical = json.dumps(
        [
            {
                "arm": s.arm,
                "block_number": s.block_number,
                "block_size": s.block_size,
                "sequence": s.sequence,
                "stratum": s.stratum,
            }
            for s in generated.slots
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    assert generated.list_sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    assert generated.verify()


@pytest.mark.parametrize("field", ["arm", "stratum", "sequence", "block_number", "block_size"])
def test_list_hash_changes_when_one_slot_changes(scr_escc: Protocol, field: str) -> None:
    allocation = _iib_allocation(scr_escc)
    generated = generate_allocation_list(allocation, all_strata(["S01", "S02"], allocation), 20, SEED)
    slots = list(generated.slots)
    target = slots[7]
    new_values: dict[str, Any] = {
        "arm": "B" if target.arm == "A" else "A",
        "stratum": target.stratum + "x",
        "sequence": target.sequence + 1,
        "block_number": target.block_number + 1,
        "block_size": 6,
    }
    slots[7] = dataclasses.replace(target, **{field: new_values[field]})
    assert allocation_list_sha256(slots) != generated.list_sha256
    tampered = dataclasses.replace(generated, slots=tuple(slots))
    assert not tampered.verify()


def test_invalid_generation_requests_are_refused(scr_escc: Protocol) -> None:
    allocation = _iib_allocation(scr_escc)
    with pytest.raises(ValueError, match="slots_per_stratum"):
        generate_allocation_list(allocation, ["site=S01|ecog=0"], 0, SEED)
    with pytest.raises(ValueError, match="at least one stratum"):
        generate_allocation_list(allocation, [], 10, SEED)
    with pytest.raises(ValueError, match="duplicate stratum"):
        generate_allocation_list(allocation, ["a", "a"], 10, SEED)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        generate_allocation_list(allocation, ["a"], 10, b"short")
