"""End of treatment versus end of study: the coded reasons and the rules that date them (pure).

A subject's *end of treatment* (EOT) and *end of study* (EOS) are two disposition events (CDISC SDTM
DS domain, one record per epoch): a subject who stops treatment for progression or toxicity stays in
the study, in safety and survival follow-up, until the end of study (death, withdrawal of consent,
lost to follow-up, termination of the study, or completion of follow-up).

Reasons are coded with the submission values of the NCI CDISC controlled terminology codelist
C66727 "Completion/Reason for Non-Completion" (NCOMPLT), e.g. ``PROGRESSIVE DISEASE`` (C25257),
``ADVERSE EVENT`` (C41331), ``WITHDRAWAL BY SUBJECT`` (C49634), ``PHYSICIAN DECISION`` (C48250),
``COMPLETED`` (C25250), ``DEATH`` (C28554), ``LOST TO FOLLOW-UP`` (C48227), ``STUDY TERMINATED BY
SPONSOR`` (C49632) (NCI Thesaurus, CDISC SDTM Terminology; SDTMIG 3.4 section 6.2, DS domain).

Rules (each refusal names the field at fault):

* EOT date: a clinical date not in the future, not after the death, not before the treatment start
  nor before the last recorded dose or RT fraction, not after a recorded EOS;
* EOT for ``ADVERSE EVENT`` names one of the subject's adverse events whose onset is on or before the
  EOT date (any other reason names none);
* EOT for ``DEATH`` needs the death date, and is the death date at the latest;
* EOS date: not in the future, not before enrolment, not before the EOT, not after the death;
* EOS for ``DEATH`` needs the death date recorded and *is* the death date;
* EOS ``COMPLETED`` only after the end of treatment has been recorded (a subject completes the study's
  follow-up after treatment);
* EOS implies EOT: recording the end of study of a treated subject whose treatment has not ended also
  records the end of treatment the same day, with the matching reason (:data:`IMPLIED_EOT`: death ->
  DEATH, withdrawal -> WITHDRAWAL BY SUBJECT, lost -> LOST TO FOLLOW-UP, termination -> STUDY
  TERMINATED BY SPONSOR). This is the choice made here rather than a refusal: the site records one
  event (the patient withdrew consent) and the database stays consistent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from trialdesk.domain.plausibility import DatedRecord, ImplausibleValue, check_clinical_date
from trialdesk.domain.subjects import SubjectStatus


class EndOfTreatmentReason(StrEnum):
    """Why treatment ended (stored value; :data:`CDISC_TERMS` gives the NCOMPLT submission value)."""

    progressive_disease = "progressive_disease"
    adverse_event = "adverse_event"
    withdrawal_by_subject = "withdrawal_by_subject"
    physician_decision = "physician_decision"
    completed = "completed"
    death = "death"
    lost_to_follow_up = "lost_to_follow_up"
    study_terminated_by_sponsor = "study_terminated_by_sponsor"


class EndOfStudyReason(StrEnum):
    """Why the subject left the study (stored value; :data:`CDISC_TERMS` gives the submission value)."""

    death = "death"
    withdrawal_by_subject = "withdrawal_by_subject"
    lost_to_follow_up = "lost_to_follow_up"
    study_terminated_by_sponsor = "study_terminated_by_sponsor"
    completed = "completed"


CDISC_TERMS: dict[str, str] = {
    "progressive_disease": "PROGRESSIVE DISEASE",
    "adverse_event": "ADVERSE EVENT",
    "withdrawal_by_subject": "WITHDRAWAL BY SUBJECT",
    "physician_decision": "PHYSICIAN DECISION",
    "completed": "COMPLETED",
    "death": "DEATH",
    "lost_to_follow_up": "LOST TO FOLLOW-UP",
    "study_terminated_by_sponsor": "STUDY TERMINATED BY SPONSOR",
}
"""Stored reason -> NCI CDISC NCOMPLT (C66727) submission value."""

EOT_LABELS: dict[EndOfTreatmentReason, str] = {
    EndOfTreatmentReason.progressive_disease: "progressive disease",
    EndOfTreatmentReason.adverse_event: "adverse event",
    EndOfTreatmentReason.withdrawal_by_subject: "withdrawal by subject",
    EndOfTreatmentReason.physician_decision: "physician decision",
    EndOfTreatmentReason.completed: "completed treatment",
    EndOfTreatmentReason.death: "death",
    EndOfTreatmentReason.lost_to_follow_up: "lost to follow-up",
    EndOfTreatmentReason.study_terminated_by_sponsor: "study terminated by sponsor",
}
"""Reason -> the words of the CONSORT "discontinued treatment" box and the pages."""

EOS_LABELS: dict[EndOfStudyReason, str] = {
    EndOfStudyReason.death: "death",
    EndOfStudyReason.withdrawal_by_subject: "withdrawal of consent",
    EndOfStudyReason.lost_to_follow_up: "lost to follow-up",
    EndOfStudyReason.study_terminated_by_sponsor: "study terminated by sponsor",
    EndOfStudyReason.completed: "completed the study",
}
"""Reason -> the words of the CONSORT "left the study" box (the analysis snapshot's WITHDRAWAL and
LOST_TO_FOLLOW_UP labels are the same strings)."""

EOS_STATUS: dict[EndOfStudyReason, SubjectStatus] = {
    EndOfStudyReason.death: SubjectStatus.died,
    EndOfStudyReason.withdrawal_by_subject: SubjectStatus.withdrawn,
    EndOfStudyReason.lost_to_follow_up: SubjectStatus.lost_to_follow_up,
    EndOfStudyReason.study_terminated_by_sponsor: SubjectStatus.completed,
    EndOfStudyReason.completed: SubjectStatus.completed,
}
"""The terminal subject status an EOS reason leads to. A study terminated by the sponsor ends the
subject's participation without a failure of the subject: status ``completed`` (the coded EOS reason
tells the two apart)."""

STATUS_EOS: dict[SubjectStatus, EndOfStudyReason] = {
    SubjectStatus.died: EndOfStudyReason.death,
    SubjectStatus.withdrawn: EndOfStudyReason.withdrawal_by_subject,
    SubjectStatus.lost_to_follow_up: EndOfStudyReason.lost_to_follow_up,
    SubjectStatus.completed: EndOfStudyReason.completed,
}
"""A terminal status set through the status-change route -> the EOS reason it records."""

IMPLIED_EOT: dict[EndOfStudyReason, EndOfTreatmentReason] = {
    EndOfStudyReason.death: EndOfTreatmentReason.death,
    EndOfStudyReason.withdrawal_by_subject: EndOfTreatmentReason.withdrawal_by_subject,
    EndOfStudyReason.lost_to_follow_up: EndOfTreatmentReason.lost_to_follow_up,
    EndOfStudyReason.study_terminated_by_sponsor: EndOfTreatmentReason.study_terminated_by_sponsor,
}
"""EOS reason -> the EOT reason recorded with it for a subject still on treatment (no entry for
``completed``: completion needs an end of treatment first)."""


@dataclass(frozen=True)
class DispositionFacts:
    """What the rules check a disposition date against (all calendar dates).

    ``last_treatment`` is the latest recorded dose or RT fraction; ``enrolment`` the enrolment date;
    ``end_of_treatment`` / ``end_of_study`` the dates already recorded (``None``: not yet).
    """

    today: dt.date
    enrolment: dt.date
    treatment_start: dt.date | None = None
    last_treatment: DatedRecord | None = None
    death: dt.date | None = None
    end_of_treatment: dt.date | None = None
    end_of_study: dt.date | None = None


@dataclass(frozen=True)
class AdverseEventFact:
    """The adverse event an EOT for toxicity names: its id and onset date."""

    id: int
    onset: dt.date


def eot_label(reason: str) -> str:
    """The display words of a stored EOT reason (the stored value itself when not a known code)."""
    try:
        return EOT_LABELS[EndOfTreatmentReason(reason)]
    except ValueError:
        return reason


def eos_label(reason: str) -> str:
    """The display words of a stored EOS reason (the stored value itself when not a known code)."""
    try:
        return EOS_LABELS[EndOfStudyReason(reason)]
    except ValueError:
        return reason


def check_end_of_treatment(
    day: dt.date,
    reason: EndOfTreatmentReason,
    facts: DispositionFacts,
    adverse_event: AdverseEventFact | None = None,
) -> None:
    """Raise :class:`ImplausibleValue` (naming the field) unless an EOT on ``day`` for ``reason`` can be
    true: see the module's rules. ``adverse_event`` is the AE named (already known to be the subject's)."""
    if facts.treatment_start is None:
        raise ImplausibleValue(
            "treatment_start_date",
            "no treatment start is recorded: treatment ends only after it started "
            "(record the treatment start first, or record the end of study)",
        )
    start = DatedRecord("treatment start", facts.treatment_start)
    check_clinical_date("date", day, today=facts.today, death_date=facts.death, not_before=start)
    if facts.last_treatment is not None and day < facts.last_treatment.date:
        raise ImplausibleValue(
            "date", f"{day} is before the {facts.last_treatment.label} on {facts.last_treatment.date}"
        )
    if facts.end_of_study is not None and day > facts.end_of_study:
        raise ImplausibleValue("date", f"{day} is after the subject's end of study {facts.end_of_study}")
    _check_adverse_event(day, reason, adverse_event)
    if reason is EndOfTreatmentReason.death and facts.death is None:
        raise ImplausibleValue("reason", "an end of treatment for death needs the death date recorded first")


def _check_adverse_event(day: dt.date, reason: EndOfTreatmentReason, ae: AdverseEventFact | None) -> None:
    if reason is EndOfTreatmentReason.adverse_event:
        if ae is None:
            raise ImplausibleValue(
                "adverse_event_id", "an end of treatment for an adverse event names the adverse event"
            )
        if ae.onset > day:
            raise ImplausibleValue(
                "adverse_event_id",
                f"adverse event {ae.id} started on {ae.onset}, after the end of treatment {day}",
            )
    elif ae is not None:
        raise ImplausibleValue(
            "adverse_event_id",
            f"an adverse event is named only when the reason is '{CDISC_TERMS['adverse_event']}'",
        )


def check_end_of_study(
    day: dt.date, reason: EndOfStudyReason, facts: DispositionFacts
) -> EndOfTreatmentReason | None:
    """Raise :class:`ImplausibleValue` (naming the field) unless an EOS on ``day`` for ``reason`` can be
    true (see the module's rules); return the EOT reason to record the same day when the subject was
    treated and the treatment has not ended (``None`` otherwise)."""
    enrolment = DatedRecord("enrolment", facts.enrolment)
    if reason is EndOfStudyReason.death:
        if facts.death is None:
            raise ImplausibleValue(
                "death_date",
                "an end of study for death needs the death date: record it in the follow-up first",
            )
        if day != facts.death:
            raise ImplausibleValue(
                "date", f"an end of study for death is the death date {facts.death}, not {day}"
            )
    check_clinical_date("date", day, today=facts.today, death_date=facts.death, not_before=enrolment)
    if facts.end_of_treatment is not None and day < facts.end_of_treatment:
        raise ImplausibleValue(
            "date", f"{day} is before the subject's end of treatment {facts.end_of_treatment}"
        )
    if reason is EndOfStudyReason.completed:
        if facts.end_of_treatment is None:
            raise ImplausibleValue(
                "reason", "a subject completes the study only after the end of treatment is recorded"
            )
        return None
    if facts.treatment_start is None or facts.end_of_treatment is not None:
        return None
    _check_implied_end_of_treatment(day, facts.treatment_start, facts.last_treatment)
    return IMPLIED_EOT[reason]


def _check_implied_end_of_treatment(day: dt.date, start: dt.date, last: DatedRecord | None) -> None:
    """The EOT implied by an EOS on ``day`` follows the treatment start and the last dose/fraction."""
    if day < start:
        raise ImplausibleValue("date", f"{day} is before the subject's treatment start {start}")
    if last is not None and day < last.date:
        raise ImplausibleValue("date", f"{day} is before the {last.label} on {last.date}")


@dataclass(frozen=True)
class StoredDisposition:
    """A subject's stored status, treatment end, death and coded EOT/EOS (for ``trialdesk data check``)."""

    status: str
    treatment_end: dt.date | None
    end_of_treatment_reason: str | None
    end_of_study: dt.date | None
    end_of_study_reason: str | None
    death: dt.date | None


def stored_violations(stored: StoredDisposition) -> list[ImplausibleValue]:
    """The disposition rules a stored row breaks (rows written before the rules, or edited outside the
    services): an EOT after the EOS, an EOS after the death or, for death, not on the death date, a coded
    reason outside the vocabulary, a study-exit status without its end of study."""
    found: list[ImplausibleValue] = []
    end, eos = stored.treatment_end, stored.end_of_study
    if end is not None and eos is not None and end > eos:
        found.append(ImplausibleValue("treatment_end_date", f"{end} is after the end of study {eos}"))
    if eos is not None and stored.death is not None and eos > stored.death:
        found.append(ImplausibleValue("end_of_study_date", f"{eos} is after the death date {stored.death}"))
    if stored.end_of_study_reason == EndOfStudyReason.death.value and eos != stored.death:
        found.append(
            ImplausibleValue("end_of_study_date", f"an end of study for death on {eos}, not the death date")
        )
    for name, value, codes in (
        ("end_of_treatment_reason", stored.end_of_treatment_reason, EndOfTreatmentReason),
        ("end_of_study_reason", stored.end_of_study_reason, EndOfStudyReason),
    ):
        if value is not None and value not in {c.value for c in codes}:
            found.append(ImplausibleValue(name, f"'{value}' is not a coded reason"))
    if stored.status in {s.value for s in STATUS_EOS} and stored.end_of_study_reason is None:
        found.append(
            ImplausibleValue("end_of_study_reason", f"status '{stored.status}' without a coded end of study")
        )
    return found
