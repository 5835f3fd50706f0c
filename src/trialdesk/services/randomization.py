"""Use cases of randomization: generate the allocation list (statistician) and randomize a subject.

Claiming a slot is one atomic ``UPDATE stratum_counters SET next_sequence = next_sequence + 1 ...
RETURNING`` on the (list, stratum) row: concurrent requests queue on that row's lock, so no slot is
used twice; the unique constraints on ``allocation_slots.subject_id`` and ``allocations.subject_id``
make a second arm for one subject impossible even if a bug slipped past the service checks.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.models import (
    Allocation,
    AllocationSlot,
    RandomizationList,
    StratumCounter,
)
from trialdesk.domain.protocol.model import Allocation as AllocationSpec
from trialdesk.domain.protocol.model import Phase, Protocol
from trialdesk.domain.randomization.drbg import Drbg, new_seed
from trialdesk.domain.randomization.errors import (
    AlreadyRandomized,
    IneligibleSubject,
    RandomizationClosed,
    StratumError,
    StratumExhausted,
)
from trialdesk.domain.randomization.minimization import minimization_assign
from trialdesk.domain.randomization.permuted_blocks import all_strata, generate_allocation_list, stratum_key
from trialdesk.domain.roles import Capability
from trialdesk.domain.subjects import SubjectStatus
from trialdesk.domain.trial_phase import PhaseState, randomization_allowed
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import Conflict, InvalidInput
from trialdesk.services.trials import get_trial

RANDOMIZABLE = (SubjectStatus.enrolled.value, SubjectStatus.on_treatment.value)


def randomized_phase(protocol: Protocol) -> Phase:
    """The protocol's randomized phase (409 for a design without one)."""
    for phase in protocol.design.phases:
        if phase.kind == "randomized" and phase.allocation is not None:
            return phase
    raise RandomizationClosed(f"{protocol.id} has no randomized phase")


def _allocation(phase: Phase) -> AllocationSpec:
    assert phase.allocation is not None  # guaranteed by randomized_phase()
    return phase.allocation


def generate_list(
    session: Session, actor: Actor, protocol: Protocol, *, slots_per_stratum: int, seed_hex: str | None = None
) -> RandomizationList:
    """The statistician generates the allocation list for every stratum not yet covered.

    The seed is recorded (visible to statisticians only) so the list can be regenerated and its
    hash re-checked; a random 32-byte seed is drawn when none is given.
    """
    actor.require(Capability.GENERATE_RANDOMIZATION_LIST)
    phase = randomized_phase(protocol)
    trial = get_trial(session, protocol.id)
    if trial.phase_state == PhaseState.terminated.value:
        raise Conflict(
            f"no allocation list can be generated: the trial is terminated ({trial.state_reason})",
            rule="trial_terminated",
        )
    allocation = _allocation(phase)
    if not 1 <= slots_per_stratum <= 10_000:
        raise InvalidInput("slots_per_stratum must be between 1 and 10000", field="slots_per_stratum")
    try:
        seed = bytes.fromhex(seed_hex) if seed_hex else new_seed()
    except ValueError:
        raise InvalidInput("seed_hex must be hexadecimal", field="seed_hex") from None
    if len(seed) < 32:
        raise InvalidInput("the seed must have at least 32 bytes (64 hex digits)", field="seed_hex")
    sites = subject_repository.site_codes(session, protocol.id)
    if allocation.stratify_by_site and not sites:
        raise Conflict("add the trial's sites before generating a site-stratified list", rule="no_sites")
    covered = set(
        session.scalars(
            select(StratumCounter.stratum)
            .join(RandomizationList, RandomizationList.id == StratumCounter.list_id)
            .where(RandomizationList.protocol_id == protocol.id, RandomizationList.active.is_(True))
        )
    )
    strata = [s for s in all_strata(sites, allocation) if s not in covered]
    if allocation.method == "minimization":
        strata = []
    elif not strata:
        raise Conflict("every stratum already has an active allocation list", rule="list_exists")
    generated = generate_allocation_list(allocation, strata, slots_per_stratum, seed) if strata else None
    record = RandomizationList(
        protocol_id=protocol.id,
        phase_id=phase.id,
        method=allocation.method,
        seed_hex=seed.hex(),
        seed_sha256=hashlib.sha256(seed).hexdigest(),
        list_sha256=generated.list_sha256 if generated else hashlib.sha256(b"minimization").hexdigest(),
        slots_per_stratum=slots_per_stratum,
        active=True,
        created_by=actor.user_id,
        created_at=clock.now(),
    )
    session.add(record)
    session.flush()
    if generated is not None:
        _store_slots(session, record.id, generated.slots)
    return record


