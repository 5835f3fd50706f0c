"""What clinical data cannot be: dates and values that no real record holds (pure rules, no I/O).

The services call these checks before anything is stored, so the CLI, the API and the web pages all
refuse the same impossible input with the same message; ``trialdesk data check`` applies the same
rules to rows stored before the checks existed. Each check raises :class:`ImplausibleValue` naming the
field and the reason; nothing is ever coerced.

Constants (protocol-independent, documented in ``docs/architecture.md``):

* :data:`EARLIEST_CLINICAL_DATE`: 1900-01-01. No living trial subject has a clinical date before it;
  such a date is a typing error (``0026`` for ``2026``, a default ``1899-12-31`` of a spreadsheet).
* :data:`MAX_LESION_DIAMETER_MM`: 500 mm. RECIST 1.1 measures the longest diameter of a lesion (short
  axis of a node) in mm; no lesion of an adult's trunk exceeds half a metre, so a larger value is a
  unit error (cm typed as mm x 10, or a sum typed as one lesion).
* :data:`MAX_FREE_TEXT_LENGTH`: 2,000 characters for a free-text clinical field (a reason, a verbatim
  term, a discontinuation reason); :data:`MAX_SHORT_TEXT_LENGTH`: 200 for labels and terms.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from trialdesk.domain.errors import InvalidValue

EARLIEST_CLINICAL_DATE = dt.date(1900, 1, 1)
MAX_LESION_DIAMETER_MM = 500.0
MAX_FREE_TEXT_LENGTH = 2000
MAX_SHORT_TEXT_LENGTH = 200


class ImplausibleValue(InvalidValue):
    """A value that cannot be true; ``field`` names it and ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field)
        self.field: str = field
        self.reason = reason


@dataclass(frozen=True)
class DatedRecord:
    """A recorded clinical event of a subject: what it is (e.g. ``adverse event 12 onset``) and its date."""

    label: str
    date: dt.date


def check_clinical_date(
    field: str,
    value: dt.date,
    *,
    today: dt.date,
    death_date: dt.date | None = None,
    not_before: DatedRecord | None = None,
) -> None:
    """Refuse a clinical date before 1900, in the future (after ``today``, the server's date), after
    the subject's death, or before ``not_before`` (e.g. the subject's treatment start)."""
    if value < EARLIEST_CLINICAL_DATE:
        raise ImplausibleValue(field, f"{value} is before {EARLIEST_CLINICAL_DATE}: not a clinical date")
    if value > today:
        raise ImplausibleValue(field, f"{value} is in the future (today is {today})")
    if death_date is not None and value > death_date:
        raise ImplausibleValue(field, f"{value} is after the subject's death date {death_date}")
    if not_before is not None and value < not_before.date:
        raise ImplausibleValue(field, f"{value} is before the subject's {not_before.label} {not_before.date}")


def events_after(records: Iterable[DatedRecord], day: dt.date) -> list[DatedRecord]:
    """The records dated after ``day``, earliest first (e.g. events after a proposed death date)."""
    return sorted((r for r in records if r.date > day), key=lambda r: (r.date, r.label))


def check_death_date(
    field: str, death_date: dt.date, records: Iterable[DatedRecord], *, today: dt.date
) -> None:
    """A death date must be a clinical date and no recorded event may follow it (the first such event
    is named)."""
    check_clinical_date(field, death_date, today=today)
    later = events_after(records, death_date)
    if later:
        first = later[0]
        more = f" and {len(later) - 1} more" if len(later) > 1 else ""
        raise ImplausibleValue(
            field, f"death date {death_date} is before the recorded {first.label} on {first.date}{more}"
        )


def check_baseline_window(field: str, baseline: dt.date, treatment_start: dt.date, window_days: int) -> None:
    """The tumour baseline must fall within ``window_days`` before treatment start (and not after it):
    RECIST 1.1 section 3.3, "baseline evaluations should be performed as close as possible to the
    treatment start and never more than 4 weeks before" (the window is the protocol's
    ``tumour_assessment.baseline_window_days``)."""
    earliest = treatment_start - dt.timedelta(days=window_days)
    if baseline > treatment_start:
        raise ImplausibleValue(field, f"baseline {baseline} is after the treatment start {treatment_start}")
    if baseline < earliest:
        raise ImplausibleValue(
            field,
            f"baseline {baseline} is more than {window_days} days before the treatment start "
            f"{treatment_start} (protocol baseline window)",
        )


def check_lesion_size(field: str, value: float) -> None:
    """A lesion diameter (mm): a finite number, not negative, at most :data:`MAX_LESION_DIAMETER_MM`."""
    if not math.isfinite(value):
        raise ImplausibleValue(field, f"{value} is not a finite number of millimetres")
    if value < 0:
        raise ImplausibleValue(field, f"size {value} mm is negative")
    if value > MAX_LESION_DIAMETER_MM:
        raise ImplausibleValue(
            field, f"size {value} mm is above the plausible maximum of {MAX_LESION_DIAMETER_MM:g} mm (unit?)"
        )


def check_text(field: str, text: str | None, max_length: int = MAX_FREE_TEXT_LENGTH) -> None:
    """A free-text field no longer than ``max_length`` characters."""
    if text is not None and len(text) > max_length:
        raise ImplausibleValue(field, f"{len(text)} characters, more than the maximum of {max_length}")


def check_finite(field: str, value: float) -> None:
    """A measured value must be a finite number (no NaN or Infinity)."""
    if not math.isfinite(value):
        raise ImplausibleValue(field, f"{value} is not a finite number")
