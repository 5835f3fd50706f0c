"""The named cross-record edit checks (``kind: builtin``), set-wise over numpy arrays.

Each check is a pure function over columns loaded once per run (one query per table), vectorised with
sorted keys and :func:`numpy.searchsorted` instead of a Python loop per record. Dates are int64 days
since 1970-01-01 (:func:`trialdesk.domain.forms.vectorised.date_to_days`); a *key* joins a subject and a
day into one sortable int64 so that "an AE of the same subject within N days" is two binary searches.

References (cited in the tests too):

* ``ae_after_death``: an event cannot start after death; CDISC SDTM IG 3.4 AE/DS consistency
  (AESTDTC <= DTHDTC) and ICH E3 16.2.7.
* ``scan_after_progression``: after RECIST 1.1 progression, a further scan is expected only to confirm
  it under iRECIST (Seymour et al., Lancet Oncol 2017;18:e143-52: confirmation "4-8 weeks" after the
  first iUPD), so a scan later than ``confirmation_days`` (default 56 = 8 weeks) needs a reason.
* ``ecog_worsening_without_ae``: a worsening of performance status by ``min_points`` or more from
  baseline (Oken et al., Am J Clin Oncol 1982;5:649-55, the ECOG scale) is an untoward medical
  occurrence that ICH E2A defines as an adverse event; an AE is expected within ``window_days``.
* ``weight_change_without_dose_recalculation``: body-surface-area doses are recalculated when the
  weight changes by more than 10 % (ASCO guideline, Griggs et al., J Clin Oncol 2012;30:1553-61, and
  the usual pharmacy rule); a dose given with a weight that differs by more than ``percent`` from the
  latest measured one was not recalculated.
* ``conmed_after_ae_drug_given``: a concomitant medication given for an adverse event needs that AE
  recorded (ICH E6(R3) source/CRF consistency); the AE model has no "treatment given" field, so the
  check starts from the medication: an indication naming an adverse event, with no AE of the subject
  with onset from ``window_days`` before to the medication's start.
* ``enrolled_but_ineligible``: an enrolled subject whose screening value breaks an eligibility
  criterion of the protocol (ICH E6(R3) 5.0, protocol compliance).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from trialdesk.domain.common import FrozenModel

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    FloatArray = npt.NDArray[np.float64]
    BoolArray = npt.NDArray[np.bool_]

# NumPy is imported inside the array kernels: the protocol model imports this module for the parameter
# models only, and `trialdesk protocol list` should not pay for NumPy (issue 17).

DAY_SPAN = 1 << 24
"""Days per subject in a key (about 45,000 years: any date fits, before or after 1970)."""


def keys(subjects: IntArray, days: IntArray) -> IntArray:
    """One sortable int64 per (subject, day)."""
    import numpy as np

    return np.asarray(subjects, dtype=np.int64) * DAY_SPAN + (
        np.asarray(days, dtype=np.int64) + DAY_SPAN // 2
    )


def count_in_window(
    sorted_keys: IntArray, subjects: IntArray, first_day: IntArray, last_day: IntArray
) -> IntArray:
    """For each row, how many keys of the same subject fall on days ``first_day..last_day``
    (inclusive); ``sorted_keys`` must be sorted."""
    import numpy as np

    low = np.searchsorted(sorted_keys, keys(subjects, first_day), side="left")
    high = np.searchsorted(sorted_keys, keys(subjects, last_day), side="right")
    return np.asarray(high - low, dtype=np.int64)


# ---------------------------------------------------------------- parameters


class AeAfterDeath(FrozenModel):
    """No parameter: an AE whose onset is after the subject's date of death."""

    name: Literal["ae_after_death"] = "ae_after_death"


class ScanAfterProgression(FrozenModel):
    """A tumour assessment dated more than ``confirmation_days`` after the progression date."""

    name: Literal["scan_after_progression"] = "scan_after_progression"
    confirmation_days: int = Field(default=56, ge=0, le=365)


class EcogWorseningWithoutAe(FrozenModel):
    """An ECOG score ``min_points`` above the baseline with no AE of onset within ``window_days``."""

    name: Literal["ecog_worsening_without_ae"] = "ecog_worsening_without_ae"
    form: str = "ecog"
    field: str = "ecog"
    date_field: str = "assessed_on"
    min_points: int = Field(default=2, ge=1, le=4)
    window_days: int = Field(default=14, ge=0, le=180)


