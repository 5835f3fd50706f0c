"""Reading the randomization lists and the allocations (statistician only; never shown to site
roles). Each read is an audited export (:func:`trialdesk.services.exports.audited_export`).

Generating a list and randomizing a subject are in :mod:`trialdesk.services.randomization`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import Allocation, AllocationSlot, RandomizationList
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services.actors import Actor
from trialdesk.services.exports import audited_export


def list_summary(session: Session, record: RandomizationList) -> dict[str, Any]:
    """A list's identity, hashes and slot count by stratum (no arms, no seed)."""
    slots = session.scalars(select(AllocationSlot).where(AllocationSlot.list_id == record.id))
    strata: dict[str, int] = {}
    for slot in slots:
        strata[slot.stratum] = strata.get(slot.stratum, 0) + 1
    return {
        "id": record.id,
        "phase_id": record.phase_id,
        "method": record.method,
        "seed_sha256": record.seed_sha256,
        "list_sha256": record.list_sha256,
        "slots_per_stratum": record.slots_per_stratum,
        "strata": strata,
        "created_at": record.created_at.isoformat(),
    }


def list_summaries(session: Session, actor: Actor, protocol: Protocol) -> list[dict[str, Any]]:
    """Every allocation list of the trial without its seed or slots (statistician; not an export of
    the allocations, so not audited: :func:`allocation_lists` is)."""
    actor.require(Capability.VIEW_ALLOCATION_LIST)
    records = session.scalars(
        select(RandomizationList)
        .where(RandomizationList.protocol_id == protocol.id)
        .order_by(RandomizationList.id)
    )
    return [{**list_summary(session, record), "active": record.active} for record in records]


def allocation_lists(session: Session, actor: Actor, protocol: Protocol) -> list[dict[str, Any]]:
    """Every allocation list of the trial with its seed and slots (the arm of each); audited."""
    actor.require(Capability.VIEW_ALLOCATION_LIST)
    records = session.scalars(select(RandomizationList).where(RandomizationList.protocol_id == protocol.id))
    out = []
    for record in records:
        item = list_summary(session, record)
        item["seed_hex"] = record.seed_hex
        item["slots"] = [
            {
                "stratum": s.stratum,
                "sequence": s.sequence,
                "block": s.block_number,
                "block_size": s.block_size,
                "arm": s.arm_id,
                "subject_id": s.subject_id,
            }
            for s in session.scalars(
                select(AllocationSlot)
                .where(AllocationSlot.list_id == record.id)
                .order_by(AllocationSlot.stratum, AllocationSlot.sequence)
            )
        ]
        out.append(item)
    audited_export(session, "randomization_lists", protocol.id, reason="allocation list viewed")
    return out


def allocations(session: Session, actor: Actor, protocol: Protocol) -> list[dict[str, Any]]:
    """Every allocation of the trial with the stratum values used; audited."""
    actor.require(Capability.VIEW_ALLOCATION_LIST)
    rows = session.scalars(
        select(Allocation).where(Allocation.protocol_id == protocol.id).order_by(Allocation.id)
    )
    out = [
        {
            "subject_id": a.subject_id,
            "arm": a.arm_id,
            "stratum": a.stratum,
            "strata_values": a.strata_values,
            "method": a.method,
            "slot_id": a.slot_id,
            "allocated_at": a.allocated_at.isoformat(),
        }
        for a in rows
    ]
    audited_export(session, "allocations", protocol.id, reason="allocations viewed")
    return out
