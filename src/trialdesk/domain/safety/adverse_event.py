"""The adverse-event record as entered: its vocabularies, its validation and the derived maximum grade.

The record (one row per *episode*): a CTCAE v5.0 term from the shipped catalogue (or free text,
flagged for coding) with its MedDRA SOC, grade 1-5 (grade 5 needs the death date), onset and
resolution dates, SAE criteria (ICH E2A), outcome and action taken (CDISC AEOUT / AEACN vocabularies,
lower case), and the investigator's attribution for EACH treatment component of the subject's arm on
the scale unrelated / unlikely / possible / probable / definite ("treatment-related" follows the
protocol's ``attribution.related_levels``, decided by
:func:`trialdesk.domain.safety.stopping_rules.is_treatment_related`).

Pure: the catalogue, today's date and the current moment are passed in, and what validation needs to
know about the subject is a :class:`SubjectFacts`. Each problem is an
:class:`~trialdesk.domain.errors.InvalidValue` naming the field (an attribution without an allocated
arm is the rule violation :class:`AttributionNeedsArm`). The maximum grade per term per subject is
derived (:func:`max_grades`), never entered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from typing import Protocol as TypingProtocol

from trialdesk.domain.errors import InvalidValue, RuleViolation
from trialdesk.domain.plausibility import MAX_SHORT_TEXT_LENGTH, check_clinical_date, check_text
from trialdesk.domain.protocol.model import AttributionPolicy, Protocol
from trialdesk.domain.safety.ctcae import TermCatalogue, max_grade_by_term
from trialdesk.domain.safety.stopping_rules import ATTRIBUTION_LEVELS, is_treatment_related

SAE_CRITERIA = (
    "death",
    "life_threatening",
    "hospitalization",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
)
"""ICH E2A seriousness criteria (results in death, life-threatening, requires or prolongs
hospitalisation, persistent or significant disability, congenital anomaly, important medical event)."""

OUTCOMES = ("recovered", "recovering", "not_recovered", "recovered_with_sequelae", "fatal", "unknown")
"""CDISC AEOUT outcome values (RECOVERED/RESOLVED, ... FATAL, UNKNOWN), lower case."""

ACTIONS = (
    "dose_not_changed",
    "dose_reduced",
    "drug_interrupted",
    "drug_withdrawn",
    "not_applicable",
    "unknown",
)
"""CDISC AEACN action taken with study treatment; ``drug_withdrawn`` = AE leading to discontinuation."""

SAE_REPORTING_HOURS = 24
"""An SAE recorded later than this many hours after the site learned of it is flagged late."""


class AttributionNeedsArm(RuleViolation):
    """Attribution names treatment components of the subject's arm: the subject must be allocated."""

    def __init__(self) -> None:
        super().__init__(
            "attribution needs the subject's arm: the subject is not allocated yet", rule="arm_unknown"
        )


@dataclass(frozen=True)
class AdverseEventInput:
    """One AE episode as entered (dates are calendar dates; ``site_aware_at`` a UTC moment).

    ``free_text``: the term is not in the catalogue and is recorded as written, flagged for coding.
    ``sae_criteria``: empty for a non-serious AE; grade 5 adds ``death`` automatically.
    """

    term: str
    grade: int
    onset_date: dt.date
    death_date: dt.date | None = None
    attributions: Mapping[str, str] = field(default_factory=dict)
    free_text: bool = False
    soc: str | None = None
    verbatim: str | None = None
    resolution_date: dt.date | None = None
    sae_criteria: tuple[str, ...] = ()
    site_aware_at: dt.datetime | None = None
    outcome: str | None = None
    action_taken: str | None = None
    baseline_condition: bool = False
    """A condition present before consent (its onset may precede the consent date)."""


@dataclass(frozen=True)
class Coded:
    """The validated, coded form of an :class:`AdverseEventInput`."""

    term: str
    soc: str | None
    needs_coding: bool
    sae_criteria: list[str]
    outcome: str | None
    attributions: dict[str, str]


@dataclass(frozen=True)
class SubjectFacts:
    """What AE validation needs to know about the subject: consent and death dates, allocated arm."""

    consent_date: dt.date | None
    death_date: dt.date | None
    arm_id: str | None


