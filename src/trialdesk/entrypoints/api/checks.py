"""Edit checks API (issue 14): run a protocol's checks and reconcile the system queries.

``POST /api/trials/{protocol_id}/checks/run`` (data manager: capability ``run_checks``) evaluates every
rule of the protocol's checks file and answers the same summary as ``trialdesk checks run --json``: per
rule the findings and the queries opened, kept, re-opened and closed. The queries are written by the
system actor with the reason "edit checks run"; who asked for the run is audited as an event.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import log_event
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.services import checks
from trialdesk.services.actors import SYSTEM_ACTOR

router = APIRouter(prefix="/api", tags=["edit checks"])


class RuleResultOut(BaseModel):
    rule_id: str
    version: str
    kind: str
    severity: str
    findings: int
    opened: int
    kept: int
    closed: int
    reopened: int


class CheckRunOut(BaseModel):
    protocol_id: str
    records: int
    values: int
    findings: int
    opened: int
    kept: int
    closed: int
    reopened: int
    evaluation_seconds: float
    total_seconds: float
    records_per_second: float
    rules: list[RuleResultOut]


@router.post("/trials/{protocol_id}/checks/run", response_model=CheckRunOut)
def run_checks(request: Request, actor: CurrentActor, protocol: ProtocolDep) -> Any:
    """Run every edit check of the trial; open, keep, re-open and close system queries."""

    def work(session: Session) -> dict[str, Any]:
        summary = checks.run_checks(session, protocol, actor)
        log_event(
            session,
            "checks_run",
            "data_queries",
            protocol.id,
            username=actor.username,
            reason=f"{summary.findings} finding(s): {summary.opened} opened, {summary.closed} closed",
        )
        return summary.as_dict()

    return run(request, SYSTEM_ACTOR, work, reason=checks.RUN_REASON, write=True)
