"""Issue 10 eligibility corrections; each test quotes the seed sentence it checks (the seed is the authority).

Seed 002 (scr-escc-01), screened on 2026-04-15 (the eligible example), and seed 000 (ivo-shfrt-2l),
screened on 2026-03-02. An exclusion criterion is ``met`` when the patient is free of the excluding
condition and ``not_met`` when the patient has it (see ``trialdesk.domain.eligibility.rules``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.eligibility.conftest import screen, status_of
from trialdesk.domain.protocol.model import Protocol

# ---------------------------------------------------------------- seed 002 inclusion 4 / exclusion 4


def test_prior_treatment_for_another_cancer_is_not_prior_treatment_for_escc(
    scr: Protocol, scr_patient: dict[str, Any]
) -> None:
    """Seed 002 inclusion 4 "No prior anti-tumor treatment" read with exclusion 4 "Any prior anti-tumor
    therapy for esophageal cancer": chemotherapy given in 2015 for another cancer (a lymphoma, cured,
    diagnosed more than 5 years ago) meets both; the old malignancy is judged by exclusion 12 only."""
    scr_patient["prior_therapies"] = [
        {"modality": "chemotherapy", "start_date": "2015-01-01", "for_esophageal_cancer": False}
    ]
    scr_patient["other_malignancies"] = [
        {"type": "hematologic", "diagnosis_date": "2014-11-01", "status": "cured"}
    ]
    result = screen(scr, scr_patient)
    assert status_of(result, "inc-4-treatment-naive") == "met"
    assert status_of(result, "exc-4-prior-therapy") == "met"
    assert status_of(result, "exc-12-other-malignancy") == "met"
    assert result.verdict == "eligible"


def test_prior_treatment_for_another_recent_cancer_excludes_by_exclusion_12_only(
    scr: Protocol, scr_patient: dict[str, Any]
) -> None:
    """Seed 002 exclusion 12 "a history of malignancy within the past 5 years": the treated 2023
    lymphoma excludes through exclusion 12; inclusion 4 ("No prior anti-tumor treatment", for the
    esophageal cancer) stays met."""
    scr_patient["prior_therapies"] = [
        {"modality": "chemotherapy", "start_date": "2023-02-01", "for_esophageal_cancer": False}
    ]
    scr_patient["other_malignancies"] = [
        {"type": "hematologic", "diagnosis_date": "2023-01-10", "status": "cured"}
    ]
    result = screen(scr, scr_patient)
    assert status_of(result, "inc-4-treatment-naive") == "met"
    assert status_of(result, "exc-12-other-malignancy") == "not_met"
    assert result.verdict == "ineligible"


@pytest.mark.parametrize("modality", ["chemotherapy", "targeted_therapy", "other"])
def test_prior_treatment_for_escc_fails_inclusion_4(
    scr: Protocol, scr_patient: dict[str, Any], modality: str
) -> None:
    """Seed 002 inclusion 4 "No prior anti-tumor treatment": any prior treatment for the esophageal
    cancer (of any modality, not only those exclusion 4 lists) is not met."""
    scr_patient["prior_therapies"] = [
        {"modality": modality, "start_date": "2026-01-05", "for_esophageal_cancer": True}
    ]
    assert status_of(screen(scr, scr_patient), "inc-4-treatment-naive") == "not_met"


def test_prior_treatment_with_unrecorded_indication_is_unknown_for_inclusion_4(
    scr: Protocol, scr_patient: dict[str, Any]
) -> None:
    """Seed 002 inclusion 4 "No prior anti-tumor treatment" (for esophageal cancer): a prior therapy
    whose indication is not recorded cannot be judged, so the criterion is unknown and names the field."""
    scr_patient["prior_therapies"] = [{"modality": "radiotherapy", "start_date": "2020-01-01"}]
    result = screen(scr, scr_patient)
    criterion = next(c for c in result.criteria if c.id == "inc-4-treatment-naive")
    assert criterion.status == "unknown"
    assert criterion.missing == ["prior_therapies[0].for_esophageal_cancer"]


# ---------------------------------------------------------------- seed 002 exclusion 12

# screening date 2026-04-15: "within the past 5 years" is a diagnosis on or after 2021-04-15
RECENT, OLD = "2024-09-01", "2015-03-01"


@pytest.mark.parametrize(
    ("malignancy", "status", "missing"),
    [
        # excepted type within 5 years: excluded unless completely cured
        ({"type": "cervical_carcinoma_in_situ", "diagnosis_date": RECENT, "status": "cured"}, "met", []),
        ({"type": "basal_cell_skin_carcinoma", "diagnosis_date": RECENT, "status": "active"}, "not_met", []),
        (
            {"type": "squamous_cell_skin_carcinoma", "diagnosis_date": RECENT},
            "unknown",
            ["other_malignancies[0].status"],
        ),
        # non-excepted type within 5 years: excluded whatever its status
        ({"type": "other_solid", "diagnosis_date": RECENT, "status": "cured"}, "not_met", []),
        ({"type": "other_solid", "diagnosis_date": RECENT, "status": "active"}, "not_met", []),
        ({"type": "hematologic", "diagnosis_date": RECENT}, "not_met", []),
        # older than 5 years: still active (a synchronous second primary) excludes
        ({"type": "other_solid", "diagnosis_date": OLD, "status": "active"}, "not_met", []),
        ({"type": "other_solid", "diagnosis_date": OLD}, "unknown", ["other_malignancies[0].status"]),
        ({"type": "other_solid", "diagnosis_date": OLD, "status": "cured"}, "met", []),
        (
            {"type": "basal_cell_skin_carcinoma", "diagnosis_date": OLD},
            "unknown",
            ["other_malignancies[0].status"],
        ),
        # synchronous second primary: excluded (an excepted type only when not completely cured)
        (
            {"type": "other_solid", "diagnosis_date": OLD, "status": "cured", "synchronous": True},
            "not_met",
            [],
        ),
        (
            {"type": "basal_cell_skin_carcinoma", "synchronous": True},
            "unknown",
            ["other_malignancies[0].status"],
        ),
        # no diagnosis date: the look-back cannot be applied
        (
            {"type": "other_solid", "status": "cured"},
            "unknown",
            ["other_malignancies[0].diagnosis_date"],
        ),
        ({"type": "other_solid", "status": "active"}, "not_met", []),
    ],
    ids=[
        "excepted-recent-cured",
        "excepted-recent-not-cured",
        "excepted-recent-cure-unknown",
        "non-excepted-recent-cured",
        "non-excepted-recent-active",
        "non-excepted-recent-status-unknown",
        "older-active",
        "older-status-unknown",
        "older-resolved",
        "older-excepted-status-unknown",
        "synchronous-non-excepted-cured",
        "synchronous-excepted-cure-unknown",
        "undated-cured",
        "undated-active",
    ],
)
def test_exclusion_12_as_written(
    scr: Protocol, scr_patient: dict[str, Any], malignancy: dict[str, Any], status: str, missing: list[str]
) -> None:
    """Seed 002 exclusion 12: "Patients with synchronous second primary cancer and a history of
    malignancy within the past 5 years (excluding completely cured cervical carcinoma in situ or basal
    cell or squamous cell skin carcinoma)." Exclusion ``met`` = free of it; ``not_met`` = excluded."""
    scr_patient["other_malignancies"] = [malignancy]
    criterion = next(c for c in screen(scr, scr_patient).criteria if c.id == "exc-12-other-malignancy")
    assert (criterion.status, criterion.missing) == (status, missing), criterion.evidence