class RecordedAdverseEvent(TypingProtocol):
    """A stored AE episode as :func:`max_grades` reads it (the database row satisfies it)."""

    @property
    def term(self) -> str: ...

    @property
    def grade(self) -> int: ...

    @property
    def soc(self) -> str | None: ...

    @property
    def attributions(self) -> Mapping[str, Any] | None: ...


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A timezone-aware UTC datetime (a naive value is UTC by construction)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def check_attributions(
    protocol: Protocol, arm_id: str | None, attributions: Mapping[str, str]
) -> dict[str, str]:
    """Attributions must name components of the subject's arm, each on the five-point scale."""
    if not attributions:
        return {}
    if arm_id is None:
        raise AttributionNeedsArm()
    components = protocol.arm(arm_id).interventions
    for component, level in attributions.items():
        if component not in components:
            raise InvalidValue(
                f"'{component}' is not a treatment component of arm {arm_id} ({', '.join(components)})",
                field=f"attributions.{component}",
            )
        if level not in ATTRIBUTION_LEVELS:
            raise InvalidValue(
                f"attribution '{level}' is not one of {', '.join(ATTRIBUTION_LEVELS)}",
                field=f"attributions.{component}",
            )
    return dict(attributions)


def _code_term(data: AdverseEventInput, catalogue: TermCatalogue) -> tuple[str, str | None, bool]:
    name = " ".join(data.term.split())
    if not name:
        raise InvalidValue("the AE term is required", field="term")
    entry = catalogue.lookup(name)
    if entry is None:
        if not data.free_text:
            raise InvalidValue(
                f"'{name}' is not a CTCAE v5.0 term of the catalogue; set free_text to record it as a "
                "free-text term (flagged for coding)",
                field="term",
            )
        return name, (data.soc.strip() if data.soc and data.soc.strip() else None), True
    if data.grade not in entry.grades:
        raise InvalidValue(
            f"CTCAE v5.0 '{entry.term}' has grade(s) {', '.join(map(str, entry.grades))} only",
            field="grade",
        )
    if data.soc is not None and data.soc.strip() and data.soc.strip() != entry.soc:
        raise InvalidValue(f"'{entry.term}' belongs to SOC '{entry.soc}', not '{data.soc}'", field="soc")
    if entry.other_specify and not (data.verbatim and data.verbatim.strip()):
        raise InvalidValue(f"'{entry.term}' needs the verbatim description of the event", field="verbatim")
    return entry.term, entry.soc, False


def _check_against_subject(data: AdverseEventInput, subject: SubjectFacts, today: dt.date) -> None:
    """Onset and resolution are clinical dates not after the subject's death; an onset before the
    consent is accepted only for a condition flagged as present at baseline."""
    check_clinical_date("onset_date", data.onset_date, today=today, death_date=subject.death_date)
    if data.resolution_date is not None and data.resolution_date <= today:
        death = data.death_date if data.death_date is not None else subject.death_date
        check_clinical_date("resolution_date", data.resolution_date, today=today, death_date=death)
    consent = subject.consent_date
    if consent is not None and data.onset_date < consent and not data.baseline_condition:
        raise InvalidValue(
            f"onset date {data.onset_date} is before the subject's consent {consent}: flag it as a "
            "baseline condition (baseline_condition) if it was present before the study",
            field="onset_date",
        )


def _check_dates(data: AdverseEventInput, subject: SubjectFacts, today: dt.date) -> None:
    if data.onset_date > today:
        raise InvalidValue(f"onset date {data.onset_date} is in the future", field="onset_date")
    _check_against_subject(data, subject, today)
    if data.resolution_date is not None:
        if data.resolution_date < data.onset_date:
            raise InvalidValue(
                f"resolution date {data.resolution_date} is before the onset date {data.onset_date}",
                field="resolution_date",
            )
        if data.resolution_date > today:
            raise InvalidValue(
                f"resolution date {data.resolution_date} is in the future", field="resolution_date"
            )
    if data.grade == 5 and data.death_date is None:
        raise InvalidValue("a grade-5 AE (death) needs the death date", field="death_date")
    if data.grade < 5 and data.death_date is not None:
        raise InvalidValue("only a grade-5 AE has a death date", field="death_date")
    if data.death_date is not None:
        if data.death_date < data.onset_date:
            raise InvalidValue(
                f"death date {data.death_date} is before the onset date {data.onset_date}", field="death_date"
            )
        if data.death_date > today:
            raise InvalidValue(f"death date {data.death_date} is in the future", field="death_date")
        if subject.death_date is not None and subject.death_date != data.death_date:
            raise InvalidValue(
                f"death date {data.death_date} differs from the subject's death record "
                f"({subject.death_date})",
                field="death_date",
            )


