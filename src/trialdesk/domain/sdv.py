"""Risk-based source data verification plan (issue 14), pure rules.

The plan is protocol data: each item names a case report form (``form``) or a clinical table
(``table``: adverse events, tumour assessments...), the fields to verify (none: every field) and the
fraction of records to verify: 1.0 for the critical data (eligibility, primary endpoint, serious
adverse events), a sample for the rest. This follows the risk-based monitoring of ICH E6(R2) 5.0 /
E6(R3) 3.11.4 and the FDA guidance "Oversight of Clinical Investigations - A Risk-Based Approach to
Monitoring" (2013): critical data verified in full, other data sampled.

The sample is deterministic: a record is in the sample when the first 32 bits of
SHA-256("protocol:table:record id") divided by 2**32 is below the fraction, so the same record is
always in or out whatever the order of reading, and about ``fraction`` of the records are in.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field, model_validator

from trialdesk.domain.common import FrozenModel

SdvState = Literal["verified", "unverified", "changed"]
"""A planned item's state: verified (the value's hash equals the verified one), never verified, or
changed since verification (hash differs: verify again)."""


class SdvPlanItem(FrozenModel):
    """One line of the SDV plan: a form or a table, its fields (empty: all), the fraction verified."""

    form: str | None = Field(default=None, description="A case report form id of the protocol")
    table: Literal["adverse_events", "tumour_assessments", "tumour_baselines"] | None = None
    fields: list[str] = Field(default_factory=list, description="Fields to verify (empty: every field)")
    fraction: float = Field(gt=0, le=1, description="1.0: every record (100% SDV); below: a sample")
    only_serious: bool = Field(default=False, description="adverse_events only: serious ones")
    rationale: str = ""

    @model_validator(mode="after")
    def _one_target(self) -> SdvPlanItem:
        if (self.form is None) == (self.table is None):
            raise ValueError("an SDV plan item names exactly one of 'form' or 'table'")
        return self

    @property
    def target(self) -> str:
        """The form id or table name."""
        return self.form or self.table or ""


class SdvPlan(FrozenModel):
    """The protocol's risk-based SDV plan (empty: nothing planned)."""

    items: list[SdvPlanItem] = Field(default_factory=list)


def sample_point(protocol_id: str, table: str, record_id: str) -> float:
    """A stable number in [0, 1) for a record (SHA-256 of 'protocol:table:record id', 32 bits)."""
    digest = hashlib.sha256(f"{protocol_id}:{table}:{record_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def in_sample(protocol_id: str, table: str, record_id: str, fraction: float) -> bool:
    """Whether the record is in the plan's sample of ``fraction`` (always for 1.0)."""
    return fraction >= 1 or sample_point(protocol_id, table, record_id) < fraction


def state(verified_sha256: str | None, current_sha256: str) -> SdvState:
    """verified / unverified / changed, from the verified and current hashes of the value."""
    if verified_sha256 is None:
        return "unverified"
    return "verified" if verified_sha256 == current_sha256 else "changed"


def value_sha256(text: str | None) -> str:
    """SHA-256 (hex) of a value's canonical text (None hashes as the empty marker)."""
    return hashlib.sha256(("\x00" if text is None else "v" + text).encode("utf-8")).hexdigest()
