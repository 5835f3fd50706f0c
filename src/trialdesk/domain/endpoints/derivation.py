"""Endpoint derivation: PFS, OS, DOR, TTR and best overall response, one record per subject.

Definitions (``docs/analysis.md``):

* **PFS**: origin (enrolment or randomization) to RECIST progression or death from any cause,
  censored at the last adequate tumour assessment. Censoring rules (FDA 2018, "Clinical Trial
  Endpoints for the Approval of Cancer Drugs and Biologics", appendix on PFS censoring), each a
  protocol parameter in :class:`~trialdesk.domain.protocol.model.AnalysisPlan`:

  - no baseline assessment: censored at the origin;
  - no adequate post-baseline assessment: censored at the origin, unless death falls within
    ``early_death_window_intervals`` imaging intervals (plus the visit window) of the origin;
  - new anticancer therapy before progression: censored at the last adequate assessment on or before
    the start of the new therapy;
  - progression or death after ``max_missed_assessments`` or more missed assessments: censored at the
    last adequate assessment. Missed assessments come from the calendar
    (:func:`trialdesk.domain.calendar.count_missed_assessments`): the scheduled assessments, every
    imaging interval from treatment start (the origin if untreated), after the last adequate one whose
    window closed before the event with no adequate assessment inside it;
  - the subject left the study (end of study other than death: consent withdrawn, lost to follow-up,
    study terminated, completed) before progression or death: censored at the last adequate assessment
    on or before the end-of-study date (an event after the exit is not counted);
  - otherwise no event: censored at the last adequate assessment.

  An *adequate* assessment is a post-baseline time point whose overall response is evaluable (not NE).
* **OS**: origin to death from any cause, censored at the last date known alive (at the cut-off when
  known alive then); a subject who left the study is censored at the end-of-study date (lost to
  follow-up: at the last date known alive when that is earlier), see :func:`os_outcome`.
* **DOR** (responders only): first documented CR/PR to progression or death, with the PFS censoring
  rules.
* **TTR** (responders only): origin to the first documented CR/PR (always an event).
* **Best overall response** from the RECIST engine; a responder has a CR/PR (confirmed when the
  protocol requires confirmation, RECIST 1.1 s4.4); disease control is CR, PR, SD or NON-CR/NON-PD.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from trialdesk.domain.calendar import count_missed_assessments
from trialdesk.domain.disposition import EOS_LABELS, EndOfStudyReason
from trialdesk.domain.endpoints.cutoff import apply_cutoff
from trialdesk.domain.endpoints.model import (
    DAYS_PER_MONTH,
    AnalysisDataset,
    ResponseRecord,
    SubjectEndpointData,
    TimeToEventRecord,
    TteParam,
)
from trialdesk.domain.protocol.model import NoAssessmentRule, Protocol
from trialdesk.domain.recist import ResponseReport, ResponseSettings, assess_response
from trialdesk.domain.recist.settings import Rules

RESPONSE_CATEGORIES = frozenset({"CR", "PR", "iCR", "iPR"})
DISEASE_CONTROL_CATEGORIES = RESPONSE_CATEGORIES | {"SD", "NON-CR/NON-PD", "iSD", "NON-iCR/NON-iUPD"}
NOT_EVALUABLE = frozenset({"NE"})


@dataclass(frozen=True)
class DerivationRules:
    """The protocol's derivation parameters in days (see :class:`AnalysisPlan`)."""

    response_rules: Rules
    settings: ResponseSettings
    interval_days: int
    window_days: int
    max_missed: int
    censor_at_new_therapy: bool
    no_baseline: NoAssessmentRule
    no_post_baseline: NoAssessmentRule
    early_death_intervals: int

    @classmethod
    def from_protocol(cls, protocol: Protocol) -> DerivationRules:
        """Read the rules from ``protocol.analysis`` and ``protocol.tumour_assessment``."""
        plan = protocol.analysis
        return cls(
            response_rules=plan.response_rules.value,
            settings=ResponseSettings.from_tumour_assessment(protocol.tumour_assessment),
            interval_days=7 * protocol.tumour_assessment.imaging_interval_weeks.value,
            window_days=plan.assessment_window_days.value,
            max_missed=plan.max_missed_assessments.value,
            censor_at_new_therapy=plan.censor_at_new_anticancer_therapy.value,
            no_baseline=plan.no_baseline_assessment.value,
            no_post_baseline=plan.no_post_baseline_assessment.value,
            early_death_intervals=plan.early_death_window_intervals.value,
        )

    @property
    def early_death_days(self) -> int:
        """A death at most this many days after the origin counts without a post-baseline assessment."""
        return self.early_death_intervals * self.interval_days + self.window_days