def _check_seriousness(data: AdverseEventInput, now: dt.datetime) -> tuple[list[str], str | None]:
    for criterion in data.sae_criteria:
        if criterion not in SAE_CRITERIA:
            raise InvalidValue(
                f"'{criterion}' is not an SAE criterion ({', '.join(SAE_CRITERIA)})", field="sae_criteria"
            )
    criteria = sorted(set(data.sae_criteria) | ({"death"} if data.grade == 5 else set()))
    if "death" in criteria and data.grade < 5:
        raise InvalidValue("the SAE criterion 'death' means a grade-5 AE", field="sae_criteria")
    if data.outcome is not None and data.outcome not in OUTCOMES:
        raise InvalidValue(f"outcome '{data.outcome}' is not one of {', '.join(OUTCOMES)}", field="outcome")
    outcome = data.outcome if data.outcome is not None or data.grade < 5 else "fatal"
    if (outcome == "fatal") != (data.grade == 5):
        raise InvalidValue("outcome 'fatal' goes with grade 5 and only with grade 5", field="outcome")
    if data.action_taken is not None and data.action_taken not in ACTIONS:
        raise InvalidValue(
            f"action taken '{data.action_taken}' is not one of {', '.join(ACTIONS)}", field="action_taken"
        )
    if criteria and data.site_aware_at is None:
        raise InvalidValue(
            "a serious AE needs the moment the site learned of it (site_aware_at) for the 24 h clock",
            field="site_aware_at",
        )
    if data.site_aware_at is not None:
        aware = as_utc(data.site_aware_at)
        if aware > now + dt.timedelta(minutes=5):
            raise InvalidValue(f"site_aware_at {aware.isoformat()} is in the future", field="site_aware_at")
        if aware.date() < data.onset_date:
            raise InvalidValue("the site cannot learn of an AE before its onset", field="site_aware_at")
    return criteria, outcome


def validate(
    protocol: Protocol,
    subject: SubjectFacts,
    data: AdverseEventInput,
    *,
    catalogue: TermCatalogue,
    today: dt.date,
    now: dt.datetime,
) -> Coded:
    """Validate and code one AE episode (``today``/``now``: the trial clock's date and moment)."""
    if isinstance(data.grade, bool) or not isinstance(data.grade, int) or not 1 <= data.grade <= 5:
        raise InvalidValue(f"grade {data.grade} is outside CTCAE grades 1-5", field="grade")
    check_text("term", data.term, MAX_SHORT_TEXT_LENGTH)
    check_text("verbatim", data.verbatim)
    check_text("soc", data.soc, MAX_SHORT_TEXT_LENGTH)
    term, soc, needs_coding = _code_term(data, catalogue)
    _check_dates(data, subject, today)
    criteria, outcome = _check_seriousness(data, now)
    attributions = check_attributions(protocol, subject.arm_id, data.attributions)
    return Coded(term, soc, needs_coding, criteria, outcome, attributions)


def sae_reporting_delay(recorded_at: dt.datetime, site_aware_at: dt.datetime) -> tuple[dt.timedelta, bool]:
    """How long after the site learned of an SAE it was recorded, and whether that is late
    (more than :data:`SAE_REPORTING_HOURS`)."""
    delay = as_utc(recorded_at) - as_utc(site_aware_at)
    return delay, delay > dt.timedelta(hours=SAE_REPORTING_HOURS)


def max_grades(events: Iterable[RecordedAdverseEvent], policy: AttributionPolicy) -> list[dict[str, Any]]:
    """Per term: the maximum grade over all episodes (all-cause and treatment-related), derived."""
    episodes_in_order = list(events)
    all_cause = max_grade_by_term((e.term, e.grade) for e in episodes_in_order)
    related = max_grade_by_term(
        (e.term, e.grade) for e in episodes_in_order if is_treatment_related(e, policy)
    )
    soc = {e.term: e.soc for e in episodes_in_order}
    episodes = {term: sum(1 for e in episodes_in_order if e.term == term) for term in all_cause}
    return [
        {
            "term": term,
            "soc": soc.get(term),
            "max_grade": grade,
            "max_grade_related": related.get(term),
            "episodes": episodes[term],
        }
        for term, grade in sorted(all_cause.items())
    ]
