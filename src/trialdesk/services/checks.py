"""Run a protocol's edit checks and reconcile their findings with the system queries (issue 14).

Evaluation is set-wise: every form record and value of the protocol is read in one query each and put
into columns (:mod:`trialdesk.domain.forms.vectorised`), each ``form`` rule is evaluated over all
records of its form at once, and each builtin (:mod:`trialdesk.domain.checks.builtins`) over arrays
read with one query per table. No Python loop runs per record except to format the text of a finding.

Reconciliation with the queries already raised, by the deterministic ``system_key``
(``rule id@version|target table|target id|field``):

* a finding with no query -> a new system query (status ``open``, origin ``system``);
* a finding whose query is open or answered -> kept (never duplicated);
* an open or answered system query with no finding any more -> closed by the system with the reason
  "condition no longer holds" (or "rule retired" when its rule id@version left the checks file);
* a finding whose query the *system* closed earlier -> re-opened (the condition holds again);
* a finding whose query a *person* closed (or cancelled) stays closed: the person's judgement wins,
  unless the record it is on (a form record) was changed after the closing, i.e. the finding
  re-appears after a data change -> re-opened. A cancelled query is never re-opened.

Every change is audited as the system actor with the reason "edit checks run". Until the query
workflow service lands, :func:`_open_system_query`, :func:`_close_system_query` and
:func:`_reopen_system_query` write :class:`DataQuery` / :class:`QueryMessage` rows directly.
"""

from __future__ import annotations

import datetime as dt
import json
import string
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.models import (
    AdverseEvent,
    DataQuery,
    DrugAdministration,
    FormRecord,
    FormValue,
    QueryMessage,
    ResponseEvaluation,
    Subject,
    TumourAssessment,
)
from trialdesk.domain.checks import CheckRule, builtin_params, form_condition
from trialdesk.domain.checks import builtins as b
from trialdesk.domain.forms import SCREENING_VISIT_ID, FormDefinition, compile_condition
from trialdesk.domain.forms.expressions import ValueType
from trialdesk.domain.forms.vectorised import EPOCH, Column, true_mask
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services import clock
from trialdesk.services.actors import SYSTEM_ACTOR, Actor

RUN_REASON = "edit checks run"
GONE_REASON = "condition no longer holds"
RETIRED_REASON = "rule retired (no longer in the protocol's checks, or a new version replaced it)"
OPEN_STATES = frozenset({"open", "answered"})

Progress = Callable[[str, int, int], None]
"""(what is being done, steps done, steps in all): the CLI shows it as a progress bar."""


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Finding:
    """One value a rule questions: where it is and the query text."""

    rule: CheckRule
    subject_id: int
    target_table: str
    target_id: str
    field: str | None
    form_id: str | None
    visit_id: str | None
    message: str

    @property
    def system_key(self) -> str:
        """The idempotency key of the query raised for it."""
        return f"{self.rule.key_prefix}|{self.target_table}|{self.target_id}|{self.field or '*'}"


@dataclass
class RuleResult:
    """What one rule found and what happened to its queries in this run."""

    rule_id: str
    version: str
    kind: str
    severity: str
    findings: int = 0
    opened: int = 0
    kept: int = 0
    closed: int = 0
    reopened: int = 0