# ---------------------------------------------------------------- seed 002 exclusion 6 (PG-SGA)


@pytest.mark.parametrize(
    ("date", "total", "status", "missing"),
    [
        ("2026-04-15", 9, "not_met", []),  # scored on the screening day
        ("2026-03-18", 8, "met", []),  # exactly 28 days before 2026-04-15: inside the window
        ("2026-03-18", 9, "not_met", []),
        ("2026-03-17", 8, "unknown", ["pg_sga: a score dated within 28 days before 2026-04-15"]),
        ("2026-03-17", 12, "unknown", ["pg_sga: a score dated within 28 days before 2026-04-15"]),
        (None, 8, "unknown", ["pg_sga.date"]),
        (None, 12, "unknown", ["pg_sga.date"]),
    ],
    ids=[
        "screening-day",
        "window-edge-8",
        "window-edge-9",
        "outside-8",
        "outside-12",
        "undated-8",
        "undated-12",
    ],
)
def test_pg_sga_must_be_dated_within_the_screening_window(
    scr: Protocol, scr_patient: dict[str, Any], date: str | None, total: int, status: str, missing: list[str]
) -> None:
    """Seed 002 exclusion 6 "Patients with Patient-Generated Subjective Globe Assessment (PG-SGA)
    score>=9" is judged on a score from screening: dated within the protocol's 28-day screening window
    (``lab_validity_days``) before the screening date; an older or undated score is unknown, whatever
    its value."""
    scr_patient["pg_sga"] = {"total": total, **({"date": date} if date else {})}
    criterion = next(c for c in screen(scr, scr_patient).criteria if c.id == "exc-6-pg-sga")
    assert (criterion.status, criterion.missing) == (status, missing), criterion.evidence


