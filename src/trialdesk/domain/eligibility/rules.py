"""Eligibility rule types: the vocabulary a protocol file uses to express each criterion.

A criterion's ``rule`` is one of the models below, selected by its ``type`` key. Every rule is
evaluated tri-state (see :mod:`trialdesk.domain.eligibility.evaluator`): ``met``, ``not_met``,
``unknown`` (data missing; the missing item is named) or ``needs_attestation`` (an investigator's
judgement, recorded, never guessed).

"met" always means *the eligibility requirement is satisfied*. For an exclusion criterion the
requirement is the absence of the excluding condition: an exclusion criterion is ``met`` when the
patient is free of it, and ``not_met`` when the patient has it (and so is ineligible).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from trialdesk.domain.common import Comparison, FrozenModel, Sex
from trialdesk.domain.labs.catalogue import LabTest

CodedField = Literal[
    "diagnosis.histology",
    "diagnosis.confirmation",
    "diagnosis.stage",
    "diagnosis.m_stage",
    "diagnosis.setting",
]
"""Coded patient fields a ``coded`` rule may test."""

NumericField = Literal["ecog", "expected_survival_months"]
"""Numeric patient fields a ``numeric`` rule may test."""

TherapyModality = Literal[
    "surgery",
    "radiotherapy",
    "chemotherapy",
    "immunotherapy",
    "targeted_therapy",
    "chemoradiotherapy",
    "other",
]


class AgeRule(FrozenModel):
    """Age in whole years at the screening date, computed from the birth date; bounds inclusive."""

    type: Literal["age"]
    min_years: int | None = Field(default=None, ge=0, le=130)
    max_years: int | None = Field(default=None, ge=0, le=130)

    @model_validator(mode="after")
    def _bounds(self) -> AgeRule:
        if self.min_years is None and self.max_years is None:
            raise ValueError("an age rule needs min_years, max_years or both")
        if self.min_years is not None and self.max_years is not None and self.min_years > self.max_years:
            raise ValueError(f"min_years {self.min_years} is greater than max_years {self.max_years}")
        return self


class CodedRule(FrozenModel):
    """A coded patient field must take one of ``allowed`` (for ``diagnosis.setting``: any of them)."""

    type: Literal["coded"]
    field: CodedField
    allowed: list[str] = Field(min_length=1)


class NumericRule(FrozenModel):
    """A numeric patient field compared with a threshold (e.g. ECOG <= 2)."""

    type: Literal["numeric"]
    field: NumericField
    op: Comparison
    value: float


class LabRule(FrozenModel):
    """A laboratory value against an absolute threshold or a multiple of the patient's own ULN.

    Exactly one of ``value`` (with ``unit``) or ``times_uln`` is given. The most recent result on or
    before the screening date and within the protocol's lab validity window is used.
    """

    type: Literal["lab"]
    test: LabTest
    op: Comparison
    value: float | None = None
    unit: str | None = None
    times_uln: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_threshold(self) -> LabRule:
        if (self.value is None) == (self.times_uln is None):
            raise ValueError("give exactly one of 'value' (with 'unit') or 'times_uln'")
        if self.value is not None and not self.unit:
            raise ValueError("an absolute lab threshold needs its 'unit'")
        return self


class CreatinineClearanceRule(FrozenModel):
    """Creatinine clearance by Cockcroft-Gault (mL/min), computed from age, sex, weight, creatinine."""

    type: Literal["creatinine_clearance"]
    op: Comparison
    value: float = Field(gt=0, description="mL/min")
    formula: Literal["cockcroft_gault"] = "cockcroft_gault"
    weight: Literal["actual"] = "actual"


class FindingAbsentRule(FrozenModel):
    """None of the listed clinical findings may be present (an exclusion).

    Each finding must be explicitly recorded as present or absent; a finding not recorded is
    ``unknown``, never assumed absent. ``applies_to_sex`` limits the rule (e.g. pregnancy) and makes
    it ``met`` for the other sex.
    """

    type: Literal["finding_absent"]
    findings: list[str] = Field(min_length=1)
    applies_to_sex: Sex | None = None


class AttestationRule(FrozenModel):
    """A judgement the protocol leaves to the investigator, recorded as a signed yes/no answer.

    The requirement is satisfied when the recorded answer equals ``satisfied_when``.
    """

    type: Literal["attestation"]
    question: str = Field(min_length=5)
    satisfied_when: bool


LATER_LINES_QUESTION = (
    "The patient failed more than one line of systemic therapy for esophageal cancer. The seed "
    "describes a second-line study but does not exclude later lines: does the investigator confirm "
    "the patient is eligible?"
)


class FirstLineFailureRule(FrozenModel):
    """Progression on, or intolerance to, a prior line of systemic therapy (seed 000 inclusion b).

    Definitive concurrent chemoradiotherapy counts as a failed line when progression happened during
    it or within ``ccrt_progression_window_months`` after its end; with later progression it is not a
    failed line, and when lines are numbered by start date it is not a line at all (nor is therapy
    given for another cancer). A patient who failed ``line`` and also a later line needs the
    investigator's answer to ``later_lines_question`` (recorded under the criterion's id; ``yes``
    satisfies the criterion).
    """

    type: Literal["prior_line_failure"]
    line: int = Field(default=1, ge=1)
    ccrt_progression_window_months: int = Field(default=6, ge=0)
    later_lines_question: str = Field(default=LATER_LINES_QUESTION, min_length=5)


class NoPriorTherapyRule(FrozenModel):
    """No prior anti-tumour therapy of the listed modalities (an empty record list means none)."""

    type: Literal["no_prior_therapy"]
    modalities: list[TherapyModality] = Field(min_length=1)
    indication: Literal["any_cancer", "esophageal_cancer"] = Field(
        default="any_cancer",
        description="Count prior therapy for any cancer, or only therapy given for esophageal cancer",
    )


class NoRecentInvestigationalDrugRule(FrozenModel):
    """No investigational drug (another drug trial) within ``window_days`` before screening."""

    type: Literal["no_recent_investigational_drug"]
    window_days: int = Field(gt=0)


class NoOtherMalignancyRule(FrozenModel):
    """No synchronous second primary cancer and no other malignancy within the look-back window.

    A malignancy within ``lookback_years`` excludes whatever its status unless its type is in
    ``exceptions``; an excepted type excludes unless recorded cured (completely cured). An older
    malignancy excludes while still active. Unrecorded status or date -> unknown (seed 002 exclusion
    12; see the evaluator).
    """

    type: Literal["no_other_malignancy"]
    lookback_years: int = Field(gt=0)
    exceptions: list[str] = Field(default_factory=list)


class ScoreRule(FrozenModel):
    """A clinical score against a threshold; the score is computed from components when given."""

    type: Literal["score"]
    score: Literal["pg_sga"]
    op: Comparison
    value: float


class MeasurableDiseaseRule(FrozenModel):
    """At least ``min_lesions`` measurable lesions per RECIST 1.1, counted by the protocol's rule."""

    type: Literal["measurable_disease"]
    min_lesions: int = Field(default=1, ge=1)