@dataclass(frozen=True)
class _Outcome:
    date: dt.date
    event: bool
    rule: str


def derive_endpoints(
    protocol: Protocol, subjects: Iterable[SubjectEndpointData], cutoff: dt.date
) -> AnalysisDataset:
    """Derive PFS, OS, DOR, TTR and BOR for every subject at the data cut-off ``cutoff``.

    The cut-off is applied first (:func:`apply_cutoff`); the RECIST engine then runs on the scans on
    or before it with the protocol's response settings. Records come in the input order of subjects.
    Raises ``ValueError`` on a duplicate subject id.
    """
    rules = DerivationRules.from_protocol(protocol)
    subjects = list(subjects)
    duplicates = sorted(i for i, n in Counter(s.subject_id for s in subjects).items() if n > 1)
    if duplicates:
        raise ValueError(f"duplicate subject id(s): {', '.join(duplicates)}")
    records: list[TimeToEventRecord] = []
    responses: list[ResponseRecord] = []
    reports: dict[str, ResponseReport] = {}
    kept: list[SubjectEndpointData] = []
    excluded: list[str] = []
    for raw in subjects:
        subject = apply_cutoff(raw, cutoff)
        if subject is None:
            excluded.append(raw.subject_id)
            continue
        kept.append(subject)
        report = _report(subject, rules)
        if report is not None:
            reports[subject.subject_id] = report
        records.extend(_subject_records(subject, report, rules, cutoff))
        responses.append(response_record(subject, report, rules.settings.confirmation_required))
    return AnalysisDataset(
        cutoff=cutoff,
        time_to_event=records,
        responses=responses,
        reports=reports,
        subjects=kept,
        excluded_after_cutoff=excluded,
    )


def _report(subject: SubjectEndpointData, rules: DerivationRules) -> ResponseReport | None:
    if subject.tumour is None:
        return None
    return assess_response(
        subject.tumour.baseline, subject.tumour.assessments, rules.settings, rules.response_rules
    )


def _subject_records(
    subject: SubjectEndpointData, report: ResponseReport | None, rules: DerivationRules, cutoff: dt.date
) -> list[TimeToEventRecord]:
    origin = subject.origin_date
    out = [
        _record(subject, "PFS", origin, pfs_outcome(subject, report, rules)),
        _record(subject, "OS", origin, os_outcome(subject, cutoff)),
    ]
    response = response_record(subject, report, rules.settings.confirmation_required)
    if report is not None and response.responder and report.response_start_date is not None:
        start = report.response_start_date
        out.append(_record(subject, "DOR", start, dor_outcome(subject, report, rules)))
        out.append(_record(subject, "TTR", origin, _Outcome(start, True, "event: first documented response")))
    return out


def _record(
    subject: SubjectEndpointData, param: TteParam, start: dt.date, outcome: _Outcome
) -> TimeToEventRecord:
    days = (outcome.date - start).days
    if days < 0:
        raise ValueError(
            f"subject {subject.subject_id}: {param} date {outcome.date} is before its start {start}"
        )
    return TimeToEventRecord(
        subject_id=subject.subject_id,
        arm=subject.arm,
        phase_id=subject.phase_id,
        param=param,
        start_date=start,
        event_or_censor_date=outcome.date,
        aval_days=days,
        aval_months=days / DAYS_PER_MONTH,
        event=outcome.event,
        rule=outcome.rule,
    )


