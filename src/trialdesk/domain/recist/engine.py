"""Entry point of the response engine: validate, then derive RECIST 1.1 or iRECIST responses."""

from __future__ import annotations

from collections.abc import Sequence

from trialdesk.domain.recist.assessment import Assessment, check_assessments
from trialdesk.domain.recist.baseline import Baseline, check_baseline
from trialdesk.domain.recist.irecist import irecist_report
from trialdesk.domain.recist.recist11 import recist11_report
from trialdesk.domain.recist.report import ResponseReport
from trialdesk.domain.recist.settings import ResponseSettings, Rules


def assess_response(
    baseline: Baseline,
    assessments: Sequence[Assessment],
    settings: ResponseSettings | None = None,
    rules: Rules = "recist1.1",
) -> ResponseReport:
    """Validate the baseline and assessments, then derive every time point and the best response.

    Raises a :class:`~trialdesk.domain.recist.errors.RecistInputError` subclass naming the field
    when the input breaks a rule (RECIST 1.1 s3 selection rules, dates, lesion ids).
    """
    settings = settings or ResponseSettings()
    check_baseline(baseline, settings.lesion_counting)
    check_assessments(baseline, assessments)
    recist11 = recist11_report(baseline, assessments, settings)
    if rules == "recist1.1":
        return recist11
    return irecist_report(baseline, assessments, settings, recist11)
