"""iRECIST (Seymour et al., Lancet Oncol 2017;18:e143-e152) on top of RECIST 1.1.

* The first RECIST 1.1 progression (target sum +20 % and +5 mm over the nadir, unequivocal
  non-target progression, or a new lesion) is iUPD, unconfirmed progression.
* The next assessment at least 4 weeks later (2-day tolerance; 4-8 weeks recommended) confirms
  iCPD by: a further target-sum increase of >= 5 mm over the iUPD sum (target-driven iUPD);
  any further non-target increase (``increased``; non-target-driven); a new-lesion target SOM
  increase of >= 5 mm, any growth of a new non-target lesion, or more new lesions (new-lesion
  driven); or RECIST 1.1 progression in a category that was not at iUPD. An earlier scan confirms
  only with an additional new lesion.
* Otherwise the time point remains iUPD while a category is still progressed (target still PD
  over the nadir, non-target still ``unequivocal_progression``, new lesions still present without
  further shrinkage of the targets since the iUPD; EORTC iRECIST FAQ scenario B), is NE when
  nothing could be assessed, or resets to iCR/iPR/iSD/non-iCR/non-iUPD. After a reset, progression
  must again meet RECIST 1.1 criteria from the current nadir; new lesions already seen give a new
  iUPD only if more appear, their SOM meets PD over its nadir, or an NLNT increases.
* The PFS date is the iUPD date of a confirmed iCPD; iBOR follows iRECIST Table 3.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Literal

from trialdesk.domain.recist.assessment import Assessment
from trialdesk.domain.recist.baseline import Baseline
from trialdesk.domain.recist.best_response import BestResponse, Category, Observation, best_overall_response
from trialdesk.domain.recist.evaluation import (
    Components,
    as_mm,
    backdating_notes,
    component_fields,
    derive_components,
)
from trialdesk.domain.recist.new_lesions import (
    new_non_target_increased,
    new_target_som,
    select_new_target_lesions,
)
from trialdesk.domain.recist.report import Recist11Summary, ResponseReport, TimePointResponse
from trialdesk.domain.recist.settings import ResponseSettings
from trialdesk.domain.recist.timepoint import PD_MIN_ABSOLUTE_INCREASE_MM, meets_progression, overall_response

IrecistResponse = Literal["iCR", "iPR", "iSD", "NON-iCR/NON-iUPD", "iUPD", "iCPD", "NE"]
Driver = Literal["target", "non_target", "new_lesions"]

_I_NAMES: dict[str, IrecistResponse] = {
    "CR": "iCR",
    "PR": "iPR",
    "SD": "iSD",
    "NON-CR/NON-PD": "NON-iCR/NON-iUPD",
    "NE": "NE",
    "PD": "iUPD",
}
_CATEGORIES: dict[IrecistResponse, Category] = {
    "iCR": "CR",
    "iPR": "PR",
    "iSD": "SD",
    "NON-iCR/NON-iUPD": "NON-CR/NON-PD",
    "NE": "NE",
    "iUPD": "UPD",
    "iCPD": "PD",
}


@dataclass(frozen=True)
class _Pending:
    """An iUPD awaiting confirmation: its date, what drove it, and the values to compare with."""

    date: dt.date
    drivers: frozenset[Driver]
    target_sizes: dict[str, Fraction] | None
    nlt_som: Fraction | None


@dataclass(frozen=True)
class _Point:
    """iRECIST inputs of one time point."""

    components: Components
    nlt_som: Fraction | None
    nlnt_increased: bool


@dataclass
class _State:
    pending: _Pending | None = None
    confirmed: _Pending | None = None
    known_new: set[str] = field(default_factory=set)
    nlt_nadir: Fraction | None = None


def _progression_drivers(point: _Point, state: _State) -> frozenset[Driver]:
    """Categories meeting RECIST 1.1 PD now (new lesions: only those not already accounted for)."""
    c = point.components
    drivers: set[Driver] = set()
    if c.target == "PD":
        drivers.add("target")
    if c.non_target == "PD":
        drivers.add("non_target")
    if c.new.counted - state.known_new or (
        state.known_new
        and (
            point.nlnt_increased
            or (
                point.nlt_som is not None
                and state.nlt_nadir is not None
                and meets_progression(point.nlt_som, state.nlt_nadir)
            )
        )
    ):
        drivers.add("new_lesions")
    return frozenset(drivers)


def _confirms(point: _Point, pending: _Pending, state: _State, settings: ResponseSettings) -> str | None:
    """Why this time point confirms the pending iUPD as iCPD, or ``None``."""
    c = point.components
    if c.new.counted - state.known_new:
        return "more new lesions"
    if (c.assessment.date - pending.date).days < settings.icpd_min_days - settings.icpd_tolerance_days:
        return None
    if "target" in pending.drivers:
        if _target_grew(point, pending):
            return "target sum increased >= 5 mm since iUPD"
    elif c.target == "PD":
        return "target progression (category not at iUPD)"
    if "non_target" in pending.drivers:
        if any(v == "increased" for v in c.assessment.non_target.values()):
            return "further non-target increase"
    elif c.non_target == "PD":
        return "non-target progression (category not at iUPD)"
    return _new_lesion_growth(point, pending)


def _target_grew(point: _Point, pending: _Pending) -> bool:
    """iRECIST: target sum >= 5 mm above the iUPD sum (sequential increases add up).

    Compared over the lesions measured at the iUPD, which must all be measured again.
    """
    sizes = point.components.sizes
    if sizes is None or pending.target_sizes is None:
        return False
    then = pending.target_sizes
    if any(lesion_id not in sizes.values for lesion_id in then):
        return False
    increase = sum((sizes.values[lesion_id] - size for lesion_id, size in then.items()), Fraction(0))
    return increase >= PD_MIN_ABSOLUTE_INCREASE_MM


def _new_lesion_growth(point: _Point, pending: _Pending) -> str | None:
    if point.nlnt_increased:
        return "new non-target lesion increased"
    if point.nlt_som is not None:
        reference = pending.nlt_som if pending.nlt_som is not None else Fraction(0)
        if point.nlt_som - reference >= PD_MIN_ABSOLUTE_INCREASE_MM:
            return "new-lesion target sum increased >= 5 mm"
    return None


def _still_progressed(point: _Point, pending: _Pending, state: _State) -> bool:
    """A category is still at iUPD (no change or decrease since the last time point, iRECIST Table 2)."""
    c = point.components
    if c.target == "PD" or c.non_target == "PD":
        return True
    if not (c.new.counted & state.known_new):
        return False
    shrinking = (
        c.sizes is not None
        and c.sizes.complete
        and pending.target_sizes is not None
        and c.sizes.total < sum(pending.target_sizes.values(), Fraction(0))
        and c.target in ("CR", "PR", "SD")
    )
    return not shrinking


def _table_response(point: _Point, state: _State) -> IrecistResponse:
    """iRECIST time-point response without (pending) progression: RECIST 1.1 Tables 4/5 renamed.

    Persisting new lesions already accounted for forbid iCR (iPR with targets, else non-iCR/non-iUPD).
    """
    c = point.components
    overall = overall_response(c.target, c.non_target, new_lesion=False)
    if overall == "CR" and c.new.counted & state.known_new:
        overall = "PR" if c.target is not None else "NON-CR/NON-PD"
    return _I_NAMES[overall]


def _step(point: _Point, state: _State, settings: ResponseSettings) -> tuple[IrecistResponse, list[str]]:
    """The iRECIST response of one time point, updating ``state``."""
    c = point.components
    notes: list[str] = []
    if state.confirmed is not None:
        response: IrecistResponse = (
            "iCPD" if _progression_drivers(point, state) else _table_response(point, state)
        )
        return response, ["after confirmed progression (not used for iBOR)"]
    if state.pending is not None:
        return _step_pending(point, state.pending, state, settings)
    drivers = _progression_drivers(point, state)
    if drivers:
        sizes = dict(c.sizes.values) if c.sizes is not None else None
        state.pending = _Pending(c.assessment.date, drivers, sizes, point.nlt_som)
        notes.append(
            f"iUPD driven by {', '.join(sorted(drivers))}; confirm at the next assessment in 4-8 weeks"
        )
        return "iUPD", notes
    return _table_response(point, state), notes


def _step_pending(
    point: _Point, pending: _Pending, state: _State, settings: ResponseSettings
) -> tuple[IrecistResponse, list[str]]:
    c = point.components
    days = (c.assessment.date - pending.date).days
    reason = _confirms(point, pending, state, settings)
    if reason is not None:
        state.confirmed, state.pending = pending, None
        notes = [f"iCPD: {reason}; progression dated to the iUPD of {pending.date}"]
        if days > settings.icpd_max_days:
            notes.append(
                f"confirmation {days} days after iUPD (iRECIST recommends <= {settings.icpd_max_days})"
            )
        return "iCPD", notes
    early = days < settings.icpd_min_days - settings.icpd_tolerance_days
    notes = [f"scan {days} days after iUPD: too early to confirm iCPD"] if early else []
    if _still_progressed(point, pending, state):
        return "iUPD", [*notes, f"iUPD of {pending.date} not confirmed"]
    response = _table_response(point, state)
    if response == "NE":
        return "NE", [*notes, f"iUPD of {pending.date} pending"]
    state.pending = None
    return response, [*notes, f"iUPD of {pending.date} reset"]


def irecist_report(
    baseline: Baseline,
    assessments: Sequence[Assessment],
    settings: ResponseSettings,
    recist11: ResponseReport,
) -> ResponseReport:
    """iRECIST time points, iBOR (iRECIST Table 3) and dates; ``recist11`` is reported in parallel."""
    components = derive_components(baseline, assessments, settings)
    nlt_ids = select_new_target_lesions(assessments, [c.new for c in components])
    baseline_sum = baseline.sum_of_diameters()
    state = _State()
    time_points: list[TimePointResponse] = []
    for c in components:
        point = _Point(
            c,
            new_target_som(c.assessment, nlt_ids),
            new_non_target_increased(c.assessment, c.new.counted, nlt_ids),
        )
        response, notes = _step(point, state, settings)
        state.known_new |= c.new.counted
        if point.nlt_som is not None:
            state.nlt_nadir = (
                point.nlt_som if state.nlt_nadir is None else min(state.nlt_nadir, point.nlt_som)
            )
        fields = component_fields(c, baseline_sum)
        time_points.append(
            TimePointResponse(
                **fields,
                new_target_som_mm=as_mm(point.nlt_som),
                overall=response,
                notes=[*backdating_notes(c, assessments), *notes],
            )
        )
    best = irecist_best_response(baseline.date, [(tp.date, tp.overall) for tp in time_points], settings)
    return ResponseReport(
        rules="irecist",
        settings=settings,
        baseline_date=baseline.date,
        baseline_sum_mm=as_mm(baseline_sum) if baseline.targets else None,
        time_points=time_points,
        best_overall_response=best.response,
        best_overall_response_date=best.date,
        confirmed=best.confirmed,
        response_start_date=best.response_start_date,
        progression_date=state.confirmed.date if state.confirmed is not None else None,
        unconfirmed_progression_date=state.pending.date if state.pending is not None else None,
        recist11=Recist11Summary(
            best_overall_response=recist11.best_overall_response, progression_date=recist11.progression_date
        ),
    )


def irecist_best_response(
    baseline_date: dt.date, responses: Sequence[tuple[dt.date, str]], settings: ResponseSettings
) -> BestResponse:
    """iBOR (iRECIST Table 3): best response up to iCPD; iCPD if confirmed, iUPD if never confirmed.

    ``responses`` are iRECIST time-point names; the result uses iRECIST names too.
    """
    observations = [Observation(date, _category(name)) for date, name in responses]
    best = best_overall_response(baseline_date, observations, settings)
    names = {"UPD": "iUPD", "PD": "iCPD", "MISSING": "MISSING"}
    return replace(best, response=names.get(best.response) or _I_NAMES[best.response])


def _category(name: str) -> Category:
    if name not in _CATEGORIES:
        raise ValueError(f"not an iRECIST time-point response: {name}")
    return _CATEGORIES[name]