def test_pg_sga_window_is_the_protocol_screening_window(scr: Protocol) -> None:
    """The PG-SGA window reuses seed 002's screening-data window, 28 days (protocol parameter)."""
    assert scr.eligibility.lab_validity_days.value == 28


# ---------------------------------------------------------------- seed 000 inclusion b

INC_B = "inc-b-first-line-failure"
ANSWER = {"by": "Dr. Wei Zhang", "at": "2026-03-02T10:00:00+08:00", "role": "investigator"}


def ccrt(progression: str, **values: Any) -> dict[str, Any]:
    """Definitive CCRT for the ESCC, 2025-01-06 to 2025-02-21 (6 months after: 2025-08-21)."""
    return {
        "modality": "chemoradiotherapy",
        "intent": "definitive",
        "start_date": "2025-01-06",
        "end_date": "2025-02-21",
        "outcome": "completed",
        "progression_date": progression,
        "for_esophageal_cancer": True,
        **values,
    }


def chemo(start: str, **values: Any) -> dict[str, Any]:
    """Palliative chemotherapy for the ESCC starting on ``start``, progressed 2026-02-10."""
    return {
        "modality": "chemotherapy",
        "intent": "palliative",
        "start_date": start,
        "end_date": "2026-02-01",
        "outcome": "progression",
        "progression_date": "2026-02-10",
        "for_esophageal_cancer": True,
        **values,
    }


def inc_b(ivo: Protocol, patient: dict[str, Any], therapies: list[dict[str, Any]]) -> tuple[str, list[str]]:
    patient["prior_therapies"] = therapies
    criterion = next(c for c in screen(ivo, patient).criteria if c.id == INC_B)
    return criterion.status, criterion.missing


@pytest.mark.parametrize(
    ("progression", "status"),
    [("2025-02-10", "met"), ("2025-08-21", "met"), ("2025-08-22", "not_met"), ("2025-10-30", "not_met")],
    ids=["during", "6-months-exactly", "6-months-and-a-day", "8-months"],
)
def test_ccrt_alone_without_line_numbers(
    ivo: Protocol, ivo_patient: dict[str, Any], progression: str, status: str
) -> None:
    """Seed 000 inclusion b: "For patients who received definitive concurrent chemoradiotherapy (CCRT),
    disease progression during or within 6 months post-treatment is considered first-line treatment
    failure"; later progression is not a failed line (no line numbers recorded)."""
    assert inc_b(ivo, ivo_patient, [ccrt(progression)]) == (status, [])