def _store_slots(session: Session, list_id: int, slots: Any) -> None:
    sizes: dict[str, int] = {}
    session.add_all(
        AllocationSlot(
            list_id=list_id,
            stratum=slot.stratum,
            sequence=slot.sequence,
            block_number=slot.block_number,
            block_size=slot.block_size,
            arm_id=slot.arm,
        )
        for slot in slots
    )
    for slot in slots:
        sizes[slot.stratum] = max(sizes.get(slot.stratum, 0), slot.sequence)
    session.add_all(
        StratumCounter(list_id=list_id, stratum=stratum, next_sequence=1, size=size)
        for stratum, size in sizes.items()
    )
    session.flush()


def record_level(record: Mapping[str, Any], factor_id: str) -> str | None:
    """A stratification factor's level as the subject's record states it (the record field of the
    factor's id, e.g. ``ecog`` from the screening record), or ``None`` when the record lacks it."""
    value = record.get(factor_id)
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _factor_values(
    protocol_allocation: AllocationSpec, given: Mapping[str, str], record: Mapping[str, Any]
) -> dict[str, str]:
    """Stratification factor levels, derived on the server from the subject's record.

    The client may omit ``given``; a level it sends must equal the record's (409 naming the factor and
    both values), and a factor missing from the record refuses the randomization (422 naming it).
    """
    known = {f.id for f in protocol_allocation.stratification_factors}
    unknown = sorted(set(given) - known - {"site"})
    if unknown:
        raise InvalidInput(f"unknown stratification factor(s): {', '.join(unknown)}", field="strata")
    values: dict[str, str] = {}
    for factor in protocol_allocation.stratification_factors:
        value = record_level(record, factor.id)
        if value is None:
            raise InvalidInput(
                f"stratification factor '{factor.id}' ({factor.label}) is missing from the subject's record: "
                "correct the record before randomizing",
                field=f"strata.{factor.id}",
            )
        claimed = given.get(factor.id)
        if claimed is not None and str(claimed) != value:
            raise Conflict(
                f"stratification factor '{factor.id}': the request says '{claimed}' but the subject's "
                f"record says '{value}'; the record decides",
                rule="stratum_from_record",
            )
        values[factor.id] = value
    return values


def _check_site_claim(given: Mapping[str, str], site_code: str) -> None:
    claimed = given.get("site")
    if claimed is not None and str(claimed) != site_code:
        raise Conflict(
            f"stratification factor 'site': the request says '{claimed}' but the subject's site is "
            f"'{site_code}'; the record decides",
            rule="stratum_from_record",
        )