class WeightChangeWithoutDoseRecalculation(FrozenModel):
    """A dose given with a weight more than ``percent`` % away from the latest measured weight."""

    name: Literal["weight_change_without_dose_recalculation"] = "weight_change_without_dose_recalculation"
    form: str = "vital_signs"
    field: str = "weight"
    date_field: str = "measured_on"
    percent: float = Field(default=10.0, gt=0, le=100)


class ConmedAfterAeDrugGiven(FrozenModel):
    """A medication given for an adverse event with no AE of onset in the ``window_days`` before."""

    name: Literal["conmed_after_ae_drug_given"] = "conmed_after_ae_drug_given"
    form: str = "concomitant_medications"
    start_field: str = "start_date"
    indication_field: str = "indication"
    indication_terms: list[str] = Field(
        default_factory=lambda: ["adverse event", "side effect", "toxicity"], min_length=1
    )
    window_days: int = Field(default=7, ge=0, le=365)


class EnrolledButIneligible(FrozenModel):
    """An enrolled subject whose record of ``form`` makes ``when`` true (a broken criterion)."""

    name: Literal["enrolled_but_ineligible"] = "enrolled_but_ineligible"
    form: str
    field: str = Field(description="The field the query is raised on")
    when: str = Field(min_length=1, max_length=500, description="True when the subject is ineligible")
    criterion: str = Field(min_length=1, description="The protocol's criterion, e.g. 'inclusion 3'")


BuiltinParams = (
    AeAfterDeath
    | ScanAfterProgression
    | EcogWorseningWithoutAe
    | WeightChangeWithoutDoseRecalculation
    | ConmedAfterAeDrugGiven
    | EnrolledButIneligible
)

BUILTINS: dict[str, type[BuiltinParams]] = {
    "ae_after_death": AeAfterDeath,
    "scan_after_progression": ScanAfterProgression,
    "ecog_worsening_without_ae": EcogWorseningWithoutAe,
    "weight_change_without_dose_recalculation": WeightChangeWithoutDoseRecalculation,
    "conmed_after_ae_drug_given": ConmedAfterAeDrugGiven,
    "enrolled_but_ineligible": EnrolledButIneligible,
}
"""The named checks a checks file may use, with the model of their parameters."""

PLACEHOLDERS: dict[str, frozenset[str]] = {
    "ae_after_death": frozenset({"term", "onset", "death"}),
    "scan_after_progression": frozenset({"visit", "scan", "progression", "days"}),
    "ecog_worsening_without_ae": frozenset({"visit", "score", "baseline", "window_days"}),
    "weight_change_without_dose_recalculation": frozenset(
        {"agent", "cycle", "used", "measured", "change", "percent"}
    ),
    "conmed_after_ae_drug_given": frozenset({"name", "start", "window_days"}),
    "enrolled_but_ineligible": frozenset({"criterion", "visit", "value"}),
}
"""The ``{placeholders}`` each builtin can fill in its query text."""


def parse_params(name: str, params: dict[str, Any]) -> BuiltinParams:
    """The validated parameters of builtin ``name``; ``ValueError`` naming an unknown builtin."""
    model = BUILTINS.get(name)
    if model is None:
        raise ValueError(f"unknown builtin check '{name}' (known: {', '.join(sorted(BUILTINS))})")
    return model.model_validate({**params, "name": name})


# ---------------------------------------------------------------- the checks


def ae_after_death(onset_days: IntArray, death_days: IntArray, death_known: BoolArray) -> BoolArray:
    """AEs (one row each, with their subject's death date) whose onset is after the death date."""
    import numpy as np

    return np.asarray(death_known & (onset_days > death_days), dtype=bool)


