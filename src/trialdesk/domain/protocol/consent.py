"""The informed-consent form versions of a protocol file (``consent_versions``).

Each version has an id and the date from which it is the form in use (after the ethics committee's
approval: ICH E6(R2) 4.8.2, "any revised written informed consent form ... should receive the
IRB/IEC's approval/favourable opinion in advance of use"). Versions are listed oldest first, with
unique ids and strictly increasing effective dates, so the version in use on any day is the last one
effective on or before it. A protocol file without the list gets one documented default version.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from itertools import pairwise
from typing import Annotated

from pydantic import AfterValidator, Field

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.protocol.parameters import Provenance

VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class ConsentVersion(FrozenModel):
    """One version of the informed-consent form: its id, the first day it is in use, and where the
    version and date come from (``provenance`` and ``rationale`` as for a :class:`Parameter`)."""

    version: str = Field(pattern=VERSION_PATTERN, max_length=32)
    effective_date: dt.date
    provenance: Provenance
    rationale: str = Field(min_length=3, description="Seed passage, or why this default was chosen")
    summary: str | None = Field(default=None, description="What changed from the previous version")


def _ordered(versions: list[ConsentVersion]) -> list[ConsentVersion]:
    """Unique version ids, effective dates strictly increasing in list order."""
    duplicates = sorted(v for v, n in Counter(c.version for c in versions).items() if n > 1)
    if duplicates:
        raise ValueError(f"duplicate consent version id(s): {', '.join(duplicates)}")
    for earlier, later in pairwise(versions):
        if later.effective_date <= earlier.effective_date:
            raise ValueError(
                f"consent version '{later.version}' is effective on {later.effective_date}, not after "
                f"version '{earlier.version}' ({earlier.effective_date}): list versions oldest first"
            )
    return versions


def default_consent_versions() -> list[ConsentVersion]:
    """One form, version 1.0, in use from the start (a protocol file that lists no versions)."""
    return [
        ConsentVersion(
            version="1.0",
            effective_date=dt.date(2000, 1, 1),
            provenance="default",
            rationale="The protocol file lists no consent versions: one form, version 1.0, in use "
            "from the start of the trial.",
        )
    ]


ConsentVersions = Annotated[list[ConsentVersion], Field(min_length=1), AfterValidator(_ordered)]
"""The ``consent_versions`` list of a protocol file, validated (unique ids, increasing dates)."""
