"""Informed consent and re-consent (pure rules, no I/O).

Rules (ICH E6(R2) good clinical practice, section 4.8):

* 4.8.2: a revised consent form is used only from its approval; a subject already in the trial is
  informed of the new information and signs the revised form ("re-consent"), documented.
* 4.8.8: the form is signed and dated by the subject and by the person who conducted the consent
  discussion (``obtained_by``); the date is a clinical date, never in the future.

What the product derives from these:

* the version in use on a day is the last version of ``consent_versions`` effective on or before it;
* the screening consent counts as the version in use on the day it was signed;
* a subject still in the study needs the current version: when the latest version they signed is
  older, re-consent is due at the next visit of their calendar on or after the new version's
  effective date (flagged until signed), and overdue once that visit has passed without it;
* a visit done on or after a version became effective, while the subject had signed only an older
  one, is a protocol deviation ("visit done without required re-consent"), once per version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from trialdesk.domain.protocol.consent import ConsentVersion


@dataclass(frozen=True)
class SignedConsent:
    """A consent form version signed by the subject on ``date``."""

    version: str
    date: dt.date


@dataclass(frozen=True)
class VisitOccasion:
    """A calendar visit as re-consent sees it: when it happens (done date, or the planned date while it
    is open), whether it was done, and whether its window has passed without it."""

    visit_id: str
    label: str
    date: dt.date
    done: bool
    overdue: bool = False


@dataclass(frozen=True)
class ReconsentDue:
    """Re-consent to ``version`` (effective ``effective_date``) is due: at ``visit`` when the calendar
    has one on or after that date (``None``: at the next contact, no visit planned yet); ``overdue``
    once that visit has passed without re-consent."""

    version: str
    effective_date: dt.date
    latest_signed: str | None
    visit: VisitOccasion | None
    overdue: bool


def version_on(versions: Sequence[ConsentVersion], day: dt.date) -> ConsentVersion | None:
    """The consent version in use on ``day`` (the last one effective on or before it), or ``None``
    before the first version."""
    current = None
    for version in versions:
        if version.effective_date <= day:
            current = version
    return current


def _rank(versions: Sequence[ConsentVersion]) -> dict[str, int]:
    return {v.version: index for index, v in enumerate(versions)}


def latest_signed(versions: Sequence[ConsentVersion], signed: Sequence[SignedConsent]) -> str | None:
    """The newest version (in protocol order) among those signed, or ``None`` when none is known."""
    rank = _rank(versions)
    known = [s for s in signed if s.version in rank]
    return max(known, key=lambda s: rank[s.version]).version if known else None


def _due_visit(visits: Sequence[VisitOccasion], since: dt.date) -> VisitOccasion | None:
    """The first visit on or after ``since`` (done or still open)."""
    after = sorted((v for v in visits if v.date >= since), key=lambda v: (v.date, v.visit_id))
    return after[0] if after else None


def reconsent_due(
    versions: Sequence[ConsentVersion],
    signed: Sequence[SignedConsent],
    visits: Sequence[VisitOccasion],
    today: dt.date,
) -> ReconsentDue | None:
    """Whether a subject still in the study must sign the current version, and by which visit.

    ``signed``: the subject's consents; ``visits``: their calendar's visits done or still open (missed
    and not-required visits left out: no contact happened). ``None`` when the latest version signed is
    the current one (or no version is in use yet).
    """
    current = version_on(versions, today)
    if current is None:
        return None
    newest = latest_signed(versions, signed)
    rank = _rank(versions)
    if newest is not None and rank[newest] >= rank[current.version]:
        return None
    visit = _due_visit(visits, current.effective_date)
    overdue = visit is not None and ((visit.done and visit.date < today) or visit.overdue)
    return ReconsentDue(current.version, current.effective_date, newest, visit, overdue)


def visits_without_reconsent(
    versions: Sequence[ConsentVersion], signed: Sequence[SignedConsent], visits_done: Sequence[VisitOccasion]
) -> list[tuple[VisitOccasion, ConsentVersion]]:
    """Each first visit done while the version in use that day was newer than any the subject had
    signed by then (one per version); nothing before the subject's first consent is judged."""
    rank = _rank(versions)
    known = [s for s in signed if s.version in rank]
    if not known:
        return []
    first = min(s.date for s in known)
    found: list[tuple[VisitOccasion, ConsentVersion]] = []
    flagged: set[str] = set()
    for visit in sorted(visits_done, key=lambda v: (v.date, v.visit_id)):
        required = version_on(versions, visit.date)
        if required is None or visit.date < first or required.version in flagged:
            continue
        held = [rank[s.version] for s in known if s.date <= visit.date]
        if not held or max(held) < rank[required.version]:
            found.append((visit, required))
            flagged.add(required.version)
    return found
