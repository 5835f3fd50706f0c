"""End of treatment versus end of study: the coded reasons (NCI CDISC NCOMPLT codelist C66727
submission values, NCI Thesaurus / SDTM Terminology) and every date rule of
:mod:`trialdesk.domain.disposition`."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.domain.disposition import (
    CDISC_TERMS,
    EOS_STATUS,
    STATUS_EOS,
    AdverseEventFact,
    DispositionFacts,
    EndOfStudyReason,
    EndOfTreatmentReason,
    StoredDisposition,
    check_end_of_study,
    check_end_of_treatment,
    eos_label,
    eot_label,
    stored_violations,
)
from trialdesk.domain.plausibility import DatedRecord, ImplausibleValue
from trialdesk.domain.subjects import SubjectStatus, is_terminal

EOT, EOS = EndOfTreatmentReason, EndOfStudyReason
D = dt.date
FACTS = DispositionFacts(
    today=D(2026, 12, 1),
    enrolment=D(2026, 3, 4),
    treatment_start=D(2026, 3, 9),
    last_treatment=DatedRecord("last dose", D(2026, 5, 18)),
)
ENDED = DispositionFacts(**{**FACTS.__dict__, "end_of_treatment": D(2026, 6, 1)})


def test_reasons_are_the_ncomplt_submission_values() -> None:
    """NCI CDISC codelist C66727 (Completion/Reason for Non-Completion): the submission values as
    published (C25257 PROGRESSIVE DISEASE, C41331 ADVERSE EVENT, C49634 WITHDRAWAL BY SUBJECT, C48250
    PHYSICIAN DECISION, C25250 COMPLETED, C28554 DEATH, C48227 LOST TO FOLLOW-UP, C49632 STUDY
    TERMINATED BY SPONSOR)."""
    assert {CDISC_TERMS[r] for r in EOT} == {
        "PROGRESSIVE DISEASE",
        "ADVERSE EVENT",
        "WITHDRAWAL BY SUBJECT",
        "PHYSICIAN DECISION",
        "COMPLETED",
        "DEATH",
        "LOST TO FOLLOW-UP",
        "STUDY TERMINATED BY SPONSOR",
    }
    assert {CDISC_TERMS[r] for r in EOS} <= {CDISC_TERMS[r] for r in EOT}
    assert all(len(r.value) <= 32 for r in EOT)  # the column is String(32)
    assert eot_label("progressive_disease") == "progressive disease" and eot_label("free text") == "free text"
    assert eos_label("withdrawal_by_subject") == "withdrawal of consent"


def test_every_end_of_study_leads_to_a_terminal_status_and_back() -> None:
    assert all(is_terminal(status) for status in EOS_STATUS.values())
    assert all(EOS_STATUS[reason] is status for status, reason in STATUS_EOS.items())
    assert EOS_STATUS[EOS.study_terminated_by_sponsor] is SubjectStatus.completed


def test_a_valid_end_of_treatment_passes() -> None:
    check_end_of_treatment(D(2026, 6, 1), EOT.progressive_disease, FACTS)
    check_end_of_treatment(D(2026, 5, 18), EOT.adverse_event, FACTS, AdverseEventFact(7, D(2026, 5, 18)))


@pytest.mark.parametrize(
    ("day", "reason", "facts", "ae", "field", "words"),
    [
        (D(2026, 3, 8), EOT.progressive_disease, FACTS, None, "date", "treatment start"),
        (D(2026, 5, 17), EOT.progressive_disease, FACTS, None, "date", "last dose"),
        (D(2026, 12, 2), EOT.progressive_disease, FACTS, None, "date", "future"),
        (
            D(2026, 6, 2),
            EOT.progressive_disease,
            DispositionFacts(**{**FACTS.__dict__, "death": D(2026, 6, 1)}),
            None,
            "date",
            "death",
        ),
        (
            D(2026, 9, 2),
            EOT.progressive_disease,
            DispositionFacts(**{**FACTS.__dict__, "end_of_study": D(2026, 9, 1)}),
            None,
            "date",
            "end of study",
        ),
        (D(2026, 6, 1), EOT.adverse_event, FACTS, None, "adverse_event_id", "names the adverse event"),
        (
            D(2026, 6, 1),
            EOT.adverse_event,
            FACTS,
            AdverseEventFact(7, D(2026, 6, 2)),
            "adverse_event_id",
            "after",
        ),
        (D(2026, 6, 1), EOT.completed, FACTS, AdverseEventFact(7, D(2026, 5, 1)), "adverse_event_id", "only"),
        (D(2026, 6, 1), EOT.death, FACTS, None, "reason", "death date"),
        (
            D(2026, 6, 1),
            EOT.progressive_disease,
            DispositionFacts(today=D(2026, 12, 1), enrolment=D(2026, 3, 4)),
            None,
            "treatment_start_date",
            "no treatment start",
        ),
    ],
)
def test_end_of_treatment_refusals_name_the_field(
    day: dt.date,
    reason: EndOfTreatmentReason,
    facts: DispositionFacts,
    ae: AdverseEventFact | None,
    field: str,
    words: str,
) -> None:
    with pytest.raises(ImplausibleValue) as caught:
        check_end_of_treatment(day, reason, facts, ae)
    assert caught.value.field == field and words in caught.value.reason


def test_end_of_study_of_a_subject_on_treatment_implies_the_matching_end_of_treatment() -> None:
    assert check_end_of_study(D(2026, 8, 1), EOS.withdrawal_by_subject, FACTS) is EOT.withdrawal_by_subject
    assert check_end_of_study(D(2026, 8, 1), EOS.lost_to_follow_up, FACTS) is EOT.lost_to_follow_up
    dead = DispositionFacts(**{**FACTS.__dict__, "death": D(2026, 8, 1)})
    assert check_end_of_study(D(2026, 8, 1), EOS.death, dead) is EOT.death
    assert check_end_of_study(D(2026, 8, 1), EOS.completed, ENDED) is None  # treatment already ended
    assert check_end_of_study(D(2026, 8, 1), EOS.withdrawal_by_subject, ENDED) is None
    untreated = DispositionFacts(today=D(2026, 12, 1), enrolment=D(2026, 3, 4))
    assert check_end_of_study(D(2026, 3, 5), EOS.withdrawal_by_subject, untreated) is None


@pytest.mark.parametrize(
    ("day", "reason", "facts", "field", "words"),
    [
        (D(2026, 8, 1), EOS.death, FACTS, "death_date", "death date"),
        (
            D(2026, 8, 2),
            EOS.death,
            DispositionFacts(**{**FACTS.__dict__, "death": D(2026, 8, 1)}),
            "date",
            "is the death date",
        ),
        (D(2026, 5, 31), EOS.lost_to_follow_up, ENDED, "date", "end of treatment"),
        (D(2026, 3, 3), EOS.withdrawal_by_subject, ENDED, "date", "enrolment"),
        (D(2026, 12, 2), EOS.withdrawal_by_subject, ENDED, "date", "future"),
        (D(2026, 8, 1), EOS.completed, FACTS, "reason", "after the end of treatment"),
        (D(2026, 3, 6), EOS.withdrawal_by_subject, FACTS, "date", "treatment start"),
        (D(2026, 5, 1), EOS.withdrawal_by_subject, FACTS, "date", "last dose"),
        (
            D(2026, 8, 2),
            EOS.lost_to_follow_up,
            DispositionFacts(**{**ENDED.__dict__, "death": D(2026, 8, 1)}),
            "date",
            "death",
        ),
    ],
)
def test_end_of_study_refusals_name_the_field(
    day: dt.date, reason: EndOfStudyReason, facts: DispositionFacts, field: str, words: str
) -> None:
    with pytest.raises(ImplausibleValue) as caught:
        check_end_of_study(day, reason, facts)
    assert caught.value.field == field and words in caught.value.reason


def test_data_check_finds_stored_rows_that_break_the_disposition_rules() -> None:
    clean = StoredDisposition(
        "withdrawn", D(2026, 6, 1), "progressive_disease", D(2026, 8, 1), "withdrawal_by_subject", None
    )
    assert stored_violations(clean) == []
    broken = StoredDisposition("died", D(2026, 8, 2), "boredom", D(2026, 8, 1), "death", D(2026, 7, 30))
    assert [v.field for v in stored_violations(broken)] == [
        "treatment_end_date",
        "end_of_study_date",
        "end_of_study_date",
        "end_of_treatment_reason",
    ]
    legacy = StoredDisposition("lost_to_follow_up", None, None, None, None, None)
    assert [v.field for v in stored_violations(legacy)] == ["end_of_study_reason"]
