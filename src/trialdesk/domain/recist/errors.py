"""Errors of the response engine, each named after the rule it protects.

Every error carries ``field`` (where in the input the problem is, e.g.
``baseline.lesions[2].role``) and ``reason`` (which rule is broken), so the CLI and the API can
report it in one line without a traceback.
"""

from __future__ import annotations


class RecistInputError(ValueError):
    """Input that breaks a RECIST 1.1 / iRECIST rule or the documented file format."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidResponseInput(RecistInputError):
    """A value of the wrong type or shape (file format, not a clinical rule)."""


class DuplicateLesion(RecistInputError):
    """Two lesions share an id (baseline lesions, or new lesions at one assessment)."""


class NoBaselineDisease(RecistInputError):
    """The baseline records no lesion, so no response can be assessed (RECIST 1.1 s3.1)."""


class NonMeasurableTarget(RecistInputError):
    """A target lesion that is not measurable at baseline (RECIST 1.1 s3.1 and s3.3)."""


class NormalNodeRecorded(RecistInputError):
    """A lymph node with short axis < 10 mm recorded as a lesion (RECIST 1.1 s3.1: normal node)."""


class TooManyTargetLesions(RecistInputError):
    """More than 5 target lesions (RECIST 1.1 s3.3)."""


class TooManyTargetsPerOrgan(RecistInputError):
    """More than 2 target lesions in one organ (RECIST 1.1 s3.3; all lymph nodes are one organ)."""


class GroupedLesionSplit(RecistInputError):
    """Members of one grouped lesion (protocol lesion-counting rule) with different roles."""


class AssessmentBeforeBaseline(RecistInputError):
    """A follow-up assessment dated on or before the baseline assessment."""


class AssessmentsOutOfOrder(RecistInputError):
    """Follow-up assessments not in strictly increasing date order."""


class UnknownLesion(RecistInputError):
    """A follow-up entry naming a lesion that the baseline does not hold in that role."""
