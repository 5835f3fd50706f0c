"""Case report forms as protocol data: definitions, the safe expression language of ``show_if`` (and
later edit checks), UCUM units and the validation of an entered record. Pure: no database, web or CLI.
"""

from trialdesk.domain.forms.expressions import (
    Expression,
    ExpressionError,
    compile_condition,
    compile_expression,
)
from trialdesk.domain.forms.model import (
    SCREENING_VISIT_ID,
    CodeItem,
    FieldType,
    FormDefinition,
    FormField,
    FormVisitKind,
    PlausibleRange,
    check_forms,
)
from trialdesk.domain.forms.validation import (
    CleanValue,
    Entry,
    FieldIssue,
    FormRecordInvalid,
    shown_fields,
    validate_record,
)

__all__ = [
    "SCREENING_VISIT_ID",
    "CleanValue",
    "CodeItem",
    "Entry",
    "Expression",
    "ExpressionError",
    "FieldIssue",
    "FieldType",
    "FormDefinition",
    "FormField",
    "FormRecordInvalid",
    "FormVisitKind",
    "PlausibleRange",
    "check_forms",
    "compile_condition",
    "compile_expression",
    "shown_fields",
    "validate_record",
]
