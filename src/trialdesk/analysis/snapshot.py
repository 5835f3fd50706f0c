"""What a trial report is made from: :class:`ReportSnapshot`, plus the helpers that build one.

A snapshot is the frozen input of one report at one data cut-off: the protocol, the cut-off date,
the software version, the CONSORT counts, one :class:`SubjectEndpointData` per enrolled subject, the
per-subject target-sum series (waterfall and spider plots, from the RECIST engine) and, when the
safety module provides them, the safety tables. The renderer derives the endpoints and runs the
analyses from the snapshot itself, so the same snapshot always gives the same report.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from pydantic import Field

import trialdesk
from trialdesk.domain.common import FrozenModel
from trialdesk.domain.disposition import EOS_LABELS, EndOfStudyReason
from trialdesk.domain.endpoints import AnalysisDataset, SubjectEndpointData, apply_cutoff, derive_endpoints
from trialdesk.domain.protocol import Protocol

SafetyCell = bool | int | float | str | None
"""A safety-table cell (booleans print as yes / no)."""


def arm_label(protocol: Protocol, arm: str) -> str:
    """Short arm label: the protocol label up to its first colon (``Arm A (experimental)``)."""
    return protocol.arm(arm).label.split(":")[0].strip()


def phase_short(protocol: Protocol, phase_id: str) -> str:
    """Short phase name: ``Phase IIa`` from ``Phase IIa safety run-in (pilot)``."""
    name = protocol.phase(phase_id).name
    words = name.split(" ")
    return " ".join(words[:2]) if name.lower().startswith("phase ") and len(words) > 1 else name


def group_label(protocol: Protocol, phase_id: str, arm: str) -> str:
    """Label of a phase/arm group; the phase is named only when the design has several phases."""
    if len(protocol.design.phases) == 1:
        return arm_label(protocol, arm)
    return f"{phase_short(protocol, phase_id)}: {arm_label(protocol, arm)}"


class ConsortArm(FrozenModel):
    """CONSORT counts of one arm of one phase (subjects, at the cut-off).

    Boxes and how they add up (checked by :meth:`ConsortCounts.arithmetic_errors`):

    * ``allocated`` (enrolled in a single-arm / run-in phase, or randomized) = ``treated`` +
      ``not_treated`` + ``not_derivable`` (records listed in the report's data-issues appendix);
    * ``treated`` = ``ongoing`` + the sum of ``discontinued`` (treatment-discontinuation reason ->
      subjects; a subject who died on treatment without a recorded end counts under "death", so a dead
      subject is never on treatment);
    * ``left_study``: reason -> subjects who left the study on or before the cut-off (withdrawal of
      consent, lost to follow-up), from the study-exit record, not the treatment record; ``lost_to_follow_up``
      is its "lost to follow-up" count; ``died``: deaths on or before the cut-off (an outcome, not a
      study exit); ``in_follow_up`` = allocated - left study - died;
    * ``analysed`` = ``allocated`` - ``not_derivable`` (intention to treat).
    """

    phase_id: str
    arm: str
    allocated: int = Field(ge=0)
    treated: int = Field(ge=0)
    not_treated: int = Field(default=0, ge=0)
    discontinued: dict[str, int] = Field(default_factory=dict)
    ongoing: int = Field(ge=0)
    left_study: dict[str, int] = Field(default_factory=dict)
    died: int = Field(default=0, ge=0)
    not_derivable: int = Field(default=0, ge=0)
    analysed: int = Field(ge=0)

    @property
    def lost_to_follow_up(self) -> int:
        """Subjects lost to follow-up on or before the cut-off."""
        return self.left_study.get(LOST_TO_FOLLOW_UP, 0)

    @property
    def in_follow_up(self) -> int:
        """Subjects alive and still in the study at the cut-off."""
        return self.allocated - sum(self.left_study.values()) - self.died


class ConsortCounts(FrozenModel):
    """CONSORT flow: screening, screen failures by reason, the enrolled-but-not-randomized, and the arms.

    ``screened`` = ``screen_failed`` + ``still_screening`` + :attr:`enrolled`; ``screen_failures``
    maps a reason (usually an eligibility criterion, ``"inc-d-hemoglobin: Hemoglobin >= 90 g/L"``) to
    the number of patients failing it; a patient failing several criteria counts under each, so these
    counts can add up to more than ``screen_failed``. ``not_randomized``: phase id -> subjects enrolled
    in a randomized phase and not (yet) randomized at the cut-off.
    """

    screened: int = Field(ge=0)
    screen_failed: int = Field(ge=0)
    still_screening: int = Field(default=0, ge=0)
    screen_failures: dict[str, int] = Field(default_factory=dict)
    not_randomized: dict[str, int] = Field(default_factory=dict)
    arms: list[ConsortArm] = Field(default_factory=list)

    @property
    def enrolled(self) -> int:
        """Subjects enrolled in any phase (allocated to an arm or awaiting randomization)."""
        return sum(arm.allocated for arm in self.arms) + sum(self.not_randomized.values())

    def enrolled_by_phase(self) -> dict[str, int]:
        """Phase id -> subjects enrolled in it."""
        out: dict[str, int] = dict(self.not_randomized)
        for arm in self.arms:
            out[arm.phase_id] = out.get(arm.phase_id, 0) + arm.allocated
        return out

    def arithmetic_errors(self) -> list[str]:
        """Every CONSORT box sum that does not add up (empty when the diagram is consistent)."""
        errors = []
        if self.screened != self.screen_failed + self.still_screening + self.enrolled:
            errors.append(
                f"screened {self.screened} != screen failed {self.screen_failed} + still screening "
                f"{self.still_screening} + enrolled {self.enrolled}"
            )
        for a in self.arms:
            where = f"{a.phase_id}/{a.arm}"
            if a.allocated != a.treated + a.not_treated + a.not_derivable:
                errors.append(f"{where}: allocated != treated + not treated + not derivable")
            if a.treated != a.ongoing + sum(a.discontinued.values()):
                errors.append(f"{where}: treated != on treatment + discontinued")
            if a.in_follow_up < 0:
                errors.append(f"{where}: more subjects left the study or died than were allocated")
            if a.analysed != a.allocated - a.not_derivable:
                errors.append(f"{where}: analysed != allocated - not derivable")
        return errors


LOST_TO_FOLLOW_UP = EOS_LABELS[EndOfStudyReason.lost_to_follow_up]
"""Study-exit reason of a subject lost to follow-up (CDISC DS term LOST TO FOLLOW-UP)."""
WITHDRAWAL = EOS_LABELS[EndOfStudyReason.withdrawal_by_subject]
"""Study-exit reason of a subject who withdrew consent (CDISC DS term WITHDRAWAL BY SUBJECT)."""
DEATH = EOS_LABELS[EndOfStudyReason.death]


class ScreeningRecord(FrozenModel):
    """One screened patient's path to enrolment, with the clinical dates that place it at a cut-off.

    ``screening_date``: first screening visit; ``enrolment_date``: consent / enrolment (``None``: not
    enrolled); ``randomization_date``: only for randomized phases (``None``: not yet randomized);
    ``screen_failure_date``: when the patient was declared ineligible; ``failed_criteria``: the
    eligibility criteria (labels) not met.
    """

    subject_id: str = Field(min_length=1)
    screening_date: dt.date
    phase_id: str | None = None
    enrolment_date: dt.date | None = None
    randomization_date: dt.date | None = None
    screen_failure_date: dt.date | None = None
    failed_criteria: list[str] = Field(default_factory=list)


class DataIssue(FrozenModel):
    """A record the report could not derive: the subject (screening number), its group and why."""

    subject_id: str
    phase_id: str | None = None
    arm: str | None = None
    reason: str


class TargetSumPoint(FrozenModel):
    """One post-baseline time point of a subject's target sum (mm) and its % change from baseline."""

    date: dt.date
    days: int = Field(description="Days from the baseline scan")
    sum_mm: float | None
    pct_from_baseline: float | None
    overall: str


class TargetSumSeries(FrozenModel):
    """A subject's target-lesion sums over time (spider plot) and best % change (waterfall plot).

    ``best_pct``: the smallest % change from baseline among time points up to and including the first
    progression (the largest shrinkage, or the smallest growth), ``None`` without a measured sum.
    """

    subject_id: str
    arm: str
    phase_id: str
    baseline_sum_mm: float | None
    points: list[TargetSumPoint]
    best_pct: float | None
    bor: str


class ReportSnapshot(FrozenModel):
    """Everything one trial report needs, at one data cut-off (see the module docstring).

    ``safety_tables``: table title -> rows (each row a dict column -> value), filled by the safety
    module; ``None`` prints "safety tables not available". ``synthetic`` prints "SYNTHETIC DATA" on
    every page.
    """

    protocol: Protocol
    cutoff: dt.date
    software_version: str = Field(default_factory=lambda: trialdesk.__version__)
    synthetic: bool = False
    title: str | None = None
    consort: ConsortCounts
    subjects: list[SubjectEndpointData]
    target_sums: list[TargetSumSeries] = Field(default_factory=list)
    safety_tables: dict[str, list[dict[str, SafetyCell]]] | None = None
    treatment_tables: dict[str, list[dict[str, str]]] | None = None
    """Title -> rows of drug exposure, radiotherapy delivery, visit compliance and the deviation
    listing (``services.treatment_report``); ``None`` when the caller has no treatment records."""
    data_issues: list[DataIssue] = Field(default_factory=list)


def consort_arms(
    protocol: Protocol,
    subjects: Iterable[SubjectEndpointData],
    cutoff: dt.date,
    issues: Iterable[DataIssue] = (),
    issue_origins: Mapping[str, dt.date] | None = None,
) -> list[ConsortArm]:
    """CONSORT arm boxes from the subjects as known at ``cutoff`` (phases and arms in protocol order).

    ``issues`` with a phase and arm are subjects of that arm whose records could not be derived; they
    count as allocated (``not_derivable``) when their origin (``issue_origins``, subject id -> date) is
    on or before the cut-off, or unknown.
    """
    known = [s for s in (apply_cutoff(subject, cutoff) for subject in subjects) if s is not None]
    origins = issue_origins or {}
    broken = [i for i in issues if i.arm is not None and origins.get(i.subject_id, cutoff) <= cutoff]
    out: list[ConsortArm] = []
    for phase in protocol.design.phases:
        for arm in phase.arms:
            members = [s for s in known if s.phase_id == phase.id and s.arm == arm]
            not_derivable = len({i.subject_id for i in broken if (i.phase_id, i.arm) == (phase.id, arm)})
            if not members and not not_derivable:
                continue
            treated = [s for s in members if s.treatment_start is not None]
            stopped = Counter(
                (s.off_treatment_reason or "not recorded") if s.treatment_end is not None else DEATH
                for s in treated
                if s.treatment_end is not None or s.death_date is not None
            )
            left = Counter(
                s.discontinuation_reason
                for s in members
                if s.discontinuation_reason
                and s.discontinuation_reason.strip().lower() != DEATH
                and s.death_date is None
            )
            out.append(
                ConsortArm(
                    phase_id=phase.id,
                    arm=arm,
                    allocated=len(members) + not_derivable,
                    treated=len(treated),
                    not_treated=len(members) - len(treated),
                    discontinued=_by_count(stopped),
                    ongoing=len(treated) - sum(stopped.values()),
                    left_study=_by_count(left),
                    died=sum(1 for s in members if s.death_date is not None),
                    not_derivable=not_derivable,
                    analysed=len(members),
                )
            )
    return out


def screening_counts(
    protocol: Protocol, records: Iterable[ScreeningRecord], cutoff: dt.date
) -> tuple[int, int, dict[str, int], dict[str, int]]:
    """(screened, screen failed, failures by criterion, not randomized by phase) at ``cutoff``.

    A patient counts as screened when screened on or before the cut-off, as a screen failure when
    declared ineligible on or before it and not enrolled, and as "not randomized" when enrolled in a
    randomized phase on or before the cut-off but not randomized on or before it.
    """
    kinds = {p.id: p.kind for p in protocol.design.phases}
    screened = failed = 0
    failures: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    for r in records:
        if r.screening_date > cutoff:
            continue
        screened += 1
        enrolled = r.enrolment_date is not None and r.enrolment_date <= cutoff
        if not enrolled:
            if r.screen_failure_date is not None and r.screen_failure_date <= cutoff:
                failed += 1
                failures.update(r.failed_criteria)
            continue
        randomized = r.randomization_date is not None and r.randomization_date <= cutoff
        if r.phase_id is not None and kinds.get(r.phase_id) == "randomized" and not randomized:
            waiting[r.phase_id] += 1
    return screened, failed, _by_count(failures), dict(waiting)


def derivable_subjects(
    protocol: Protocol, subjects: Sequence[SubjectEndpointData], cutoff: dt.date
) -> tuple[list[SubjectEndpointData], list[DataIssue]]:
    """Split ``subjects`` into those whose endpoints derive at ``cutoff`` and the data issues of the rest.

    Each subject is derived on its own, so one record that cannot be derived (an inconsistent scan
    history, say) is reported with its reason instead of stopping the whole report.
    """
    good: list[SubjectEndpointData] = []
    issues: list[DataIssue] = []
    for subject in subjects:
        try:
            derive_endpoints(protocol, [subject], cutoff)
        except Exception as exc:  # any failure of one record is reported, never raised
            issues.append(
                DataIssue(
                    subject_id=subject.subject_id,
                    phase_id=subject.phase_id,
                    arm=subject.arm,
                    reason=f"endpoints not derivable: {exc}",
                )
            )
        else:
            good.append(subject)
    return good, issues


def _by_count(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def target_sum_series(dataset: AnalysisDataset) -> list[TargetSumSeries]:
    """Target-sum series of every subject with a RECIST report in ``dataset`` (input order)."""
    responses = {r.subject_id: r for r in dataset.responses}
    out: list[TargetSumSeries] = []
    for subject in dataset.subjects:
        report = dataset.reports.get(subject.subject_id)
        if report is None:
            continue
        points = [
            TargetSumPoint(
                date=tp.date,
                days=(tp.date - report.baseline_date).days,
                sum_mm=tp.sum_mm,
                pct_from_baseline=tp.pct_from_baseline,
                overall=tp.overall,
            )
            for tp in report.time_points
        ]
        until = report.progression_date
        eligible = [
            p.pct_from_baseline
            for p in points
            if p.pct_from_baseline is not None and (until is None or p.date <= until)
        ]
        out.append(
            TargetSumSeries(
                subject_id=subject.subject_id,
                arm=subject.arm,
                phase_id=subject.phase_id,
                baseline_sum_mm=report.baseline_sum_mm,
                points=points,
                best_pct=min(eligible) if eligible else None,
                bor=responses[subject.subject_id].bor,
            )
        )
    return out


def build_snapshot(
    protocol: Protocol,
    cutoff: dt.date,
    subjects: Sequence[SubjectEndpointData],
    *,
    screening: Sequence[ScreeningRecord] | None = None,
    screened: int | None = None,
    screen_failures: Mapping[str, int] | None = None,
    screen_failed: int | None = None,
    data_issues: Sequence[DataIssue] = (),
    issue_origins: Mapping[str, dt.date] | None = None,
    safety_tables: Mapping[str, list[dict[str, SafetyCell]]] | None = None,
    treatment_tables: Mapping[str, list[dict[str, str]]] | None = None,
    synthetic: bool = False,
    software_version: str | None = None,
) -> ReportSnapshot:
    """Assemble a :class:`ReportSnapshot` at ``cutoff``: CONSORT and target sums derived from ``subjects``.

    Screening counts come from ``screening`` (one :class:`ScreeningRecord` per screened patient,
    counted at the cut-off) or, for callers that only know totals, from ``screened`` /
    ``screen_failures`` / ``screen_failed`` (default: screened minus enrolled), taken as at the cut-off.
    Subjects whose endpoints cannot be derived join ``data_issues`` (the report's appendix) and count
    as allocated but not analysed.
    """
    if (screening is None) == (screened is None):
        raise ValueError("build_snapshot: give either 'screening' records or the 'screened' total")
    good, issues = derivable_subjects(protocol, subjects, cutoff)
    issues = [*data_issues, *issues]
    origins = {s.subject_id: s.origin_date for s in subjects} | dict(issue_origins or {})
    dataset = derive_endpoints(protocol, good, cutoff)
    arms = consort_arms(protocol, good, cutoff, issues, origins)
    allocated = sum(arm.allocated for arm in arms)
    if screening is not None:
        n_screened, failed, failures, waiting = screening_counts(protocol, screening, cutoff)
    else:
        assert screened is not None
        n_screened, waiting, failures = screened, {}, dict(screen_failures or {})
        failed = screen_failed if screen_failed is not None else max(screened - allocated, 0)
    still = n_screened - failed - allocated - sum(waiting.values())
    if still < 0:
        issues.append(
            DataIssue(
                subject_id="(trial)",
                reason=f"{allocated + sum(waiting.values())} subjects enrolled at the cut-off but only "
                f"{n_screened - failed} screened and not failed: screening records are missing",
            )
        )
    consort = ConsortCounts(
        screened=n_screened,
        screen_failed=failed,
        still_screening=max(still, 0),
        screen_failures=failures,
        not_randomized=waiting,
        arms=arms,
    )
    return ReportSnapshot(
        protocol=protocol,
        cutoff=cutoff,
        software_version=software_version or trialdesk.__version__,
        synthetic=synthetic,
        consort=consort,
        subjects=list(good),
        target_sums=target_sum_series(dataset),
        safety_tables=dict(safety_tables) if safety_tables is not None else None,
        treatment_tables=dict(treatment_tables) if treatment_tables is not None else None,
        data_issues=issues,
    )
