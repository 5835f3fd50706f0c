"""Freezes and locks of trial data (issue 14): which rows a freeze or a lock covers, pure rules.

A *freeze* stops data entry (a form record's or a subject's clinical rows) until it is lifted with a
reason by one user of a FREEZE_DATA role; the data-management rows of a frozen casebook (queries, SDV
marks, the investigator's sign-off) still move, since freezing is the step before verifying and
signing. A *lock* stops every change of the rows it covers: a form record, a subject, every row of a
protocol dated on or before a cut-off date, or the whole protocol (database lock); it is released only
by two different people of two different UNLOCK_DATA roles, each with a reason (a request, then a
release), after ICH E6(R3) section 4.2 / 21 CFR 11.10 practice of controlled, attributable unlocking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from trialdesk.domain.errors import RuleViolation

SCOPES = ("form_record", "subject", "cutoff", "database")
"""What a freeze or lock covers."""

KINDS = ("freeze", "lock")
"""A freeze stops entry; a lock stops every change."""

FREEZE_SCOPES = ("form_record", "subject")
"""A freeze is per form record or per subject (issue 14)."""

DATA_MANAGEMENT_TABLES = frozenset(
    {"data_queries", "query_messages", "sdv_marks", "casebook_signoffs", "signatures"}
)
"""Rows about the data rather than the data: a freeze lets them move, a lock does not."""

EXEMPT_TABLES = frozenset({"data_locks", "audit_log", "audit_head", "safety_alerts"})
"""Never refused: the locks themselves, the audit trail, and safety alerts (acknowledging an alert is
a safety action, not a change of trial data; a lock must never delay it)."""


class DataLocked(RuleViolation):
    """The data is frozen or locked: no change until the freeze or lock is lifted."""


@dataclass(frozen=True)
class LockScope:
    """An active freeze or lock as the guard sees it."""

    id: int
    protocol_id: str
    scope: str
    kind: str
    subject_id: int | None
    form_record_id: int | None
    cutoff_date: date | None


@dataclass(frozen=True)
class RowFacts:
    """What the guard knows about a row being changed: its table, protocol, subject, the form record
    it belongs to (a form record or one of its values) and its clinical date (None: undated)."""

    table: str
    protocol_id: str | None
    subject_id: int | None
    form_record_id: int | None
    row_date: date | None


def covers(lock: LockScope, row: RowFacts) -> bool:
    """Whether ``lock`` forbids changing ``row``."""
    if row.table in EXEMPT_TABLES or row.protocol_id != lock.protocol_id:
        return False
    if lock.kind == "freeze" and row.table in DATA_MANAGEMENT_TABLES:
        return False
    if lock.scope == "database":
        return True
    if lock.scope == "subject":
        return row.subject_id is not None and row.subject_id == lock.subject_id
    if lock.scope == "form_record":
        return row.form_record_id is not None and row.form_record_id == lock.form_record_id
    if lock.scope == "cutoff":
        return lock.cutoff_date is not None and row.row_date is not None and row.row_date <= lock.cutoff_date
    return False


def describe(lock: LockScope) -> str:
    """A sentence naming the lock, for the refusal message."""
    what = {
        "database": f"the database of {lock.protocol_id}",
        "subject": f"subject {lock.subject_id}",
        "form_record": f"form record {lock.form_record_id}",
        "cutoff": f"data up to the cut-off {lock.cutoff_date}",
    }.get(lock.scope, lock.scope)
    verb = "frozen" if lock.kind == "freeze" else "locked"
    lifted = "lift the freeze with a reason" if lock.kind == "freeze" else "two-role unlock with reasons"
    return f"{what} is {verb} ({lock.kind} #{lock.id}): no change until released ({lifted})"


def refuse_if_covered(locks: list[LockScope], row: RowFacts) -> None:
    """Raise :class:`DataLocked` naming the first lock covering ``row``."""
    for lock in locks:
        if covers(lock, row):
            raise DataLocked(
                f"{row.table}: {describe(lock)}",
                rule="data_frozen" if lock.kind == "freeze" else "data_locked",
            )
