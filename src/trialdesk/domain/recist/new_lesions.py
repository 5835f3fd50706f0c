"""New lesions across time points: equivocal lesions, back-dating, and iRECIST new target lesions.

RECIST 1.1 (Eisenhauer 2009) s4.3.3: an equivocal new lesion does not count; if a later scan
confirms it, progression is dated to the scan where it was first seen. A new lesion is identified
across time points by its id; an equivocal lesion is confirmed when a later assessment lists the
same id as unequivocal, and resolved when it is no longer listed.

iRECIST (Seymour 2017): measurable new lesions (RECIST 1.1 size rules) are new target lesions
(NLT), at most 5 in total and 2 per organ, in order of first appearance, with their own sum of
measures (SOM), never added to the baseline sum; other new lesions are new non-target (NLNT).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from trialdesk.domain.recist.assessment import Assessment, NewLesion
from trialdesk.domain.recist.baseline import (
    LYMPH_NODE_ORGAN,
    MAX_TARGET_LESIONS,
    MAX_TARGETS_PER_ORGAN,
    exact,
)
from trialdesk.domain.recist.measurability import NODE_MEASURABLE_MIN_MM, NON_NODAL_MIN_MM

NewLesionStatus = Literal["yes", "no", "equivocal"]


@dataclass(frozen=True)
class NewLesionFindings:
    """New lesions at one time point.

    ``counted``: ids that count as new lesions here (unequivocal, or equivocal here and confirmed
    later: ``backdated``). ``equivocal``: equivocal ids not (or not yet) confirmed.
    """

    counted: frozenset[str]
    backdated: frozenset[str]
    equivocal: frozenset[str]

    @property
    def status(self) -> NewLesionStatus:
        """``yes`` when a new lesion counts, ``equivocal`` when only equivocal ones are seen, else ``no``."""
        if self.counted:
            return "yes"
        return "equivocal" if self.equivocal else "no"


def resolve_new_lesions(assessments: Sequence[Assessment]) -> list[NewLesionFindings]:
    """Which new lesions count at each time point, with equivocal lesions dated back when confirmed.

    RECIST 1.1 s4.3.3: an equivocal lesion listed at assessments i..j-1 and unequivocal at j counts
    from assessment i on (progression dated to the first scan).
    """
    confirmed_at: dict[str, int] = {}
    for index, assessment in enumerate(assessments):
        for lesion in assessment.new_lesions:
            if not lesion.equivocal:
                confirmed_at.setdefault(lesion.id, index)
    findings: list[NewLesionFindings] = []
    for index, assessment in enumerate(assessments):
        counted: set[str] = set()
        backdated: set[str] = set()
        equivocal: set[str] = set()
        for lesion in assessment.new_lesions:
            if not lesion.equivocal:
                counted.add(lesion.id)
            elif confirmed_at.get(lesion.id, -1) > index:
                counted.add(lesion.id)
                backdated.add(lesion.id)
            else:
                equivocal.add(lesion.id)
        findings.append(NewLesionFindings(frozenset(counted), frozenset(backdated), frozenset(equivocal)))
    return findings


def is_measurable_new_lesion(lesion: NewLesion) -> bool:
    """A new lesion meets the RECIST 1.1 s3.1 size rule (10 mm; nodes 15 mm short axis)."""
    if lesion.diameter_mm is None:
        return False
    return lesion.diameter_mm >= (NODE_MEASURABLE_MIN_MM if lesion.nodal else NON_NODAL_MIN_MM)


def select_new_target_lesions(
    assessments: Sequence[Assessment], findings: Sequence[NewLesionFindings]
) -> list[str]:
    """iRECIST NLT: measurable counted new lesions, first appearance first, at most 5 and 2 per organ."""
    chosen: list[str] = []
    per_organ: Counter[str] = Counter()
    for assessment, found in zip(assessments, findings, strict=True):
        for lesion in assessment.new_lesions:
            if lesion.id in chosen or lesion.id not in found.counted or not is_measurable_new_lesion(lesion):
                continue
            organ = LYMPH_NODE_ORGAN if lesion.nodal else lesion.site.strip().lower()
            if len(chosen) < MAX_TARGET_LESIONS and per_organ[organ] < MAX_TARGETS_PER_ORGAN:
                chosen.append(lesion.id)
                per_organ[organ] += 1
    return chosen


def new_target_som(assessment: Assessment, nlt_ids: Sequence[str]) -> Fraction | None:
    """iRECIST NLT sum of measures at one time point; ``None`` when none is listed or one is unmeasured.

    A new target lesion no longer listed counts 0 mm (resolved).
    """
    listed = {lesion.id: lesion for lesion in assessment.new_lesions if lesion.id in nlt_ids}
    if not listed:
        return None
    if any(lesion.diameter_mm is None for lesion in listed.values()):
        return None
    return sum((exact(lesion.diameter_mm or 0.0) for lesion in listed.values()), Fraction(0))


def new_non_target_increased(assessment: Assessment, counted: frozenset[str], nlt_ids: Sequence[str]) -> bool:
    """iRECIST: a counted new non-target lesion (NLNT) grew since the previous assessment."""
    return any(
        lesion.increased and lesion.id in counted and lesion.id not in nlt_ids
        for lesion in assessment.new_lesions
    )
