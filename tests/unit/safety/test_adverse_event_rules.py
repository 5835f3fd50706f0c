"""The AE record's rules are pure: validation with plain subject facts, the derived maximum grade, and
the one mapping that turns domain and service errors into an HTTP status and a CLI exit code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from trialdesk.domain.errors import InvalidValue, RecordNotFound
from trialdesk.domain.plausibility import ImplausibleValue
from trialdesk.domain.protocol.model import AttributionPolicy, Protocol
from trialdesk.domain.randomization import AlreadyRandomized, RandomizationClosed
from trialdesk.domain.safety.adverse_event import (
    AdverseEventInput,
    AttributionNeedsArm,
    Coded,
    SubjectFacts,
    max_grades,
    validate,
)
from trialdesk.domain.safety.ctcae import TermCatalogue
from trialdesk.domain.trial_phase import PhaseState, PhaseTransitionRefused
from trialdesk.services.errors import Conflict, InvalidInput, NotAuthenticated, describe

NOW = dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)
SUBJECT = SubjectFacts(consent_date=dt.date(2026, 1, 5), death_date=None, arm_id="ivo-shfrt")


def _check(
    protocol: Protocol, catalogue: TermCatalogue, data: AdverseEventInput, subject: SubjectFacts = SUBJECT
) -> Coded:
    return validate(protocol, subject, data, catalogue=catalogue, today=NOW.date(), now=NOW)


def test_a_catalogue_term_is_coded_and_grade5_adds_death_and_fatal(
    ivo_shfrt: Protocol, catalogue: TermCatalogue
) -> None:
    onset = dt.date(2026, 4, 1)
    data = AdverseEventInput(
        term=" pneumonitis ", grade=5, onset_date=onset, death_date=onset, site_aware_at=NOW
    )
    coded = _check(ivo_shfrt, catalogue, data)
    assert (coded.term, coded.needs_coding, coded.sae_criteria, coded.outcome) == (
        "Pneumonitis",
        False,
        ["death"],
        "fatal",
    )


@pytest.mark.parametrize(
    ("changes", "field_at_fault"),
    [
        ({"grade": 6}, "grade"),
        ({"term": "Not a CTCAE term"}, "term"),
        ({"onset_date": dt.date(2026, 5, 2)}, "onset_date"),
        ({"onset_date": dt.date(2026, 1, 1)}, "onset_date"),
        ({"outcome": "fatal"}, "outcome"),
        ({"sae_criteria": ("hospitalization",)}, "site_aware_at"),
        ({"attributions": {"ivonescimab": "maybe"}}, "attributions.ivonescimab"),
        ({"attributions": {"pd1": "possible"}}, "attributions.pd1"),
    ],
)
def test_each_problem_names_its_field(
    ivo_shfrt: Protocol, catalogue: TermCatalogue, changes: dict[str, object], field_at_fault: str
) -> None:
    data = AdverseEventInput(**{"term": "Fatigue", "grade": 2, "onset_date": dt.date(2026, 4, 1), **changes})  # type: ignore[arg-type]
    with pytest.raises(InvalidValue) as refused:
        _check(ivo_shfrt, catalogue, data)
    assert refused.value.field == field_at_fault
    assert describe(refused.value).status_code == 422


def test_attribution_needs_an_allocated_arm(ivo_shfrt: Protocol, catalogue: TermCatalogue) -> None:
    data = AdverseEventInput(
        term="Fatigue", grade=2, onset_date=dt.date(2026, 4, 1), attributions={"pd1": "possible"}
    )
    with pytest.raises(AttributionNeedsArm) as refused:
        _check(ivo_shfrt, catalogue, data, SubjectFacts(dt.date(2026, 1, 5), None, None))
    assert (describe(refused.value).status_code, refused.value.rule) == (409, "arm_unknown")


@dataclass
class Episode:
    term: str
    grade: int
    soc: str | None = None
    attributions: dict[str, str] = field(default_factory=dict)


def test_max_grades_are_derived_per_term_all_cause_and_related() -> None:
    episodes = [
        Episode("Fatigue", 1, attributions={"pd1": "possible"}),
        Episode("Fatigue", 3, attributions={"pd1": "unlikely"}),
        Episode("Nausea", 2),
    ]
    assert max_grades(episodes, AttributionPolicy()) == [
        {"term": "Fatigue", "soc": None, "max_grade": 3, "max_grade_related": 1, "episodes": 2},
        {"term": "Nausea", "soc": None, "max_grade": 2, "max_grade_related": None, "episodes": 1},
    ]


@pytest.mark.parametrize(
    ("error", "status", "rule", "field_at_fault"),
    [
        (RandomizationClosed("randomization is closed"), 409, "RandomizationClosed", None),
        (AlreadyRandomized("subject 3 is already randomized"), 409, "AlreadyRandomized", None),
        (
            PhaseTransitionRefused(PhaseState.run_in_open, PhaseState.randomized_open, "no"),
            409,
            "phase_gate",
            None,
        ),
        (ImplausibleValue("onset_date", "is in the future"), 422, None, "onset_date"),
        (RecordNotFound("trial 'x' not found"), 404, None, None),
        (Conflict("closed", rule="enrolment_closed"), 409, "enrolment_closed", None),
        (InvalidInput("bad", field="note"), 422, None, "note"),
        (NotAuthenticated("who are you"), 401, None, None),
    ],
)
def test_one_mapping_gives_the_api_and_the_cli_the_same_answer(
    error: Exception, status: int, rule: str | None, field_at_fault: str | None
) -> None:
    answer = describe(error)  # type: ignore[arg-type]
    assert (answer.status_code, answer.rule, answer.field, answer.exit_code) == (
        status,
        rule,
        field_at_fault,
        2,
    )
    assert answer.body() == {"detail": str(error), "rule": rule, "field": field_at_fault}
