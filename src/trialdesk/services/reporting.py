"""Use case: the trial report from the database at a data cut-off (statistician, DSMB, monitor).

Gathers the subjects (``trial_data``), the CONSORT counts and the safety tables, builds the
:class:`~trialdesk.analysis.snapshot.ReportSnapshot`, and renders it. Generating a report is an
export of trial data, so it is audited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import as_utc
from trialdesk.adapters.report.content import ReportContent
from trialdesk.adapters.report.html import render_html
from trialdesk.adapters.report.pdf import render_pdf
from trialdesk.adapters.report.render import render_content, report_content
from trialdesk.analysis.snapshot import ReportSnapshot, build_snapshot
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services.actors import Actor
from trialdesk.services.exports import audited_export
from trialdesk.services.locks import report_lock
from trialdesk.services.safety_report import report_for, resolve_cutoff, safety_tables
from trialdesk.services.treatment_report import treatment_tables
from trialdesk.services.trial_data import endpoint_data_with_issues, screening_records

SYNTHETIC_PREFIX = "SYN-"
"""Screening numbers of synthetic (demonstration) subjects; any such subject labels the report."""


Rows = list[dict[str, Any]]


def trial_snapshot(session: Session, protocol: Protocol, cutoff: dt.date | None = None) -> ReportSnapshot:
    """Everything the report shows, read from the database, at ``cutoff`` (default: today)."""
    cutoff = resolve_cutoff(cutoff)
    subjects, issues, origins = endpoint_data_with_issues(session, protocol)
    return build_snapshot(
        protocol,
        cutoff,
        subjects,
        screening=screening_records(session, protocol),
        data_issues=issues,
        issue_origins=origins,
        safety_tables=safety_tables(session, protocol, cutoff),
        treatment_tables=treatment_tables(session, protocol, cutoff),
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
    return render_content(trial_report_content(session, actor, protocol, fmt, cutoff), fmt)


def trial_report_content(
    session: Session,
    actor: Actor | None,
    protocol: Protocol,
    purpose: str,
    cutoff: dt.date | None = None,
) -> ReportContent:
    """The report's outline (sections, tables, figures) for ``actor`` (statistician, safety reviewer,
    monitor), e.g. for the web page's preview; reading it is audited as an export (``purpose``: the
    format or ``preview``)."""
    if actor is not None:
        actor.require(Capability.RUN_ANALYSES)
    snapshot = trial_snapshot(session, protocol, cutoff)
    audited_export(
        session, "report", protocol.id, reason=f"trial report ({purpose}) at cut-off {snapshot.cutoff}"
    )
    return report_content(snapshot)


def lock_line(lock_id: int, scope: str, sha256: str | None) -> str:
    """The title page's sentence naming the lock a report is built from."""
    what = "database lock" if scope == "database" else "cut-off lock"
    return f"Built from {what} #{lock_id}, SHA-256 {sha256}"


def trial_report_from_lock(
    session: Session, actor: Actor | None, protocol: Protocol, fmt: Literal["html", "pdf"], lock_id: int
) -> bytes:
    """The trial report at an active cut-off or database lock's cut-off, with "Built from database
    lock #N, SHA-256 ..." on the title page. The PDF embeds no time (``CreationDate`` None) and the
    data cannot change while locked, so the same lock gives byte-identical reports."""
    lock, cutoff = report_lock(session, protocol.id, lock_id)
    document = trial_report_content(session, actor, protocol, fmt, cutoff).document()
    line = lock_line(lock.id, lock.scope, lock.content_sha256)
    stamped = dataclasses.replace(document, facts=[*document.facts, ("Data lock", line)])
    return render_pdf(stamped) if fmt == "pdf" else render_html(stamped)


def safety_report_from_lock(
    session: Session, actor: Actor | None, protocol: Protocol, output_format: str, lock_id: int
) -> dict[str, Any]:
    """The safety report at an active cut-off or database lock's cut-off, naming the lock and its hash
    (``data_lock``); its "generated" time is the lock's, so the same lock gives the same document."""
    lock, cutoff = report_lock(session, protocol.id, lock_id)
    document = report_for(session, actor, protocol, output_format, cutoff)
    document["generated_at"] = as_utc(lock.created_at).isoformat(timespec="seconds")
    document["data_lock"] = lock_line(lock.id, lock.scope, lock.content_sha256)
    return document