def adequate_dates(report: ResponseReport) -> list[dt.date]:
    """Dates of the adequate (evaluable, not NE) post-baseline time points, in order."""
    return [tp.date for tp in report.time_points if tp.overall not in NOT_EVALUABLE]


def pfs_outcome(
    subject: SubjectEndpointData, report: ResponseReport | None, rules: DerivationRules
) -> _Outcome:
    """PFS date, event flag and rule for one (cut-off-truncated) subject."""
    origin = subject.origin_date
    if report is None:
        return _no_assessment(subject, rules.no_baseline, "no baseline assessment", rules)
    adequate = [d for d in adequate_dates(report) if d >= origin]
    if not adequate:
        return _no_assessment(subject, rules.no_post_baseline, "no post-baseline assessment", rules)
    return _progression_or_death(origin, adequate, report.progression_date, subject, rules)


def dor_outcome(subject: SubjectEndpointData, report: ResponseReport, rules: DerivationRules) -> _Outcome:
    """DOR end date, event flag and rule for a responder (from ``report.response_start_date``)."""
    start = report.response_start_date
    if start is None:
        raise ValueError(f"subject {subject.subject_id}: DOR needs a response start date")
    adequate = [d for d in adequate_dates(report) if d >= start]
    return _progression_or_death(start, adequate, report.progression_date, subject, rules)


def _no_assessment(
    subject: SubjectEndpointData, rule: NoAssessmentRule, what: str, rules: DerivationRules
) -> _Outcome:
    origin, death = subject.origin_date, subject.death_date
    therapy = subject.new_anticancer_therapy_date
    before_therapy = not (
        rules.censor_at_new_therapy and therapy is not None and death is not None and therapy < death
    )
    if (
        rule == "censor_at_origin_unless_early_death"
        and death is not None
        and (death - origin).days <= rules.early_death_days
        and before_therapy
    ):
        return _Outcome(
            death, True, f"event: death with {what} (within {rules.early_death_intervals} intervals)"
        )
    return _Outcome(origin, False, f"censored: {what}")


def _progression_or_death(
    start: dt.date,
    adequate: Sequence[dt.date],
    progression: dt.date | None,
    subject: SubjectEndpointData,
    rules: DerivationRules,
) -> _Outcome:
    """Event at the first of progression / death after ``start``, with the censoring rules.

    Progression wins a tie with death (same date). Returns the censoring for new anticancer therapy
    before the event, for an event after missed assessments, or at the last adequate assessment.
    """
    events = sorted(
        (d, order, kind)
        for order, (d, kind) in enumerate(
            ((progression, "RECIST progression"), (subject.death_date, "death"))
        )
        if d is not None and d >= start
    )
    therapy = subject.new_anticancer_therapy_date
    if (
        rules.censor_at_new_therapy
        and therapy is not None
        and therapy >= start
        and (not events or therapy < events[0][0])
    ):
        last = _last_on_or_before(adequate, therapy, start)
        return _Outcome(last, False, "censored: new anticancer therapy before progression")
    left = _exit_censoring(start, adequate, events[0][0] if events else None, subject)
    if left is not None:
        return left
    if not events:
        last = adequate[-1] if adequate else start
        return _Outcome(last, False, "censored: last adequate assessment")
    event_date, _, kind = events[0]
    last_before = _last_before(adequate, event_date, start)
    anchor = subject.treatment_start or subject.origin_date
    missed = count_missed_assessments(
        anchor, rules.interval_days, rules.window_days, adequate, last_before, event_date
    )
    if missed >= rules.max_missed:
        return _Outcome(
            last_before, False, f"censored: >={rules.max_missed} missed assessments before the event"
        )
    return _Outcome(event_date, True, f"event: {kind}")


def _last_on_or_before(dates: Sequence[dt.date], limit: dt.date, default: dt.date) -> dt.date:
    earlier = [d for d in dates if d <= limit]
    return earlier[-1] if earlier else default


