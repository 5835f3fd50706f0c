"""Edit checks over a synthetic trial: ``trialdesk checks run`` against a per-record Python loop.

The synthetic trial (issue 14's benchmark): 1,000 enrolled subjects x 20 visits (screening and cycles
C1-C19) x 10 visit forms = 200,000 form records, about 1.4 million values, plus 2 adverse events, 20
drug administrations, 4 tumour assessments and one response evaluation per subject. It is seed 002's
protocol (scr-escc-01) with its vital-signs form cloned seven times (``vital_signs_b`` ...) so that 10
forms are filled at every visit, each clone with the form rules of vital signs; about 0.5 % of the
values break a rule. Everything is inserted in bulk into a fresh SQLite database (``executemany`` on
the driver's connection, not through the API), then timed:

* ``trialdesk checks run`` (the same service the CLI and API call: one query for the records, one
  for the values, every rule evaluated set-wise with numpy, queries reconciled) - first run (opens
  the queries) and second run (keeps them: nothing duplicated). Goal: < 30 s on the 2-core machine.
* the named peer: the same form rules evaluated the way a per-record loop does it - the same rows
  read with the same SQL, each record's values decoded into a dict and each rule's compiled
  expression evaluated by the scalar evaluator (``Expression.evaluate``), record after record -
  against trialdesk's set-wise evaluation of the same form rules over the same rows (load included
  in both). Both must find the same records.

Run from the repository root: ``.venv/bin/python benchmarks/checks_run.py`` (options ``--subjects``,
``--visits``, ``--keep`` to keep the database). Timings are measured here only; no test asserts them.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import random
import sqlite3
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from trialdesk.adapters.db.engine import make_engine, unit_of_work
from trialdesk.adapters.db.migrate import upgrade
from trialdesk.adapters.db.models import FormRecord, FormValue, Subject
from trialdesk.domain.checks import form_condition
from trialdesk.domain.forms.expressions import Value
from trialdesk.domain.protocol.model import Protocol
from trialdesk.protocols.loader import builtin_protocol_dir, parse_protocol
from trialdesk.services.actors import SYSTEM_ACTOR
from trialdesk.services.checks import RUN_REASON, form_rule_findings, load_form_tables, run_checks

PROTOCOL_ID = "scr-escc-01"
CLONES = ["b", "c", "d", "e", "f", "g", "h"]
GOAL_SECONDS = 30.0
STAMP = "2026-01-05 09:00:00.000000"
START = dt.date(2026, 1, 5)


def synthetic_protocol() -> Protocol:
    """Seed 002's protocol with vital signs cloned so that 10 forms are filled at each visit."""
    folder = builtin_protocol_dir()
    data: dict[str, Any] = yaml.safe_load((folder / f"{PROTOCOL_ID}.yaml").read_text(encoding="utf-8"))
    forms = yaml.safe_load((folder / "forms" / f"{PROTOCOL_ID}.forms.yaml").read_text(encoding="utf-8"))
    rules = yaml.safe_load((folder / "checks" / f"{PROTOCOL_ID}.checks.yaml").read_text(encoding="utf-8"))
    data.pop("forms_file")
    data.pop("checks_file")
    vitals = next(f for f in forms["forms"] if f["id"] == "vital_signs")
    vital_rules = [r for r in rules["rules"] if r.get("form") == "vital_signs"]
    data["forms"] = list(forms["forms"])
    data["checks"] = list(rules["rules"])
    for suffix in CLONES:
        clone = {**copy.deepcopy(vitals), "id": f"vital_signs_{suffix}", "title": f"Vital signs ({suffix})"}
        data["forms"].append(clone)
        for rule in vital_rules:
            data["checks"].append({**rule, "id": f"{rule['id']}-{suffix}", "form": clone["id"]})
    return parse_protocol(data, folder / f"{PROTOCOL_ID}.yaml")


def _base_weight(subject: int) -> float:
    """The subject's weight (the doses are calculated for it); measurements vary by under 3 %."""
    return 50.0 + subject % 25


def _vital_values(rng: random.Random, day: dt.date, subject: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "measured_on": day.isoformat(),
        "weight": round(_base_weight(subject) * rng.uniform(0.97, 1.03), 1),
        "systolic_bp": rng.randint(100, 150),
        "diastolic_bp": rng.randint(60, 95),
        "heart_rate": rng.randint(55, 110),
        "temperature": round(rng.gauss(36.6, 0.3), 1),
    }
    if rng.random() < 0.005:
        values["diastolic_bp"] = values["systolic_bp"] + 5  # consistency finding
    if rng.random() < 0.005:
        del values["weight"]  # required-value finding
    if rng.random() < 0.005:
        values["temperature"] = 38.6  # fever finding
    return values


