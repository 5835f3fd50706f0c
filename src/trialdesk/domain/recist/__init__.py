"""Tumour response: RECIST 1.1 (Eisenhauer 2009) and iRECIST (Seymour 2017), pure rules, no I/O.

Modules: ``measurability`` (baseline size rules, lesion counting), ``baseline`` (target selection
rules), ``assessment`` (follow-up records), ``timepoint`` (sums, target / non-target / overall
response), ``new_lesions``, ``best_response`` (BOR, confirmation, SD minimum), ``recist11`` and
``irecist`` (derivations), ``engine`` (:func:`assess_response`), ``io`` (the JSON format).
"""

from trialdesk.domain.recist.assessment import Assessment, NewLesion
from trialdesk.domain.recist.baseline import Baseline, Lesion
from trialdesk.domain.recist.engine import assess_response
from trialdesk.domain.recist.errors import RecistInputError
from trialdesk.domain.recist.measurability import (
    BaselineLesion,
    Measurability,
    classify_lesion,
    count_measurable_lesions,
    group_lesions,
    minimum_measurable_mm,
)
from trialdesk.domain.recist.report import ResponseReport, TimePointResponse
from trialdesk.domain.recist.settings import ResponseSettings, Rules

__all__ = [
    "Assessment",
    "Baseline",
    "BaselineLesion",
    "Lesion",
    "Measurability",
    "NewLesion",
    "RecistInputError",
    "ResponseReport",
    "ResponseSettings",
    "Rules",
    "TimePointResponse",
    "assess_response",
    "classify_lesion",
    "count_measurable_lesions",
    "group_lesions",
    "minimum_measurable_mm",
]
