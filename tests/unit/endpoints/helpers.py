"""Builders for endpoint-derivation tests: one liver target (50 mm at baseline), one bone non-target.

Seed 000 protocol (ivo-shfrt-2l): imaging every 6 weeks (42 days), visit window 7 days, so an event
more than 2 x 42 + 7 = 91 days after the last adequate assessment follows two missed assessments.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from trialdesk.domain.endpoints import SubjectEndpointData, TumourData
from trialdesk.domain.protocol import Protocol
from trialdesk.domain.recist import Assessment, Baseline, Lesion
from trialdesk.protocols.loader import load_registry

ORIGIN = dt.date(2025, 1, 6)
BASELINE_MM = 50.0


def day(n: int) -> dt.date:
    """The date ``n`` days after the origin."""
    return ORIGIN + dt.timedelta(days=n)


def protocol(protocol_id: str = "ivo-shfrt-2l", **analysis_values: Any) -> Protocol:
    """A built-in protocol, with some analysis parameters replaced by new values."""
    base = load_registry().get(protocol_id)
    if not analysis_values:
        return base
    updates = {
        name: getattr(base.analysis, name).model_copy(update={"value": value})
        for name, value in analysis_values.items()
    }
    return base.model_copy(update={"analysis": base.analysis.model_copy(update=updates)})


def scan(days: int, mm: float | None, new_lesion: bool = False) -> Assessment:
    """A follow-up scan: the target at ``mm`` (``None``: not assessed, NE), the non-target present."""
    new = [{"id": "X1", "site": "lung"}] if new_lesion else []
    return Assessment.model_validate(
        {"date": day(days), "measurements": {"T1": mm}, "non_target": {"NT1": "present"}, "new_lesions": new}
    )


def tumour(*scans: Assessment) -> TumourData:
    baseline = Baseline(
        date=day(-7),
        lesions=[
            Lesion(id="T1", site="liver", nodal=False, diameter_mm=BASELINE_MM, role="target"),
            Lesion(id="NT1", site="bone", nodal=False, diameter_mm=None, role="non_target"),
        ],
    )
    return TumourData(baseline=baseline, assessments=list(scans))


def subject(
    subject_id: str = "S01",
    scans: list[Assessment] | None = None,
    *,
    no_baseline: bool = False,
    **kwargs: Any,
) -> SubjectEndpointData:
    """A seed-000 subject (enrolled at ORIGIN) with the given scans and other fields."""
    values: dict[str, Any] = {
        "subject_id": subject_id,
        "arm": "ivo-shfrt",
        "phase_id": "main",
        "origin_date": ORIGIN,
        "treatment_start": ORIGIN,
        "tumour": None if no_baseline else tumour(*(scans or [])),
    }
    values.update(kwargs)
    return SubjectEndpointData(**values)
