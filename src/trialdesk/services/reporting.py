"""Use case: the trial report from the database at a data cut-off (statistician, DSMB, monitor).

Gathers the subjects (``trial_data``), the CONSORT counts and the safety tables, builds the
:class:`~trialdesk.analysis.snapshot.ReportSnapshot`, and renders it. Generating a report is an
export of trial data, so it is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy.orm import Session

from trialdesk.adapters.report.content import ReportContent
from trialdesk.adapters.report.render import render_content, report_content
from trialdesk.analysis.snapshot import ReportSnapshot, build_snapshot
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services.actors import Actor
from trialdesk.services.exports import audited_export
from trialdesk.services.safety_report import resolve_cutoff, safety_tables
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
