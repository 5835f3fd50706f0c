"""Best overall response (BOR) with optional confirmation and the stable-disease minimum.

RECIST 1.1 (Eisenhauer 2009) s4.4: BOR is the best time-point response from the start of treatment
until progression. When confirmation is required, CR and PR need a later assessment at least
4 weeks on (Table 3); SD counts only when met at least once after a protocol-defined minimum
interval from baseline, else BOR is NE (or PD when progression follows).

Confirmation follows admiralonco ``derive_param_confirmed_bor`` (pharmaverse): a CR is confirmed
by a later CR >= ``confirmation_min_days`` on with only CR/NE between (at most
``confirmation_max_ne`` NE); a PR by a later CR/PR with CR/PR/NE (and optionally one SD) between
and no PR after a CR. An unconfirmed or early CR/PR counts as SD when it meets the SD minimum.

The same function serves iRECIST (Seymour 2017) once time points are mapped to these categories:
``UPD`` (iUPD) breaks a confirmation and ranks below SD; ``PD`` (iCPD) ends the window; the iBOR is
iCPD when progression was confirmed, iUPD when it was not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from trialdesk.domain.recist.settings import ResponseSettings

Category = Literal["CR", "PR", "SD", "NON-CR/NON-PD", "UPD", "PD", "NE"]
BestCategory = Literal["CR", "PR", "SD", "NON-CR/NON-PD", "UPD", "PD", "NE", "MISSING"]


@dataclass(frozen=True)
class Observation:
    """One time point's overall response, on a common scale for RECIST 1.1 and iRECIST."""

    date: dt.date
    response: Category


@dataclass(frozen=True)
class BestResponse:
    """BOR with the date it was first met, whether the CR/PR is confirmed, and the response start.

    ``response`` is a :data:`BestCategory` (iRECIST names after :func:`irecist_best_response`).
    """

    response: str
    date: dt.date | None
    confirmed: bool | None
    response_start_date: dt.date | None


def best_overall_response(
    baseline_date: dt.date, observations: Sequence[Observation], settings: ResponseSettings
) -> BestResponse:
    """The BOR of a series of time points (RECIST 1.1 s4.4 and Table 3; iRECIST Table 3).

    Only time points up to the first PD (iCPD) count. ``MISSING`` when there is none.
    """
    window = until_progression(observations)
    if not window:
        return BestResponse("MISSING", None, None, None)
    confirmed = set(confirmed_responses(window, settings))
    for category in ("CR", "PR"):
        indices = [i for i, obs in enumerate(window) if obs.response == category]
        chosen = [i for i in indices if i in confirmed] if settings.confirmation_required else indices
        if chosen:
            first = chosen[0]
            return BestResponse(
                category,
                window[first].date,
                first in confirmed,
                _response_start(window, confirmed, first, settings),
            )
    return _without_response(baseline_date, window, settings)


def until_progression(observations: Sequence[Observation]) -> list[Observation]:
    """The time points that count for BOR: up to and including the first PD (iCPD)."""
    window: list[Observation] = []
    for obs in observations:
        window.append(obs)
        if obs.response == "PD":
            break
    return window


def _response_start(
    window: Sequence[Observation], confirmed: set[int], best: int, settings: ResponseSettings
) -> dt.date:
    """First documented CR/PR of the response (RECIST 1.1 s4.5: start of the duration of response)."""
    for index, obs in enumerate(window[: best + 1]):
        if obs.response in ("CR", "PR") and (index in confirmed or not settings.confirmation_required):
            return obs.date
    return window[best].date


def confirmed_responses(window: Sequence[Observation], settings: ResponseSettings) -> dict[int, int]:
    """Index of every confirmed CR/PR in ``window`` -> index of the assessment that confirms it."""
    confirmed: dict[int, int] = {}
    for index in range(len(window)):
        by = _confirmed_by(window, index, settings)
        if by is not None:
            confirmed[index] = by
    return confirmed


def _confirmed_by(window: Sequence[Observation], index: int, settings: ResponseSettings) -> int | None:
    if window[index].response == "CR":
        return _cr_confirmed(window, index, settings)
    if window[index].response == "PR":
        return _pr_confirmed(window, index, settings)
    return None


def _cr_confirmed(window: Sequence[Observation], index: int, settings: ResponseSettings) -> int | None:
    first = window[index]
    not_evaluable = 0
    for later in range(index + 1, len(window)):
        obs = window[later]
        if obs.response == "CR":
            if (obs.date - first.date).days >= settings.confirmation_min_days:
                return later
        elif obs.response == "NE" and not_evaluable < settings.confirmation_max_ne:
            not_evaluable += 1
        else:
            return None
    return None


def _pr_confirmed(window: Sequence[Observation], index: int, settings: ResponseSettings) -> int | None:
    first = window[index]
    not_evaluable = stable = 0
    seen_cr = False
    for later in range(index + 1, len(window)):
        obs = window[later]
        if obs.response in ("CR", "PR"):
            if obs.response == "PR" and seen_cr:
                return None
            if (obs.date - first.date).days >= settings.confirmation_min_days:
                return later
            seen_cr = seen_cr or obs.response == "CR"
        elif obs.response == "NE" and not_evaluable < settings.confirmation_max_ne:
            not_evaluable += 1
        elif obs.response == "SD" and settings.confirmation_accept_sd and stable < 1:
            stable += 1
        else:
            return None
    return None


def _without_response(
    baseline_date: dt.date, window: Sequence[Observation], settings: ResponseSettings
) -> BestResponse:
    """BOR when no (confirmed) CR/PR: SD if met late enough, else non-CR/non-PD, PD, iUPD or NE."""

    def late_enough(obs: Observation) -> bool:
        return (obs.date - baseline_date).days >= settings.sd_min_days

    ranked: tuple[tuple[BestCategory, tuple[Category, ...], bool], ...] = (
        ("SD", ("CR", "PR", "SD"), True),
        ("NON-CR/NON-PD", ("NON-CR/NON-PD",), True),
        ("PD", ("PD",), False),
        ("UPD", ("UPD",), False),
    )
    for best, categories, needs_minimum in ranked:
        for obs in window:
            if obs.response in categories and (late_enough(obs) or not needs_minimum):
                return BestResponse(best, obs.date, None, None)
    return BestResponse("NE", None, None, None)