class ConsentRule(FrozenModel):
    """Signed informed consent dated on or before the screening date."""

    type: Literal["consent"]


class AnyOfRule(FrozenModel):
    """Satisfied when any sub-rule is met; not met only when all are not met; else unknown."""

    type: Literal["any_of"]
    rules: list[Rule] = Field(min_length=2)


def is_attestable(rule: Rule) -> bool:
    """Whether an investigator's recorded answer can decide ``rule`` (an attestation, a prior-line
    failure with more than one failed line, or an ``any_of`` holding one)."""
    if isinstance(rule, (AttestationRule, FirstLineFailureRule)):
        return True
    return isinstance(rule, AnyOfRule) and any(is_attestable(sub) for sub in rule.rules)


Rule = Annotated[
    AgeRule
    | CodedRule
    | NumericRule
    | LabRule
    | CreatinineClearanceRule
    | FindingAbsentRule
    | AttestationRule
    | FirstLineFailureRule
    | NoPriorTherapyRule
    | NoRecentInvestigationalDrugRule
    | NoOtherMalignancyRule
    | ScoreRule
    | MeasurableDiseaseRule
    | ConsentRule
    | AnyOfRule,
    Field(discriminator="type"),
]

AnyOfRule.model_rebuild()


class Criterion(FrozenModel):
    """One eligibility criterion, traced to the seed item it implements."""

    id: str = Field(pattern=r"^(inc|exc)-[a-z0-9][a-z0-9-]*$")
    source: str = Field(
        pattern=r"^(inclusion|exclusion) [a-z0-9]+$",
        description='The seed item exactly as the seed labels it, e.g. "inclusion d" or "exclusion 3"',
    )
    kind: Literal["inclusion", "exclusion"]
    text: str = Field(min_length=3, description="The criterion as the seed words it")
    rule: Rule

    @model_validator(mode="after")
    def _kind_matches(self) -> Criterion:
        prefix = "inc" if self.kind == "inclusion" else "exc"
        if not self.id.startswith(prefix + "-"):
            raise ValueError(
                f"criterion id '{self.id}' must start with '{prefix}-' for an {self.kind} criterion"
            )
        if not self.source.startswith(self.kind):
            raise ValueError(f"criterion '{self.id}' is an {self.kind} but its source is '{self.source}'")
        return self

    @property
    def question(self) -> str | None:
        """The question this criterion asks the investigator, as the evaluator quotes it: an
        attestation's question, or a prior-line-failure rule's later-lines question; None otherwise."""
        if isinstance(self.rule, AttestationRule):
            return self.rule.question.strip()
        if isinstance(self.rule, FirstLineFailureRule):
            return self.rule.later_lines_question.strip()
        return None

    def asking(self, question: str) -> Criterion:
        """This criterion with its investigator's question (see :attr:`question`) worded ``question``;
        itself when it asks none."""
        if isinstance(self.rule, AttestationRule):
            return self.model_copy(update={"rule": self.rule.model_copy(update={"question": question})})
        if isinstance(self.rule, FirstLineFailureRule):
            rule = self.rule.model_copy(update={"later_lines_question": question})
            return self.model_copy(update={"rule": rule})
        return self
