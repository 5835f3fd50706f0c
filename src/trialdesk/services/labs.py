"""Lab results and CTCAE v5.0 grade proposals (the use cases; the lab vocabulary is
:mod:`trialdesk.domain.labs`).

Results are entered or imported (a batch of results) in any unit the eligibility machinery accepts
(:mod:`trialdesk.domain.labs.units`: conversion to the canonical unit and plausibility checks); LLN
and ULN are given in the result's unit and stored in both. For every non-baseline result the
grading engine (:mod:`trialdesk.domain.safety.ctcae`, table ``ctcae_v5_lab_grading.yaml``) proposes
a grade against the subject's baseline of the same test
(:func:`trialdesk.domain.labs.baseline.baseline_of`: the latest result flagged ``is_baseline`` on or
before the result's date; picked through a ``BaselineIndex``, so a subject's whole history grades in
O(n log n)); whether that baseline was abnormal is judged against the baseline
sample's own ULN (admiral BNRIND). The result is graded in its entered unit (the CTCAE limits of
that unit where CTCAE writes them, e.g. Hb in mmol/L; otherwise converted to the canonical unit),
with the protocol's ``lab_grading`` options. A proposal is only a proposal: an investigator confirms
it into an AE record (audited), with attribution, through :func:`confirm_proposal`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trialdesk.adapters.ctcae_data import lab_grading_table
from trialdesk.adapters.db.models import AdverseEvent, LabResultRow, Subject
from trialdesk.domain.labs.baseline import BaselineIndex
from trialdesk.domain.labs.catalogue import LAB_TESTS, LabTest, is_lab_test
from trialdesk.domain.labs.units import (
    UnitError,
    canonical_unit,
    convert,
    plausibility_problem,
    to_canonical,
)
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.domain.safety.adverse_event import AdverseEventInput
from trialdesk.domain.safety.ctcae import LabGrade, LabReferences, grade_result
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.adverse_events import AeChange, record_adverse_event
from trialdesk.services.clinical_dates import check_event_date
from trialdesk.services.errors import Conflict, InvalidInput, NotFound

GRADED_TESTS: tuple[str, ...] = tuple(dict.fromkeys(t.test for t in lab_grading_table().terms))
"""Tests with a CTCAE v5.0 lab term: hemoglobin, wbc, anc, lymphocytes, platelets, alt, ast,
total_bilirubin, creatinine, albumin, alp, ggt, sodium, potassium, calcium_corrected, calcium_ionized,
magnesium."""


FEW_RESULTS = 1_000
"""Up to this many result ids, grading some results (a new batch, one confirmation) reads only them
and the subject's baselines, not the whole history (and stays within every SQLite's parameter limit)."""


@dataclass(frozen=True)
class LabInput:
    """One result as entered: test code, value and unit, reference limits in the same unit."""

    test: str
    value: float
    unit: str
    collected_date: dt.date
    lln: float | None = None
    uln: float | None = None
    is_baseline: bool = False


@dataclass(frozen=True)
class Proposal:
    """A proposed CTCAE grade for one result and term, with what it was graded against."""

    lab_result_id: int
    subject_id: int
    test: str
    collected_date: dt.date
    value: float
    unit: str
    grade: LabGrade
    baseline_value: float | None
    confirmed_ae_id: int | None
    notes: tuple[str, ...] = field(default=())

    @property
    def proposable(self) -> bool:
        """Whether there is a grade >= 1 to confirm and it is not confirmed yet."""
        return bool(self.grade.grade) and self.confirmed_ae_id is None


@dataclass(frozen=True, slots=True)
class GradedResult:
    """What grading reads of a stored result (plain columns: reading 100,000 of these is several times
    faster than loading ORM rows)."""

    id: int
    subject_id: int
    test: str
    value: float
    unit: str
    lln: float | None
    uln: float | None
    value_canonical: float
    uln_canonical: float | None
    collected_date: dt.date
    is_baseline: bool


def _canonical(test: LabTest, value: float | None, unit: str, where: str) -> float | None:
    if value is None:
        return None
    try:
        return to_canonical(test, value, unit)
    except UnitError as exc:
        raise InvalidInput(str(exc), field=f"{where}.unit") from None


def _check(item: LabInput, where: str) -> LabTest:
    test = item.test
    if not is_lab_test(test):
        raise InvalidInput(
            f"unknown lab test '{item.test}' (known: {', '.join(sorted(LAB_TESTS))})", field=f"{where}.test"
        )
    _canonical(test, item.value, item.unit, where)
    problem = plausibility_problem(test, item.value, item.unit)
    if problem:
        raise InvalidInput(problem, field=f"{where}.value")
    for name, limit in (("lln", item.lln), ("uln", item.uln)):
        if limit is not None and (limit <= 0 or plausibility_problem(test, limit, item.unit)):
            raise InvalidInput(
                f"{name} {limit} {item.unit} is not a plausible limit for {item.test}",
                field=f"{where}.{name}",
            )
    if item.lln is not None and item.uln is not None and item.lln >= item.uln:
        raise InvalidInput(f"lln {item.lln} is not below uln {item.uln}", field=f"{where}.lln")
    if item.collected_date > clock.today():
        raise InvalidInput(
            f"collection date {item.collected_date} is in the future", field=f"{where}.collected_date"
        )
    return test


def lab_row(
    subject: Subject, actor: Actor, item: LabInput, where: str, *, source: str, now: dt.datetime
) -> LabResultRow:
    """Check one result (422 naming ``{where}.field``) and build its row (not yet added)."""
    test = _check(item, where)
    check_event_date(subject, f"{where}.collected_date", item.collected_date)
    return LabResultRow(
        subject_id=subject.id,
        test=test,
        value=item.value,
        unit=item.unit,
        lln=item.lln,
        uln=item.uln,
        value_canonical=to_canonical(test, item.value, item.unit),
        lln_canonical=_canonical(test, item.lln, item.unit, where),
        uln_canonical=_canonical(test, item.uln, item.unit, where),
        collected_date=item.collected_date,
        is_baseline=item.is_baseline,
        source=source,
        entered_by=actor.username,
        created_at=now,
    )


def record_results(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    items: list[LabInput],
    *,
    source: str = "entered",
    label: Callable[[int], str] = lambda index: f"results[{index}]",
) -> list[LabResultRow]:
    """Store a batch of results (``source``: ``entered`` or ``imported``); all or none (422 naming
    ``results[i].field`` for the first bad one; ``label`` names the items otherwise, e.g. CSV rows).
    The rows are inserted by one flush (one multi-row INSERT), audited by it."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    if not items:
        raise InvalidInput("no lab results given", field="results")
    now = clock.now()
    stored = [lab_row(subject, actor, item, label(i), source=source, now=now) for i, item in enumerate(items)]
    session.add_all(stored)
    session.flush()
    return stored