def _last_before(dates: Sequence[dt.date], limit: dt.date, default: dt.date) -> dt.date:
    earlier = [d for d in dates if d < limit]
    return earlier[-1] if earlier else default


def study_exit(subject: SubjectEndpointData) -> tuple[dt.date, str] | None:
    """(end-of-study date, reason) of a subject who left the study other than by death, else ``None``."""
    day, reason = subject.discontinuation_date, subject.discontinuation_reason
    if day is None or not reason or reason.strip().lower() == EOS_LABELS[EndOfStudyReason.death]:
        return None
    return day, reason


def _exit_censoring(
    start: dt.date, adequate: Sequence[dt.date], event: dt.date | None, subject: SubjectEndpointData
) -> _Outcome | None:
    """PFS/DOR of a subject who left the study before the event (or with none): censored at the last
    adequate assessment on or before the end of study; ``None`` when the end of study changes nothing
    (no exit, the event came first, or no assessment after the exit)."""
    left = study_exit(subject)
    if left is None or left[0] < start or (event is not None and event <= left[0]):
        return None
    last = _last_on_or_before(adequate, left[0], start)
    if event is None and last == (adequate[-1] if adequate else start):
        return None  # the usual "last adequate assessment" censoring, same date
    return _Outcome(last, False, f"censored: end of study ({left[1]}) before progression")


def os_outcome(subject: SubjectEndpointData, cutoff: dt.date) -> _Outcome:
    """OS date, event flag and rule: death, else the last date known alive (the cut-off at most).

    A subject who left the study (EOS other than death, e.g. consent withdrawn) is censored at the EOS
    date: known alive that day (the subject withdrew, completed, or the sponsor ended the study) and
    followed no further. A subject lost to follow-up is censored at the EOS date only when known alive
    then; otherwise at the last date known alive (the usual rule). A death recorded later (vital status
    from public records) stays an event (the intention-to-treat principle, ICH E9 section 5.2.1).
    """
    if subject.death_date is not None:
        return _Outcome(subject.death_date, True, "event: death")
    last_alive = subject.last_known_alive_date or _latest_known_date(subject)
    left = study_exit(subject)
    if left is not None and (
        left[1] != EOS_LABELS[EndOfStudyReason.lost_to_follow_up] or last_alive >= left[0]
    ):
        return _Outcome(max(left[0], subject.origin_date), False, f"censored: end of study ({left[1]})")
    if last_alive >= cutoff:
        return _Outcome(cutoff, False, "censored: data cut-off")
    return _Outcome(max(last_alive, subject.origin_date), False, "censored: last known alive")


def _latest_known_date(subject: SubjectEndpointData) -> dt.date:
    dates = [
        subject.origin_date,
        subject.treatment_start,
        subject.treatment_end,
        subject.discontinuation_date,
    ]
    if subject.tumour is not None:
        dates.extend(a.date for a in subject.tumour.assessments)
    return max(d for d in dates if d is not None)


def response_record(
    subject: SubjectEndpointData, report: ResponseReport | None, confirmation_required: bool
) -> ResponseRecord:
    """Best overall response, responder (confirmed CR/PR when required) and disease control."""
    if report is None:
        return ResponseRecord(
            subject_id=subject.subject_id,
            arm=subject.arm,
            phase_id=subject.phase_id,
            bor="NO BASELINE",
            confirmed=None,
            responder=False,
            disease_control=False,
        )
    bor = report.best_overall_response
    responder = bor in RESPONSE_CATEGORIES and (bool(report.confirmed) or not confirmation_required)
    return ResponseRecord(
        subject_id=subject.subject_id,
        arm=subject.arm,
        phase_id=subject.phase_id,
        bor=bor,
        confirmed=report.confirmed,
        responder=responder,
        disease_control=bor in DISEASE_CONTROL_CATEGORIES,
        response_start_date=report.response_start_date if responder else None,
        progression_date=report.progression_date,
    )