def scan_after_progression(
    scan_subjects: IntArray,
    scan_days: IntArray,
    progression_subjects: IntArray,
    progression_days: IntArray,
    confirmation_days: int,
) -> tuple[BoolArray, IntArray]:
    """Scans later than ``confirmation_days`` after their subject's (earliest) progression date; also
    the days since progression of every scan (meaningful where the mask is true)."""
    import numpy as np

    order = np.lexsort((progression_days, progression_subjects))
    subjects, days = progression_subjects[order], progression_days[order]
    first = np.ones(len(subjects), dtype=bool)
    first[1:] = subjects[1:] != subjects[:-1]
    subjects, days = subjects[first], days[first]
    where = np.searchsorted(subjects, scan_subjects)
    found = where < len(subjects)
    found[found] = subjects[where[found]] == scan_subjects[found]
    since = np.zeros(len(scan_days), dtype=np.int64)
    since[found] = scan_days[found] - days[where[found]]
    return np.asarray(found & (since > confirmation_days), dtype=bool), since


def baseline_by_subject(
    subjects: IntArray, days: IntArray, scores: FloatArray, is_screening: BoolArray
) -> FloatArray:
    """Each row's subject's baseline score: the screening value, else the earliest one (NaN if none)."""
    import numpy as np

    order = np.lexsort((days, ~is_screening, subjects))
    sorted_subjects = subjects[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_subjects[1:] != sorted_subjects[:-1]
    unique_subjects, baseline = sorted_subjects[first], scores[order][first]
    return np.asarray(baseline[np.searchsorted(unique_subjects, subjects)], dtype=float)


def ecog_worsening_without_ae(
    subjects: IntArray,
    days: IntArray,
    scores: FloatArray,
    is_screening: BoolArray,
    ae_keys_sorted: IntArray,
    params: EcogWorseningWithoutAe,
) -> tuple[BoolArray, FloatArray]:
    """Assessments ``min_points`` or more above the subject's baseline with no AE of onset within
    ``window_days`` before or after; also each row's baseline."""
    import numpy as np

    baseline = baseline_by_subject(subjects, days, scores, is_screening)
    worse = (scores - baseline) >= params.min_points
    nearby = count_in_window(ae_keys_sorted, subjects, days - params.window_days, days + params.window_days)
    return np.asarray(worse & (nearby == 0), dtype=bool), baseline


def latest_measurement(
    measured_keys_sorted: IntArray, measured_values: FloatArray, subjects: IntArray, days: IntArray
) -> tuple[FloatArray, BoolArray]:
    """For each (subject, day), the latest measured value of the same subject on or before that day
    (``measured_values`` in the order of ``measured_keys_sorted``) and whether there is one."""
    import numpy as np

    query = keys(subjects, days)
    index = np.searchsorted(measured_keys_sorted, query, side="right") - 1
    found = index >= 0
    safe = np.where(found, index, 0)
    if len(measured_keys_sorted):
        found &= (measured_keys_sorted[safe] // DAY_SPAN) == subjects
        value = np.where(found, measured_values[safe], np.nan)
    else:
        value = np.full(len(query), np.nan)
    return np.asarray(value, dtype=float), np.asarray(found, dtype=bool)


def weight_change_without_dose_recalculation(
    used_weight: FloatArray, measured_weight: FloatArray, measured_known: BoolArray, percent: float
) -> tuple[BoolArray, FloatArray]:
    """Doses given with a weight more than ``percent`` % away from the latest measured weight; also
    the change in % of the weight used."""
    import numpy as np

    with np.errstate(all="ignore"):
        change = np.abs(measured_weight - used_weight) / used_weight * 100.0
    mask = measured_known & np.isfinite(change) & (change > percent + 1e-9)
    return np.asarray(mask, dtype=bool), np.asarray(change, dtype=float)


def given_for_adverse_event(indications: npt.NDArray[Any], terms: list[str]) -> BoolArray:
    """Whether each indication names an adverse event (one of ``terms``, ignoring case)."""
    import numpy as np

    lowered = np.char.lower(np.asarray(indications, dtype=str))
    found = np.zeros(len(lowered), dtype=bool)
    for term in terms:
        found |= np.char.find(lowered, term.lower()) >= 0
    return found


def conmed_after_ae_drug_given(
    subjects: IntArray,
    start_days: IntArray,
    for_adverse_event: BoolArray,
    ae_keys_sorted: IntArray,
    window_days: int,
) -> BoolArray:
    """Medications given for an adverse event with no AE of the subject with onset from
    ``window_days`` before the start to the start day."""
    import numpy as np

    nearby = count_in_window(ae_keys_sorted, subjects, start_days - window_days, start_days)
    return np.asarray(for_adverse_event & (nearby == 0), dtype=bool)