@dataclass
class CheckRunSummary:
    """The outcome of one run: counts per rule and in all, and the speed of the evaluation."""

    protocol_id: str
    records: int
    values: int
    rules: list[RuleResult]
    evaluation_seconds: float
    total_seconds: float = 0.0
    findings: int = 0
    opened: int = 0
    kept: int = 0
    closed: int = 0
    reopened: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def records_per_second(self) -> float:
        """Form records checked per second of the whole run (load, evaluation and reconciliation)."""
        return self.records / self.total_seconds if self.total_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain data (the CLI's ``--json`` and the API's answer)."""
        data = asdict(self)
        data.pop("extra")
        data["records_per_second"] = round(self.records_per_second, 1)
        data["evaluation_seconds"] = round(self.evaluation_seconds, 3)
        data["total_seconds"] = round(self.total_seconds, 3)
        return data


# ---------------------------------------------------------------- loading form data as columns


@dataclass(frozen=True)
class FormTable:
    """All records of one form in columns: record ids (sorted), subjects, visits and field columns."""

    form: FormDefinition
    record_ids: npt.NDArray[np.int64]
    subject_ids: npt.NDArray[np.int64]
    visit_ids: npt.NDArray[Any]
    columns: dict[str, Column]

    @property
    def size(self) -> int:
        """How many records."""
        return len(self.record_ids)


def _parse_json_column(value_type: ValueType, texts: list[str]) -> npt.NDArray[Any]:
    """Decode stored JSON values of one field type in bulk (numbers and dates without a Python call
    per value where numpy can parse them)."""
    if value_type == "number":
        try:
            return np.array(texts).astype(float)
        except ValueError:
            return np.array([float(json.loads(t)) for t in texts], dtype=float)
    if value_type == "date":
        days = np.array([t.strip('"') for t in texts], dtype="datetime64[D]")
        return np.asarray(days.astype(np.int64), dtype=np.int64)
    if value_type == "boolean":
        return np.array([t == "true" for t in texts], dtype=bool)
    data = np.empty(len(texts), dtype=object)
    data[:] = [json.loads(t) for t in texts]
    return data


def _empty(value_type: ValueType, size: int) -> npt.NDArray[Any]:
    if value_type == "number":
        return np.zeros(size, dtype=float)
    if value_type == "date":
        return np.zeros(size, dtype=np.int64)
    if value_type == "boolean":
        return np.zeros(size, dtype=bool)
    data = np.empty(size, dtype=object)
    data[:] = ""
    return data


def _field_column(
    table_ids: npt.NDArray[np.int64], value_type: ValueType, record_ids: list[int], texts: list[str]
) -> Column:
    positions = np.searchsorted(table_ids, np.asarray(record_ids, dtype=np.int64))
    data = _empty(value_type, len(table_ids))
    known = np.zeros(len(table_ids), dtype=bool)
    data[positions] = _parse_json_column(value_type, texts)
    known[positions] = True
    return Column(data, known)


def _rows(session: Session, statement: Any) -> list[tuple[Any, ...]]:
    """All rows of ``statement`` as the driver gives them, read on the session's connection (same
    transaction) through the DBAPI cursor: SQLAlchemy's per-row processing costs more than the whole
    evaluation on a large trial. Only for columns the driver returns as they are (ids and text)."""
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    parameters: Any = (
        tuple(params[name] for name in compiled.positiontup or ()) if compiled.positional else params
    )
    cursor = connection.connection.cursor()
    try:
        cursor.execute(compiled.string, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def load_form_tables(session: Session, protocol: Protocol) -> tuple[dict[str, FormTable], int]:
    """Every form record and value of the protocol as columns (two queries), and the value count."""
    records = _rows(
        session,
        select(FormRecord.id, FormRecord.subject_id, FormRecord.form_id, FormRecord.visit_id)
        .join(Subject, Subject.id == FormRecord.subject_id)
        .where(Subject.protocol_id == protocol.id)
        .order_by(FormRecord.id),
    )
    by_form: dict[str, list[Any]] = defaultdict(list)
    for row in records:
        by_form[row[2]].append(row)
    values: dict[tuple[str, str], tuple[list[int], list[str]]] = defaultdict(lambda: ([], []))
    value_rows = _rows(
        session,
        select(FormValue.record_id, FormRecord.form_id, FormValue.field_id, FormValue.value_json)
        .join(FormRecord, FormRecord.id == FormValue.record_id)
        .join(Subject, Subject.id == FormRecord.subject_id)
        .where(Subject.protocol_id == protocol.id),
    )
    count = 0
    for record_id, form_id, field_id, value_json in value_rows:
        ids, texts = values[(form_id, field_id)]
        ids.append(record_id)
        texts.append(value_json)
        count += 1
    tables = {form.id: _form_table(form, by_form.get(form.id, []), values) for form in protocol.forms}
    return tables, count


def _form_table(
    form: FormDefinition, rows: list[Any], values: dict[tuple[str, str], tuple[list[int], list[str]]]
) -> FormTable:
    record_ids = np.array([r[0] for r in rows], dtype=np.int64)
    visits = np.empty(len(rows), dtype=object)
    visits[:] = [r[3] for r in rows]
    columns: dict[str, Column] = {}
    for form_field in form.fields:
        ids, texts = values.get((form.id, form_field.id), ([], []))
        value_type = form.expression_types[form_field.id]
        columns[form_field.id] = _field_column(record_ids, value_type, ids, texts)
    subjects = np.array([r[1] for r in rows], dtype=np.int64)
    return FormTable(form, record_ids, subjects, visits, columns)


# ---------------------------------------------------------------- formatting


def _days_text(days: int) -> str:
    return (EPOCH + dt.timedelta(days=int(days))).isoformat()


def _number_text(value: float) -> str:
    return f"{value:g}"


def _cell(table: FormTable, field_id: str, index: int) -> str:
    column = table.columns[field_id]
    if not column.known[index]:
        return "(missing)"
    value_type = table.form.expression_types[field_id]
    value = column.data[index]
    if value_type == "number":
        return _number_text(float(value))
    if value_type == "date":
        return _days_text(int(value))
    if value_type == "boolean":
        return "yes" if value else "no"
    return str(value)


def _names(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def _visit_text(visit: object) -> str:
    return str(visit) if visit else "the log"


def _render(rule: CheckRule, values: dict[str, str]) -> str:
    return rule.description.format_map(values)


# ---------------------------------------------------------------- form rules


def _record_finding(rule: CheckRule, table: FormTable, index: int, field_id: str, message: str) -> Finding:
    visit = table.visit_ids[index]
    return Finding(
        rule=rule,
        subject_id=int(table.subject_ids[index]),
        target_table="form_records",
        target_id=str(int(table.record_ids[index])),
        field=field_id,
        form_id=table.form.id,
        visit_id=visit,
        message=message,
    )


def form_rule_findings(rule: CheckRule, form: FormDefinition, tables: dict[str, FormTable]) -> list[Finding]:
    """The records of a ``form`` rule's form for which its condition is true."""
    _, expression = form_condition(rule, {form.id: form})
    table = tables[form.id]
    hits = np.flatnonzero(true_mask(expression, table.columns, table.size))
    names = [n for n in _names(rule.description) if n != "visit"]
    found = []
    for index in hits:
        values = {name: _cell(table, name, int(index)) for name in names}
        values["visit"] = _visit_text(table.visit_ids[index])
        found.append(_record_finding(rule, table, int(index), str(rule.field), _render(rule, values)))
    return found