def _in_unit(test: LabTest, canonical: float | None, unit: str) -> float | None:
    return None if canonical is None else convert(test, canonical, canonical_unit(test), unit)


def proposals_for(
    results: Sequence[GradedResult],
    confirmed: dict[tuple[int, str], int],
    options: frozenset[str],
    *,
    only: Collection[int] | None = None,
    baseline_for: Callable[[GradedResult], GradedResult | None] | None = None,
) -> list[Proposal]:
    """The grade proposals of ``results`` (one subject's, all of them: baselines are picked among
    them), by collection date; ``only``: the proposals of these result ids only.

    O(n log n): one sort by date and one :class:`~trialdesk.domain.labs.baseline.BaselineIndex`
    (baselines sorted once per test, each look-up a binary search), then one pass; ``baseline_for``
    replaces the index (the benchmark passes the linear rule, the algorithm before issue 15)."""
    table = lab_grading_table()
    pick = baseline_for or BaselineIndex(results).baseline_of
    proposals = []
    for result in sorted(results, key=lambda r: (r.collected_date, r.id)):
        if only is not None and result.id not in only:
            continue
        test = result.test
        if result.is_baseline or test not in GRADED_TESTS or not is_lab_test(test):  # checked on entry
            continue
        baseline = pick(result)
        # all references in the result's unit; the baseline and its own ULN come from the baseline row
        refs = LabReferences(
            lln=result.lln,
            uln=result.uln,
            baseline=None if baseline is None else _in_unit(test, baseline.value_canonical, result.unit),
            baseline_uln=None if baseline is None else _in_unit(test, baseline.uln_canonical, result.unit),
        )
        for grade in grade_result(table, test, result.value, refs, unit=result.unit, options=options):
            proposals.append(
                Proposal(
                    lab_result_id=result.id,
                    subject_id=result.subject_id,
                    test=result.test,
                    collected_date=result.collected_date,
                    value=result.value,
                    unit=result.unit,
                    grade=grade,
                    baseline_value=None if baseline is None else baseline.value,
                    confirmed_ae_id=confirmed.get((result.id, grade.term)),
                    notes=grade.notes,
                )
            )
    return proposals