def derived_strata(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> dict[str, str]:
    """The stratum levels a randomization of ``subject_id`` would use, derived from the subject's site
    and record exactly as :func:`randomize` derives them (shown for confirmation before randomizing).
    A factor missing from the record is the same 422 as at randomization."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    allocation_spec = _allocation(randomized_phase(protocol))
    site_code = subject_repository.site_code(session, subject.site_id)
    factors = _factor_values(allocation_spec, {}, subject.patient_record)
    return {**({"site": site_code} if allocation_spec.stratify_by_site else {}), **factors}


def randomize(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, strata: Mapping[str, str]
) -> Allocation:
    """Assign the subject the next slot of their stratum (or a minimization decision), atomically."""
    actor.require(Capability.RANDOMIZE)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    trial = get_trial(session, protocol.id)
    if not randomization_allowed(trial.phase_state):
        raise RandomizationClosed(
            f"randomization is closed: the trial is '{trial.phase_state}' ({trial.state_reason})"
        )
    phase = randomized_phase(protocol)
    if subject_repository.allocation_of(session, subject.id) is not None:
        raise AlreadyRandomized(f"subject {subject.id} is already randomized")
    if subject.status not in RANDOMIZABLE or subject.phase_id != phase.id:
        raise IneligibleSubject(
            f"only subjects enrolled in phase '{phase.id}' can be randomized (subject is '{subject.status}', "
            f"phase {subject.phase_id})"
        )
    allocation_spec = _allocation(phase)
    site_code = subject_repository.site_code(session, subject.site_id)
    _check_site_claim(strata, site_code)
    factors = _factor_values(allocation_spec, strata, subject.patient_record)
    try:
        key = stratum_key(site_code if allocation_spec.stratify_by_site else None, factors, allocation_spec)
    except StratumError as exc:
        raise InvalidInput(str(exc), field="strata") from None
    if allocation_spec.method == "minimization":
        arm, slot_id = _minimize(session, protocol, phase, allocation_spec, site_code, factors), None
    else:
        arm, slot_id = _claim_slot(session, protocol, key, subject.id)
    allocation = Allocation(
        subject_id=subject.id,
        protocol_id=protocol.id,
        phase_id=phase.id,
        arm_id=arm,
        method=allocation_spec.method,
        stratum=key,
        strata_values={"site": site_code, **factors},
        slot_id=slot_id,
        allocated_at=clock.now(),
        allocated_by=actor.user_id,
    )
    session.add(allocation)
    subject.arm_id = arm
    session.flush()
    return allocation


def _claim_slot(session: Session, protocol: Protocol, stratum: str, subject_id: int) -> tuple[str, int]:
    lists = select(RandomizationList.id).where(
        RandomizationList.protocol_id == protocol.id, RandomizationList.active.is_(True)
    )
    claimed = session.execute(
        update(StratumCounter)
        .where(
            StratumCounter.list_id.in_(lists.scalar_subquery()),
            StratumCounter.stratum == stratum,
            StratumCounter.next_sequence <= StratumCounter.size,
        )
        .values(next_sequence=StratumCounter.next_sequence + 1)
        .returning(StratumCounter.list_id, StratumCounter.next_sequence)
    ).first()
    if claimed is None:
        raise StratumExhausted(
            f"no allocation slot left for stratum '{stratum}': the statistician must generate a list for it"
        )
    list_id, next_sequence = claimed
    slot = session.scalars(
        select(AllocationSlot).where(
            AllocationSlot.list_id == list_id,
            AllocationSlot.stratum == stratum,
            AllocationSlot.sequence == next_sequence - 1,
        )
    ).one()
    if slot.subject_id is not None:
        raise Conflict(f"slot {slot.id} is already used", rule="slot_used_once")
    slot.subject_id = subject_id
    session.flush()
    return slot.arm_id, slot.id


def _minimize(
    session: Session,
    protocol: Protocol,
    phase: Phase,
    spec: AllocationSpec,
    site_code: str,
    factors: Mapping[str, str],
) -> str:
    record = session.scalars(
        select(RandomizationList)
        .where(RandomizationList.protocol_id == protocol.id, RandomizationList.active.is_(True))
        .order_by(RandomizationList.id)
    ).first()
    if record is None:
        raise StratumExhausted("no active randomization record: the statistician must create one")
    previous_rows = session.scalars(
        select(Allocation)
        .where(Allocation.protocol_id == protocol.id, Allocation.phase_id == phase.id)
        .order_by(Allocation.id)
    ).all()
    previous = [({k: str(v) for k, v in row.strata_values.items()}, row.arm_id) for row in previous_rows]
    subject_factors = {**({"site": site_code} if spec.stratify_by_site else {}), **factors}
    # One generator per allocation, derived from the recorded seed and the allocation's position,
    # so the whole sequence can be replayed from the seed.
    seed = hmac.new(bytes.fromhex(record.seed_hex), str(len(previous)).encode(), hashlib.sha256).digest()
    try:
        return minimization_assign(previous, subject_factors, spec, Drbg(seed)).arm
    except StratumError as exc:
        raise InvalidInput(str(exc), field="strata") from None
