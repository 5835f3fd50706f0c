"""RECIST 1.1 time-point responses, best overall response and progression date (Eisenhauer 2009)."""

from __future__ import annotations

from collections.abc import Sequence

from trialdesk.domain.recist.assessment import Assessment
from trialdesk.domain.recist.baseline import Baseline
from trialdesk.domain.recist.best_response import (
    Category,
    Observation,
    best_overall_response,
    confirmed_responses,
    until_progression,
)
from trialdesk.domain.recist.evaluation import (
    Components,
    as_mm,
    backdating_notes,
    component_fields,
    derive_components,
)
from trialdesk.domain.recist.report import ResponseReport, TimePointResponse
from trialdesk.domain.recist.settings import ResponseSettings
from trialdesk.domain.recist.timepoint import OverallResponse, overall_response

CONTINUING_PR_NOTE = "SD from baseline after a confirmed PR: continuing PR until PD (EORTC RECIST FAQ)"
REAPPEARANCE_NOTE = (
    "disease seen again after an overall CR: PD (RECIST 1.1 Table 3 footnote; EORTC FAQ "
    "'Does a new lesion always result in PD?')"
)


def _disease_seen(components: Components) -> bool:
    """Some target or non-target disease is measured/seen (not merely unassessed)."""
    return components.target in ("PR", "SD") or components.non_target == "NON-CR/NON-PD"


def recist11_time_points(
    baseline: Baseline, assessments: Sequence[Assessment], settings: ResponseSettings
) -> list[TimePointResponse]:
    """Overall response at every time point (RECIST 1.1 s4.3.4 Tables 4 and 5).

    With ``reappearance_after_cr = "progression"``, disease seen after an overall CR (the last
    evaluable time point) is PD: after a true CR any reappearing disease is progression.
    """
    baseline_sum = baseline.sum_of_diameters()
    last_evaluable: OverallResponse | None = None
    results: list[TimePointResponse] = []
    for components in derive_components(baseline, assessments, settings):
        overall = overall_response(components.target, components.non_target, bool(components.new.counted))
        notes = backdating_notes(components, assessments)
        if (
            settings.reappearance_after_cr == "progression"
            and last_evaluable == "CR"
            and overall in ("PR", "SD", "NON-CR/NON-PD")
            and _disease_seen(components)
        ):
            overall = "PD"
            notes.append(REAPPEARANCE_NOTE)
        if overall != "NE":
            last_evaluable = overall
        fields = component_fields(components, baseline_sum)
        results.append(TimePointResponse(**fields, overall=overall, notes=notes))
    return results


def recist11_report(
    baseline: Baseline, assessments: Sequence[Assessment], settings: ResponseSettings
) -> ResponseReport:
    """Time points, BOR (RECIST 1.1 s4.4) and the PFS progression date (first PD)."""
    time_points = recist11_time_points(baseline, assessments, settings)
    observations = [Observation(tp.date, _category(tp.overall)) for tp in time_points]
    best = best_overall_response(baseline.date, observations, settings)
    time_points = continuing_partial_response(time_points, observations, settings)
    progression = next((tp.date for tp in time_points if tp.overall == "PD"), None)
    return ResponseReport(
        rules="recist1.1",
        settings=settings,
        baseline_date=baseline.date,
        baseline_sum_mm=as_mm(baseline.sum_of_diameters()) if baseline.targets else None,
        time_points=time_points,
        best_overall_response=best.response,
        best_overall_response_date=best.date,
        confirmed=best.confirmed,
        response_start_date=best.response_start_date,
        progression_date=progression,
    )


def continuing_partial_response(
    time_points: Sequence[TimePointResponse], observations: Sequence[Observation], settings: ResponseSettings
) -> list[TimePointResponse]:
    """After a confirmed PR, later SD time points (no PD) are a continuing PR.

    EORTC RECIST 1.1 FAQ ("The definition of SD: a clarification"; "Managing PR when TP
    measurements change slightly over time"): once PR is confirmed, the response continues until PD
    criteria (from the nadir) are met; e.g. sums 100, 70, 70, 80, 80, 80 are PR at every time point.
    """
    window = until_progression(observations)
    confirmations = [
        by for index, by in confirmed_responses(window, settings).items() if window[index].response == "PR"
    ]
    if not confirmations:
        return list(time_points)
    after = min(confirmations)
    result: list[TimePointResponse] = []
    for index, tp in enumerate(time_points):
        if after < index < len(window) and tp.overall == "SD":
            tp = tp.model_copy(
                update={"target": "PR", "overall": "PR", "notes": [*tp.notes, CONTINUING_PR_NOTE]}
            )
        result.append(tp)
    return result


def _category(overall: str) -> Category:
    if overall not in ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"):
        raise ValueError(f"not a RECIST 1.1 overall response: {overall}")
    return overall  # type: ignore[return-value]