def subject_results(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int
) -> list[LabResultRow]:
    """A subject's lab results by collection date."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    return list(
        session.scalars(
            select(LabResultRow)
            .where(LabResultRow.subject_id == subject.id)
            .order_by(LabResultRow.collected_date, LabResultRow.id)
        )
    )


def _graded_results(session: Session, subject_id: int, only: Collection[int] | None) -> list[GradedResult]:
    """The subject's results for grading; with ``only`` (at most :data:`FEW_RESULTS` ids), just those
    and the baselines they may be graded against."""
    columns = [getattr(LabResultRow, name) for name in GradedResult.__dataclass_fields__]
    query = select(*columns).where(LabResultRow.subject_id == subject_id)
    if only is not None and len(only) <= FEW_RESULTS:
        query = query.where(or_(LabResultRow.id.in_(list(only)), LabResultRow.is_baseline.is_(True)))
    return [GradedResult(*row) for row in session.execute(query)]


def _confirmed(session: Session, subject_id: int) -> dict[tuple[int, str], int]:
    rows = session.execute(
        select(AdverseEvent.lab_result_id, AdverseEvent.term, AdverseEvent.id).where(
            AdverseEvent.subject_id == subject_id, AdverseEvent.lab_result_id.is_not(None)
        )
    )
    return {(int(lab_id), term): ae_id for lab_id, term, ae_id in rows}


def grade_proposals(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    *,
    only: Collection[int] | None = None,
) -> list[Proposal]:
    """The CTCAE v5.0 grade proposal of every graded, non-baseline result of the subject (``only``:
    of these result ids). Reads only: callers run it outside the write unit of work."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    results = _graded_results(session, subject.id, only)
    options = protocol.lab_grading.enabled()
    return proposals_for(results, _confirmed(session, subject.id), options, only=only)


def confirm_proposal(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    lab_result_id: int,
    *,
    term: str | None = None,
    attributions: dict[str, str] | None = None,
) -> AeChange:
    """An investigator confirms a proposal into an AE episode (onset = collection date, the proposed
    term, SOC and grade); the AE insert is audited and the safety monitor re-runs."""
    actor.require(Capability.ATTEST)
    result = session.get(LabResultRow, lab_result_id)
    if result is None:
        raise NotFound(f"lab result {lab_result_id} not found")
    subject: Subject = visible_subject(session, actor, result.subject_id, protocol_id=protocol.id)
    proposals = grade_proposals(session, actor, protocol, subject.id, only={result.id})
    if term is not None:
        proposals = [p for p in proposals if p.grade.term.lower() == term.strip().lower()]
    elif len(proposals) > 1:  # e.g. sodium: Hyponatremia and Hypernatremia; the one with a grade
        graded = [p for p in proposals if p.grade.grade]
        if len(graded) > 1:
            raise Conflict(
                f"lab result {lab_result_id} has proposals for several terms: name one "
                f"({', '.join(p.grade.term for p in graded)})",
                rule="term_required",
            )
        proposals = graded or proposals
    if not proposals:
        raise Conflict(f"lab result {lab_result_id} has no CTCAE grade proposal", rule="no_proposal")
    proposal = proposals[0]
    if proposal.confirmed_ae_id is not None:
        raise Conflict(
            f"the proposal was confirmed already as adverse event {proposal.confirmed_ae_id}",
            rule="already_confirmed",
        )
    if not proposal.grade.grade:
        raise Conflict(
            f"{proposal.grade.term}: no CTCAE grade to confirm (grade {proposal.grade.grade})",
            rule="no_proposal",
        )
    change = record_adverse_event(
        session,
        actor,
        protocol,
        subject.id,
        AdverseEventInput(
            term=proposal.grade.term,
            grade=proposal.grade.grade,
            onset_date=result.collected_date,
            attributions=attributions or {},
        ),
        lab_result_id=result.id,
    )
    return change
