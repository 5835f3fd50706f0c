"""Use case: the trial report from the database at a data cut-off (statistician, DSMB, monitor).

Gathers the subjects (``trial_data``), the CONSORT counts and the safety tables, builds the
:class:`~trialdesk.services.report_data.ReportSnapshot`, and renders it. Generating a report is an
export of trial data, so it is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import log_event
from trialdesk.adapters.report.render import render_report
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services import clock
from trialdesk.services.actors import Actor
from trialdesk.services.errors import InvalidInput
from trialdesk.services.report_data import ReportSnapshot, build_snapshot
from trialdesk.services.safety_report import TABLE_TITLES, safety_tables
from trialdesk.services.trial_data import consort_counts, endpoint_data

SYNTHETIC_PREFIX = "SYN-"
"""Screening numbers of synthetic (demonstration) subjects; any such subject labels the report."""


MAX_COLUMNS = 9
"""Widest table the portrait report page holds; wider safety tables are split or trimmed."""
LISTING_COLUMNS = ("subject", "group", "term", "grade", "onset_date", "serious", "treatment_related", "cause")
"""Columns kept from wide AE listings in the trial report (the DSMB safety report has them all)."""

Rows = list[dict[str, Any]]


def _split_by_group(title: str, rows: Rows) -> dict[str, Rows]:
    """A wide 'group x grade' table as one table per group (e.g. 'iia/A any', 'iia/A 1-2' ...)."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    prefixes = [c.split(" ", 1)[0] for c in columns if " " in c]
    groups = [p for p in dict.fromkeys(prefixes) if prefixes.count(p) > 1]
    keys = [c for c in columns if " " not in c or c.split(" ", 1)[0] not in groups]
    if not groups:
        kept = [c for c in columns if c in LISTING_COLUMNS] or columns[:MAX_COLUMNS]
        return {f"{title} (main columns)": [{c: row.get(c) for c in kept} for row in rows]}
    return {
        f"{title}: {group}": [
            {
                **{k: row.get(k) for k in keys},
                **{c.split(" ", 1)[1]: row.get(c) for c in columns if c.startswith(group + " ")},
            }
            for row in rows
        ]
        for group in groups
    }


def report_safety_tables(tables: dict[str, Rows]) -> dict[str, Rows]:
    """The safety module's tables, titled, with wide ones split per group or trimmed to fit the page."""
    out: dict[str, Rows] = {}
    for key, rows in tables.items():
        title = TABLE_TITLES.get(key, key.replace("_", " "))
        width = len({k for row in rows for k in row})
        if width > MAX_COLUMNS:
            out.update(_split_by_group(title, rows))
        else:
            out[title] = rows
    return out


def trial_snapshot(session: Session, protocol: Protocol, cutoff: dt.date | None = None) -> ReportSnapshot:
    """Everything the report shows, read from the database, at ``cutoff`` (default: today)."""
    cutoff = cutoff or clock.today()
    if cutoff > clock.today():
        raise InvalidInput(f"data cut-off {cutoff} is in the future", field="cutoff")
    subjects = endpoint_data(session, protocol)
    counts = consort_counts(session, protocol)
    labels = {c.id: f"{c.id}: {c.text.strip()}" for c in protocol.eligibility.criteria}
    failures = {labels.get(cid, cid): n for cid, n in counts["screen_failures_by_criterion"].items()}
    return build_snapshot(
        protocol,
        cutoff,
        subjects,
        screened=counts["screened"],
        screen_failures=failures,
        screen_failed=counts["screen_failed"],
        safety_tables=report_safety_tables(safety_tables(session, protocol)),
        synthetic=any(s.subject_id.startswith(SYNTHETIC_PREFIX) for s in subjects),
    )


def trial_report(
    session: Session,
    actor: Actor | None,
    protocol: Protocol,
    fmt: Literal["html", "pdf"],
    cutoff: dt.date | None = None,
) -> bytes:
    """The rendered report; the export is audited (``actor`` None: the command line, audited as its user)."""
    if actor is not None:
        actor.require(Capability.RUN_ANALYSES)
    snapshot = trial_snapshot(session, protocol, cutoff)
    log_event(
        session, "export", "report", protocol.id, reason=f"trial report ({fmt}) at cut-off {snapshot.cutoff}"
    )
    return render_report(snapshot, fmt)
