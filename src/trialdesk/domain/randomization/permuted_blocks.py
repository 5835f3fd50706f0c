"""Stratified permuted-block randomization lists (ICH E9 section 2.3.2).

Each stratum (site x stratification-factor levels) gets its own sequence of blocks. Every block holds
the arms in the allocation ratio, in random order; block sizes are drawn at random from the protocol's
``block_sizes`` so that the end of a block cannot be predicted (ICH E9 advises against letting
investigators know the block length). The list is generated once, from a recorded seed, by
:class:`~trialdesk.domain.randomization.drbg.Drbg` (NIST SP 800-90A HMAC-DRBG), and identified by the
SHA-256 of its canonical JSON, so it can be regenerated and verified at any time.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from trialdesk.domain.protocol.model import Allocation
from trialdesk.domain.randomization.drbg import Drbg
from trialdesk.domain.randomization.errors import StratumError

SITE_FACTOR = "site"
"""Name of the site component of a stratum key (and of the site factor in minimization)."""
UNSTRATIFIED = "all"
"""Stratum key used when the allocation is stratified neither by site nor by any factor."""
_RESERVED_CHARACTERS = ("|", "=")


@dataclass(frozen=True, slots=True)
class AllocationSlotSpec:
    """One slot of an allocation list.

    ``sequence`` is 1-based within the stratum; ``block_number`` is 1-based within the stratum and
    ``block_size`` is the size of the block the slot belongs to.
    """

    stratum: str
    sequence: int
    block_number: int
    block_size: int
    arm: str

    def as_json_dict(self) -> dict[str, str | int]:
        """The slot as a plain dict (the form hashed into ``list_sha256``)."""
        return {
            "arm": self.arm,
            "block_number": self.block_number,
            "block_size": self.block_size,
            "sequence": self.sequence,
            "stratum": self.stratum,
        }


@dataclass(frozen=True, slots=True)
class AllocationList:
    """A generated allocation list with its fingerprints.

    ``seed_sha256`` is the hex SHA-256 of the seed (the seed itself is stored separately, sealed);
    ``list_sha256`` is the hex SHA-256 of :func:`canonical_json` of ``slots``.
    """

    slots: tuple[AllocationSlotSpec, ...]
    seed_sha256: str
    list_sha256: str

    @property
    def strata(self) -> tuple[str, ...]:
        """The strata of the list, in list order, each once."""
        return tuple(dict.fromkeys(slot.stratum for slot in self.slots))

    def slots_for(self, stratum: str) -> tuple[AllocationSlotSpec, ...]:
        """The slots of one stratum, in sequence order."""
        return tuple(slot for slot in self.slots if slot.stratum == stratum)

    def verify(self) -> bool:
        """Return whether ``list_sha256`` matches the slots (a start-up self-check)."""
        return allocation_list_sha256(self.slots) == self.list_sha256


def canonical_json(slots: Sequence[AllocationSlotSpec]) -> str:
    """Canonical JSON of slots: a list of objects with sorted keys, no whitespace, ASCII only."""
    return json.dumps(
        [slot.as_json_dict() for slot in slots], sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )


def allocation_list_sha256(slots: Sequence[AllocationSlotSpec]) -> str:
    """Hex SHA-256 of :func:`canonical_json` of ``slots`` (the identity of an allocation list)."""
    return hashlib.sha256(canonical_json(slots).encode("ascii")).hexdigest()


def _check_token(what: str, value: str) -> None:
    if not value or any(ch in value for ch in _RESERVED_CHARACTERS):
        raise StratumError(f"{what} {value!r} must be non-empty and contain neither '|' nor '='")


def stratum_key(site: str | None, factors: Mapping[str, str], allocation: Allocation) -> str:
    """Return the canonical stratum key of a subject, e.g. ``"site=S01|ecog=0"``.

    The site comes first (only if ``allocation.stratify_by_site``), then the protocol's stratification
    factors in protocol order. Every factor must be given with one of its levels, and no unknown factor
    may be given; otherwise :class:`StratumError` names the factor. With no stratification at all the
    key is :data:`UNSTRATIFIED`.
    """
    parts: list[str] = []
    if allocation.stratify_by_site:
        if site is None:
            raise StratumError("randomization is stratified by site, but no site was given")
        _check_token("site", site)
        parts.append(f"{SITE_FACTOR}={site}")
    known = {factor.id for factor in allocation.stratification_factors}
    unknown = sorted(set(factors) - known)
    if unknown:
        raise StratumError(
            f"unknown stratification factor '{unknown[0]}' "
            f"(the protocol's factors: {', '.join(sorted(known)) or 'none'})"
        )
    for factor in allocation.stratification_factors:
        if factor.id not in factors:
            raise StratumError(f"stratification factor '{factor.id}' ({factor.label}) is missing")
        value = factors[factor.id]
        if value not in factor.levels:
            raise StratumError(
                f"stratification factor '{factor.id}' has value {value!r}, not one of its levels: "
                f"{', '.join(factor.levels)}"
            )
        parts.append(f"{factor.id}={value}")
    return "|".join(parts) if parts else UNSTRATIFIED


def all_strata(sites: Sequence[str], allocation: Allocation) -> list[str]:
    """Every stratum key of the allocation: sites (if stratified by site) x factor levels, in order."""
    site_options: list[str | None] = list(sites) if allocation.stratify_by_site else [None]
    if allocation.stratify_by_site and not sites:
        raise StratumError("randomization is stratified by site, but no sites were given")
    if len(set(site_options)) != len(site_options):
        raise StratumError("duplicate site in the site list")
    level_lists = [factor.levels for factor in allocation.stratification_factors]
    ids = [factor.id for factor in allocation.stratification_factors]
    return [
        stratum_key(site, dict(zip(ids, combination, strict=True)), allocation)
        for site in site_options
        for combination in itertools.product(*level_lists)
    ]


def _arms_per_unit(allocation: Allocation) -> list[str]:
    """One allocation unit: each arm repeated by its weight, arms in sorted id order."""
    return [arm for arm in sorted(allocation.ratio) for _ in range(allocation.ratio[arm])]


def generate_stratum_slots(
    allocation: Allocation, stratum: str, slots_per_stratum: int, seed: bytes
) -> list[AllocationSlotSpec]:
    """Generate the slots of one stratum (see :func:`generate_allocation_list`).

    The stream is ``Drbg(seed, personalization=stratum)``, so a stratum's slots depend only on the seed
    and the stratum key: adding a site later leaves the lists of existing strata unchanged.
    """
    if slots_per_stratum < 1:
        raise ValueError(f"slots_per_stratum must be >= 1, got {slots_per_stratum}")
    drbg = Drbg(seed, personalization=stratum.encode("utf-8"))
    unit = _arms_per_unit(allocation)
    sizes = list(allocation.block_sizes)
    slots: list[AllocationSlotSpec] = []
    block_number = 0
    while len(slots) < slots_per_stratum:
        block_number += 1
        size = sizes[drbg.randbelow(len(sizes))]
        block = unit * (size // len(unit))
        drbg.shuffle(block)
        for arm in block:
            slots.append(AllocationSlotSpec(stratum, len(slots) + 1, block_number, size, arm))
    return slots


def generate_allocation_list(
    allocation: Allocation, strata: Sequence[str], slots_per_stratum: int, seed: bytes
) -> AllocationList:
    """Generate a stratified permuted-block allocation list from a recorded seed.

    Parameters
    ----------
    allocation:
        The randomized phase's allocation (ratio and ``block_sizes``; the method is not consulted).
    strata:
        The stratum keys to generate (e.g. :func:`all_strata`), each once; list order follows it.
    slots_per_stratum:
        Minimum number of slots per stratum (>= 1). Each stratum gets the smallest whole number of
        blocks holding at least this many slots, so it may have up to ``max(block_sizes) - 1`` more.
    seed:
        The recorded seed (>= 32 bytes, e.g. :func:`~trialdesk.domain.randomization.drbg.new_seed`).
        The same seed and inputs always give the identical list.

    Block sizes are drawn uniformly from ``allocation.block_sizes``; each block holds every arm
    ``weight * block_size / sum(weights)`` times, shuffled (ICH E9 2.3.2).
    """
    if not strata:
        raise ValueError("at least one stratum is needed")
    if len(set(strata)) != len(strata):
        raise ValueError("duplicate stratum in the strata list")
    slots = tuple(
        slot
        for stratum in strata
        for slot in generate_stratum_slots(allocation, stratum, slots_per_stratum, seed)
    )
    return AllocationList(
        slots=slots,
        seed_sha256=hashlib.sha256(seed).hexdigest(),
        list_sha256=allocation_list_sha256(slots),
    )