# ---------------------------------------------------------------- builtin rules


def _days(values: Iterable[dt.date | None]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    items = list(values)
    known = np.array([v is not None for v in items], dtype=bool)
    days = np.array([(v - EPOCH).days if v is not None else 0 for v in items], dtype=np.int64)
    return days, known


def _row_finding(
    rule: CheckRule, subject_id: int, target: tuple[str, int, str], values: dict[str, str]
) -> Finding:
    """A finding on a field of a row of a clinical table (not a form record)."""
    table, row_id, field_id = target
    return Finding(rule, subject_id, table, str(row_id), field_id, None, None, _render(rule, values))


@dataclass
class _Context:
    """What builtins read, loaded at most once per run."""

    session: Session
    protocol: Protocol
    tables: dict[str, FormTable]
    _aes: list[Any] | None = None

    def adverse_events(self) -> list[Any]:
        """(id, subject id, term, onset date, subject's death date) of every AE of the protocol."""
        if self._aes is None:
            self._aes = list(
                self.session.execute(
                    select(
                        AdverseEvent.id,
                        AdverseEvent.subject_id,
                        AdverseEvent.term,
                        AdverseEvent.onset_date,
                        Subject.death_date,
                    )
                    .join(Subject, Subject.id == AdverseEvent.subject_id)
                    .where(Subject.protocol_id == self.protocol.id)
                    .order_by(AdverseEvent.id)
                )
            )
        return self._aes

    def ae_keys(self) -> npt.NDArray[np.int64]:
        """Sorted (subject, onset day) keys of every AE."""
        rows = self.adverse_events()
        subjects = np.array([r[1] for r in rows], dtype=np.int64)
        onsets, _ = _days(r[3] for r in rows)
        return np.sort(b.keys(subjects, onsets))


def _ae_after_death(rule: CheckRule, ctx: _Context) -> list[Finding]:
    rows = ctx.adverse_events()
    onset, _ = _days(r[3] for r in rows)
    death, death_known = _days(r[4] for r in rows)
    found = []
    for index in np.flatnonzero(b.ae_after_death(onset, death, death_known)):
        ae_id, subject_id, term, onset_date, death_date = rows[index]
        values = {"term": term, "onset": onset_date.isoformat(), "death": death_date.isoformat()}
        found.append(
            Finding(
                rule,
                subject_id,
                "adverse_events",
                str(ae_id),
                "onset_date",
                None,
                None,
                _render(rule, values),
            )
        )
    return found


def _scan_after_progression(rule: CheckRule, params: b.ScanAfterProgression, ctx: _Context) -> list[Finding]:
    scans = ctx.session.execute(
        select(
            TumourAssessment.id, TumourAssessment.subject_id, TumourAssessment.visit, TumourAssessment.date
        )
        .join(Subject, Subject.id == TumourAssessment.subject_id)
        .where(Subject.protocol_id == ctx.protocol.id)
        .order_by(TumourAssessment.id)
    ).all()
    progressions = ctx.session.execute(
        select(ResponseEvaluation.subject_id, ResponseEvaluation.progression_date)
        .join(Subject, Subject.id == ResponseEvaluation.subject_id)
        .where(Subject.protocol_id == ctx.protocol.id, ResponseEvaluation.progression_date.is_not(None))
    ).all()
    scan_days, _ = _days(r[3] for r in scans)
    progression_days, _ = _days(r[1] for r in progressions)
    mask, since = b.scan_after_progression(
        np.array([r[1] for r in scans], dtype=np.int64),
        scan_days,
        np.array([r[0] for r in progressions], dtype=np.int64),
        progression_days,
        params.confirmation_days,
    )
    found = []
    for index in np.flatnonzero(mask):
        scan_id, subject_id, visit, scan_date = scans[int(index)]
        progression = scan_date - dt.timedelta(days=int(since[index]))
        values = {
            "visit": visit,
            "scan": scan_date.isoformat(),
            "progression": progression.isoformat(),
            "days": str(int(since[index])),
        }
        found.append(
            Finding(
                rule,
                subject_id,
                "tumour_assessments",
                str(scan_id),
                "date",
                None,
                None,
                _render(rule, values),
            )
        )
    return found


def _ecog_worsening(rule: CheckRule, params: b.EcogWorseningWithoutAe, ctx: _Context) -> list[Finding]:
    table = ctx.tables[params.form]
    score, dated = table.columns[params.field], table.columns[params.date_field]
    usable = np.flatnonzero(score.known & dated.known)
    subjects = table.subject_ids[usable]
    is_screening = np.asarray(table.visit_ids[usable] == SCREENING_VISIT_ID, dtype=bool)
    mask, baseline = b.ecog_worsening_without_ae(
        subjects,
        dated.data[usable],
        score.data[usable].astype(float),
        is_screening,
        ctx.ae_keys(),
        params,
    )
    found = []
    for position in np.flatnonzero(mask):
        index = int(usable[position])
        values = {
            "visit": _visit_text(table.visit_ids[index]),
            "score": _cell(table, params.field, index),
            "baseline": _number_text(float(baseline[position])),
            "window_days": str(params.window_days),
        }
        found.append(_record_finding(rule, table, index, params.field, _render(rule, values)))
    return found


def _weight_change(
    rule: CheckRule, params: b.WeightChangeWithoutDoseRecalculation, ctx: _Context
) -> list[Finding]:
    table = ctx.tables[params.form]
    weight, dated = table.columns[params.field], table.columns[params.date_field]
    usable = np.flatnonzero(weight.known & dated.known)
    measured_keys = b.keys(table.subject_ids[usable], dated.data[usable])
    order = np.argsort(measured_keys, kind="stable")
    doses = ctx.session.execute(
        select(
            DrugAdministration.id,
            DrugAdministration.subject_id,
            DrugAdministration.agent,
            DrugAdministration.cycle,
            DrugAdministration.date,
            DrugAdministration.weight_kg,
        )
        .join(Subject, Subject.id == DrugAdministration.subject_id)
        .where(Subject.protocol_id == ctx.protocol.id, DrugAdministration.weight_kg.is_not(None))
        .order_by(DrugAdministration.id)
    ).all()
    dose_days, _ = _days(r[4] for r in doses)
    used = np.array([r[5] for r in doses], dtype=float)
    measured, known = b.latest_measurement(
        measured_keys[order],
        weight.data[usable][order].astype(float),
        np.array([r[1] for r in doses], dtype=np.int64),
        dose_days,
    )
    mask, change = b.weight_change_without_dose_recalculation(used, measured, known, params.percent)
    found = []
    for index in np.flatnonzero(mask):
        dose_id, subject_id, agent, cycle, _, used_kg = doses[int(index)]
        values = {
            "agent": agent,
            "cycle": str(cycle),
            "used": _number_text(used_kg),
            "measured": _number_text(float(measured[index])),
            "change": f"{change[index]:.1f}",
            "percent": _number_text(params.percent),
        }
        found.append(
            Finding(
                rule,
                subject_id,
                "drug_administrations",
                str(dose_id),
                "weight_kg",
                None,
                None,
                _render(rule, values),
            )
        )
    return found


def _conmed_for_ae(rule: CheckRule, params: b.ConmedAfterAeDrugGiven, ctx: _Context) -> list[Finding]:
    table = ctx.tables[params.form]
    start, indication = table.columns[params.start_field], table.columns[params.indication_field]
    usable = np.flatnonzero(start.known & indication.known)
    mask = b.conmed_after_ae_drug_given(
        table.subject_ids[usable],
        start.data[usable],
        b.given_for_adverse_event(indication.data[usable], params.indication_terms),
        ctx.ae_keys(),
        params.window_days,
    )
    found = []
    for position in np.flatnonzero(mask):
        index = int(usable[position])
        name = _cell(table, "name", index) if "name" in table.columns else "the medication"
        values = {
            "name": name,
            "start": _cell(table, params.start_field, index),
            "window_days": str(params.window_days),
        }
        found.append(_record_finding(rule, table, index, params.start_field, _render(rule, values)))
    return found


def _enrolled_but_ineligible(
    rule: CheckRule, params: b.EnrolledButIneligible, ctx: _Context
) -> list[Finding]:
    table = ctx.tables[params.form]
    enrolled_ids = np.array(
        sorted(
            ctx.session.scalars(
                select(Subject.id).where(
                    Subject.protocol_id == ctx.protocol.id, Subject.enrolled_at.is_not(None)
                )
            )
        ),
        dtype=np.int64,
    )
    expression = compile_condition(params.when, table.form.expression_types)
    screening = (
        np.asarray(table.visit_ids == SCREENING_VISIT_ID, dtype=bool) if table.size else np.zeros(0, bool)
    )
    enrolled = np.isin(table.subject_ids, enrolled_ids)
    mask = true_mask(expression, table.columns, table.size) & enrolled & screening
    found = []
    for index in np.flatnonzero(mask):
        values = {
            "criterion": params.criterion,
            "visit": _visit_text(table.visit_ids[index]),
            "value": _cell(table, params.field, int(index)),
        }
        found.append(_record_finding(rule, table, int(index), params.field, _render(rule, values)))
    return found


def builtin_rule_findings(rule: CheckRule, ctx: _Context) -> list[Finding]:
    """The findings of a ``builtin`` rule."""
    forms = {f.id: f for f in ctx.protocol.forms}
    params = builtin_params(rule, forms)
    if isinstance(params, b.AeAfterDeath):
        return _ae_after_death(rule, ctx)
    if isinstance(params, b.ScanAfterProgression):
        return _scan_after_progression(rule, params, ctx)
    if isinstance(params, b.EcogWorseningWithoutAe):
        return _ecog_worsening(rule, params, ctx)
    if isinstance(params, b.WeightChangeWithoutDoseRecalculation):
        return _weight_change(rule, params, ctx)
    if isinstance(params, b.ConmedAfterAeDrugGiven):
        return _conmed_for_ae(rule, params, ctx)
    return _enrolled_but_ineligible(rule, params, ctx)


def evaluate(
    session: Session, protocol: Protocol, progress: Progress | None = None
) -> tuple[list[Finding], int, int]:
    """All findings of the protocol's rules, the number of form records and of values read."""
    tables, value_count = load_form_tables(session, protocol)
    ctx = _Context(session, protocol, tables)
    forms = {f.id: f for f in protocol.forms}
    findings: list[Finding] = []
    for step, rule in enumerate(protocol.checks, start=1):
        if rule.kind == "form":
            findings += form_rule_findings(rule, forms[str(rule.form)], tables)
        else:
            findings += builtin_rule_findings(rule, ctx)
        if progress is not None:
            progress(rule.id, step, len(protocol.checks))
    records = sum(t.size for t in tables.values())
    return findings, records, value_count


# ---------------------------------------------------------------- system queries


def _open_system_query(session: Session, protocol_id: str, finding: Finding, now: dt.datetime) -> DataQuery:
    """A new open system query for ``finding`` (its opening message is added by the caller once the
    query has an id). To be replaced by the query workflow service at merge."""
    query = DataQuery(
        protocol_id=protocol_id,
        subject_id=finding.subject_id,
        target_table=finding.target_table,
        target_id=finding.target_id,
        field=finding.field,
        form_id=finding.form_id,
        visit_id=finding.visit_id,
        origin="system",
        check_id=finding.rule.id,
        check_version=finding.rule.version,
        system_key=finding.system_key,
        status="open",
        text=finding.message,
        opened_by=SYSTEM_ACTOR,
        opened_at=now,
        updated_at=now,
    )
    session.add(query)
    return query


def _message(session: Session, query: DataQuery, kind: str, text: str, now: dt.datetime) -> None:
    session.add(QueryMessage(query_id=query.id, kind=kind, text=text, author=SYSTEM_ACTOR, at=now))


def _close_system_query(session: Session, query: DataQuery, reason: str, now: dt.datetime) -> None:
    """Close ``query`` as the system with ``reason`` (to be replaced by the query workflow service)."""
    query.status = "closed"
    query.closed_by = SYSTEM_ACTOR
    query.closed_at = now
    query.updated_at = now
    _message(session, query, "close", reason, now)


def _reopen_system_query(session: Session, query: DataQuery, finding: Finding, now: dt.datetime) -> None:
    """Re-open a closed query whose finding holds again (to be replaced by the query service)."""
    query.status = "open"
    query.closed_by = None
    query.closed_at = None
    query.updated_at = now
    query.text = finding.message
    _message(session, query, "reopen", f"the check finds it again: {finding.message}", now)


def _changed_after_closing(session: Session, queries: list[DataQuery]) -> set[int]:
    """Ids of person-closed queries on form records changed after the query was closed."""
    record_ids = [int(q.target_id) for q in queries if q.target_table == "form_records"]
    if not record_ids:
        return set()
    rows = session.execute(
        select(FormRecord.id, FormRecord.updated_at).where(FormRecord.id.in_(record_ids))
    ).all()
    updated: dict[int, dt.datetime] = {row[0]: row[1] for row in rows}
    changed = set()
    for query in queries:
        when = updated.get(int(query.target_id)) if query.target_table == "form_records" else None
        closed_at = query.closed_at
        if when is not None and closed_at is not None and _utc(when) > _utc(closed_at):
            changed.add(query.id)
    return changed


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _result_for(results: dict[str, RuleResult], prefix: str) -> RuleResult:
    if prefix not in results:
        rule_id, _, version = prefix.partition("@")
        results[prefix] = RuleResult(rule_id, version, "retired", "-")
    return results[prefix]


def reconcile(
    session: Session, protocol: Protocol, findings: list[Finding], results: dict[str, RuleResult]
) -> None:
    """Open, keep, re-open and close system queries so that they match ``findings`` (module doc)."""
    now = clock.now()
    existing = {
        q.system_key: q
        for q in session.scalars(
            select(DataQuery).where(DataQuery.protocol_id == protocol.id, DataQuery.origin == "system")
        )
        if q.system_key
    }
    by_key = {f.system_key: f for f in findings}
    person_closed = [
        q for k, q in existing.items() if k in by_key and q.status == "closed" and q.closed_by != SYSTEM_ACTOR
    ]
    changed = _changed_after_closing(session, person_closed)
    opened: list[tuple[DataQuery, Finding]] = []
    for key, finding in by_key.items():
        result = results[finding.rule.key_prefix]
        query = existing.get(key)
        if query is None:
            opened.append((_open_system_query(session, protocol.id, finding, now), finding))
            result.opened += 1
        elif query.status in OPEN_STATES:
            result.kept += 1
        elif query.status == "closed" and (query.closed_by == SYSTEM_ACTOR or query.id in changed):
            _reopen_system_query(session, query, finding, now)
            result.reopened += 1
    session.flush()
    for query, finding in opened:
        _message(session, query, "question", finding.message, now)
    current = {r.key_prefix for r in protocol.checks}
    for key, query in existing.items():
        if key in by_key or query.status not in OPEN_STATES:
            continue
        prefix = key.partition("|")[0]
        _close_system_query(session, query, GONE_REASON if prefix in current else RETIRED_REASON, now)
        _result_for(results, prefix).closed += 1
    session.flush()


def run_checks(
    session: Session, protocol: Protocol, actor: Actor | None = None, progress: Progress | None = None
) -> CheckRunSummary:
    """Run every edit check of ``protocol`` and reconcile the system queries (data manager only when
    ``actor`` is given; the CLI runs as the operator of the installation)."""
    if actor is not None:
        actor.require(Capability.RUN_CHECKS)
    started = time.perf_counter()
    findings, records, value_count = evaluate(session, protocol, progress)
    evaluated = time.perf_counter()
    results = {r.key_prefix: RuleResult(r.id, r.version, r.kind, r.severity) for r in protocol.checks}
    for finding in findings:
        results[finding.rule.key_prefix].findings += 1
    with audit_reason(session, RUN_REASON):
        reconcile(session, protocol, findings, results)
    summary = CheckRunSummary(
        protocol_id=protocol.id,
        records=records,
        values=value_count,
        rules=list(results.values()),
        evaluation_seconds=evaluated - started,
        total_seconds=time.perf_counter() - started,
    )
    for result in summary.rules:
        summary.findings += result.findings
        summary.opened += result.opened
        summary.kept += result.kept
        summary.closed += result.closed
        summary.reopened += result.reopened
    return summary