def _visit_values(rng: random.Random, form_id: str, day: dt.date, visit: int, subject: int) -> dict[str, Any]:
    if form_id == "ecog":
        score = 1 if rng.random() > 0.003 or visit == 0 else 3
        return {"assessed_on": day.isoformat(), "ecog": score}
    if form_id == "pg_sga":
        score = rng.randint(0, 8)
        return {"assessed_on": day.isoformat(), "total_score": score, "category": "A" if score < 4 else "B"}
    return _vital_values(rng, day, subject)


def populate(path: Path, protocol: Protocol, subjects: int, visits: int, seed: int = 14) -> tuple[int, int]:
    """Insert the synthetic trial in bulk; the number of form records and of values."""
    rng = random.Random(seed)
    connection = sqlite3.connect(path)
    connection.execute(
        "INSERT INTO sites (id, protocol_id, code, name, created_at) VALUES (1, ?, 'S01', 'Site 1', ?)",
        (protocol.id, STAMP),
    )
    connection.executemany(
        "INSERT INTO subjects (id, protocol_id, site_id, screening_number, status, screening_date,"
        " patient_record, created_at, enrolled_at, phase_id, arm_id, treatment_start_date)"
        " VALUES (?, ?, 1, ?, 'on_treatment', '2026-01-01', '{}', ?, ?, 'iib', 'A', ?)",
        [(s, protocol.id, f"SYN-{s:05d}", STAMP, STAMP, START.isoformat()) for s in range(1, subjects + 1)],
    )
    visit_forms = [f.id for f in protocol.forms if "cycle" in f.visits]
    records: list[tuple[Any, ...]] = []
    values: list[tuple[Any, ...]] = []
    for subject in range(1, subjects + 1):
        for visit in range(visits):
            visit_id = "SCR" if visit == 0 else f"C{visit}"
            day = START + dt.timedelta(days=21 * visit - (3 if visit == 0 else 0))
            for form_id in visit_forms:
                record_id = len(records) + 1
                records.append(
                    (record_id, subject, form_id, visit_id, 1, "complete", "synthetic", STAMP, STAMP)
                )
                for field_id, value in _visit_values(rng, form_id, day, visit, subject).items():
                    values.append((record_id, subject, field_id, json.dumps(value), "synthetic"))
    connection.executemany(
        "INSERT INTO form_records (id, subject_id, form_id, visit_id, repeat_index, status, entered_by,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        records,
    )
    connection.executemany(
        "INSERT INTO form_values (record_id, subject_id, field_id, value_json, entered_by)"
        " VALUES (?, ?, ?, ?, ?)",
        values,
    )
    _clinical_rows(connection, rng, subjects, visits)
    connection.commit()
    connection.close()
    return len(records), len(values)


def _clinical_rows(connection: sqlite3.Connection, rng: random.Random, subjects: int, visits: int) -> None:
    """AEs, doses, scans and progression dates, with a few findings for each builtin."""
    aes, doses, scans, evaluations = [], [], [], []
    for subject in range(1, subjects + 1):
        for _ in range(2):
            onset = START + dt.timedelta(days=rng.randint(0, 21 * visits))
            aes.append((subject, "Nausea", 1, onset.isoformat(), "{}", STAMP))
        for cycle in range(1, visits):
            stale = rng.random() < 0.01  # ~1 % dosed with a stale weight
            weight = _base_weight(subject) * (1.2 if stale else 1.0)
            day = (START + dt.timedelta(days=21 * cycle)).isoformat()
            doses.append((subject, "paclitaxel", cycle, day, weight, 250.0, 250.0, "synthetic", STAMP))
        for index in range(4):
            day = (START + dt.timedelta(days=42 * (index + 1))).isoformat()
            scans.append((subject, f"TA{index + 1}", day, "{}", "{}", "[]", STAMP))
        progression = (START + dt.timedelta(days=42 * 2)).isoformat() if rng.random() < 0.02 else None
        evaluations.append((subject, "recist", progression, "{}", "x", STAMP))
    connection.executemany(
        "INSERT INTO adverse_events (subject_id, term, grade, onset_date, attributions, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        aes,
    )
    connection.executemany(
        "INSERT INTO drug_administrations (subject_id, agent, cycle, date, weight_kg, planned_dose_mg,"
        " given_dose_mg, entered_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        doses,
    )
    connection.executemany(
        "INSERT INTO tumour_assessments (subject_id, visit, date, measurements, non_target, new_lesions,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        scans,
    )
    connection.executemany(
        "INSERT INTO response_evaluations (subject_id, rules, progression_date, result, inputs_sha256,"
        " computed_at) VALUES (?, ?, ?, ?, ?, ?)",
        evaluations,
    )