def test_ccrt_with_late_progression_is_not_line_1_when_lines_are_not_numbered(
    ivo: Protocol, ivo_patient: dict[str, Any]
) -> None:
    """Seed 000 inclusion b: CCRT with progression more than 6 months post-treatment is not "first-line
    treatment failure", so the chemotherapy that followed it is the first line: "progressed on ...
    first-line systemic therapy" is met (numbering by date must skip the CCRT)."""
    assert inc_b(ivo, ivo_patient, [ccrt("2025-10-30"), chemo("2025-11-10")]) == ("met", [])


def test_therapy_for_another_cancer_is_not_a_line(ivo: Protocol, ivo_patient: dict[str, Any]) -> None:
    """Seed 000 inclusion b "first-line systemic therapy" of the ESCC: chemotherapy given in 2015 for
    another cancer is not line 1 when lines are numbered by date."""
    other = {**chemo("2015-01-05"), "end_date": "2015-06-01", "outcome": "completed"}
    other.update(progression_date=None, for_esophageal_cancer=False)
    assert inc_b(ivo, ivo_patient, [other, ccrt("2025-06-01")]) == ("met", [])


def test_ccrt_with_unrecorded_progression_date_leaves_the_numbering_unknown(
    ivo: Protocol, ivo_patient: dict[str, Any]
) -> None:
    """Seed 000 inclusion b: whether definitive CCRT is a failed first line depends on "progression
    during or within 6 months post-treatment"; without its progression date the line is unknown."""
    therapies = [ccrt("2025-05-01", outcome="progression", progression_date=None), chemo("2025-11-10")]
    assert inc_b(ivo, ivo_patient, therapies) == ("unknown", ["prior_therapies[0].progression_date"])


@pytest.mark.parametrize("numbered", [False, True])
def test_more_than_one_failed_line_needs_attestation(
    ivo: Protocol, ivo_patient: dict[str, Any], numbered: bool
) -> None:
    """Seed 000 inclusion b "progressed on or is intolerant to first-line systemic therapy" (a
    "second-line therapy" study): CCRT failed within 6 months (line 1) and chemotherapy failed after
    it (line 2). The seed does not exclude later lines explicitly: the investigator decides."""
    therapies = [ccrt("2025-06-01"), chemo("2025-07-01")]
    if numbered:
        therapies[0]["line"], therapies[1]["line"] = 1, 2
    assert inc_b(ivo, ivo_patient, therapies) == ("needs_attestation", [f"attestations.{INC_B}"])


@pytest.mark.parametrize(("answer", "status"), [(True, "met"), (False, "not_met")])
def test_more_than_one_failed_line_decided_by_the_investigator(
    ivo: Protocol, ivo_patient: dict[str, Any], answer: bool, status: str
) -> None:
    """Seed 000 inclusion b, more than one failed line: the recorded answer decides ("yes" = eligible)."""
    ivo_patient["attestations"][INC_B] = {"answer": answer, **ANSWER}
    assert inc_b(ivo, ivo_patient, [ccrt("2025-06-01"), chemo("2025-07-01")]) == (status, [])


@pytest.mark.parametrize(
    ("second", "status", "missing"),
    [
        ({"outcome": "ongoing", "progression_date": None, "end_date": None}, "met", []),
        ({"outcome": None, "progression_date": None}, "unknown", ["prior_therapies[1].outcome"]),
    ],
    ids=["second-line-ongoing", "second-line-outcome-unknown"],
)
def test_a_later_line_that_did_not_fail_or_is_unrecorded(
    ivo: Protocol, ivo_patient: dict[str, Any], second: dict[str, Any], status: str, missing: list[str]
) -> None:
    """Seed 000 inclusion b: one failed first line is eligible; whether a later line also failed
    decides between met and needs_attestation, so an unrecorded outcome of it is unknown."""
    therapies = [ccrt("2025-06-01", line=1), {**chemo("2025-07-01"), "line": 2, **second}]
    assert inc_b(ivo, ivo_patient, therapies) == (status, missing)
