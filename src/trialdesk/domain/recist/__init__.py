"""Tumour response: RECIST 1.1 (Eisenhauer 2009) and iRECIST (Seymour 2017), pure rules, no I/O."""

from trialdesk.domain.recist.measurability import (
    BaselineLesion,
    Measurability,
    classify_lesion,
    count_measurable_lesions,
    group_lesions,
    minimum_measurable_mm,
)

__all__ = [
    "BaselineLesion",
    "Measurability",
    "classify_lesion",
    "count_measurable_lesions",
    "group_lesions",
    "minimum_measurable_mm",
]