def _decode(kind: str, text: str) -> Value | None:
    value = json.loads(text)
    if value is not None and kind == "date":
        return dt.date.fromisoformat(value)
    return value  # type: ignore[no-any-return]


def per_record_loop(session: Any, protocol: Protocol) -> tuple[float, int]:
    """The peer: the form rules evaluated record after record by the scalar evaluator (same SQL)."""
    started = time.perf_counter()
    records = session.execute(
        select(FormRecord.id, FormRecord.form_id)
        .join(Subject, Subject.id == FormRecord.subject_id)
        .where(Subject.protocol_id == protocol.id)
    ).all()
    rows = session.execute(
        select(FormValue.record_id, FormRecord.form_id, FormValue.field_id, FormValue.value_json)
        .join(FormRecord, FormRecord.id == FormValue.record_id)
        .join(Subject, Subject.id == FormRecord.subject_id)
        .where(Subject.protocol_id == protocol.id)
    )
    forms = {f.id: f for f in protocol.forms}
    by_record: dict[int, dict[str, Value | None]] = defaultdict(dict)
    for record_id, form_id, field_id, text in rows:
        by_record[record_id][field_id] = _decode(forms[form_id].expression_types[field_id], text)
    rules_by_form = defaultdict(list)
    for rule in protocol.checks:
        if rule.kind == "form":
            rules_by_form[rule.form].append(form_condition(rule, forms)[1])
    found = 0
    for record_id, form_id in records:
        record = by_record.get(record_id, {})
        for expression in rules_by_form.get(form_id, ()):
            found += expression.evaluate(record) is True
    return time.perf_counter() - started, found


def set_wise(session: Any, protocol: Protocol) -> tuple[float, int]:
    """trialdesk: the same form rules evaluated set-wise over columns (load included)."""
    started = time.perf_counter()
    tables, _ = load_form_tables(session, protocol)
    forms = {f.id: f for f in protocol.forms}
    found = sum(
        len(form_rule_findings(rule, forms[str(rule.form)], tables))
        for rule in protocol.checks
        if rule.kind == "form"
    )
    return time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database")
    args = parser.parse_args()
    protocol = synthetic_protocol()
    folder = Path(tempfile.mkdtemp(prefix="trialdesk-checks-"))
    path = folder / "synthetic.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    started = time.perf_counter()
    record_count, value_count = populate(path, protocol, args.subjects, args.visits)
    inserted = time.perf_counter() - started
    print(
        f"synthetic trial: {args.subjects} subjects x {args.visits} visits x 10 forms ="
        f" {record_count:,} form records, {value_count:,} values; {len(protocol.checks)} rules"
        f" (inserted in {inserted:.1f} s)"
    )
    for label in ("first run (opens queries)", "second run (keeps them)"):
        with unit_of_work(engine, SYSTEM_ACTOR, reason=RUN_REASON) as session:
            summary = run_checks(session, protocol)
        verdict = "met" if summary.total_seconds < GOAL_SECONDS else "MISSED"
        print(
            f"trialdesk checks run, {label}: {summary.total_seconds:.2f} s"
            f" ({summary.evaluation_seconds:.2f} s evaluation),"
            f" {summary.records_per_second:,.0f} records/s; {summary.findings} findings,"
            f" {summary.opened} opened, {summary.kept} kept, {summary.closed} closed;"
            f" goal < {GOAL_SECONDS:.0f} s: {verdict}"
        )
    with unit_of_work(engine, None, write=False) as session:
        ours, ours_found = set_wise(session, protocol)
        peer, peer_found = per_record_loop(session, protocol)
    print(
        f"form rules, set-wise (numpy columns): {ours:.2f} s, {record_count / ours:,.0f} records/s,"
        f" {ours_found} findings"
    )
    print(
        f"form rules, per-record scalar loop (peer): {peer:.2f} s, {record_count / peer:,.0f} records/s,"
        f" {peer_found} findings"
    )
    print(f"ratio peer / set-wise: {peer / ours:.1f}x; same findings: {ours_found == peer_found}")
    engine.dispose()
    if args.keep:
        print(f"database kept: {path}")
    else:
        path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
