"""Reading an export is audited: the one function every export of trial data calls.

The trial report, the safety report, the allocation lists and allocations, the audit trail and
``trialdesk data check`` all hand trial data to a reader; each read writes one ``export`` row to the
audit chain, in the same unit of work as the read, naming what was read (``what``: the table or
document), which record (``record_id``: usually the protocol id) and why (``reason``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import log_event

EXPORT_ACTION = "export"
"""The audit action of every export read."""


def audited_export(
    session: Session, what: str, record_id: str, *, reason: str | None = None, detail: str | None = None
) -> None:
    """Audit that the session's user read the export ``what`` of ``record_id``.

    ``detail`` goes to the audit row's new value (e.g. the output format or the filters of a query);
    the user is the unit of work's actor (a web user, or ``cli:<login>`` on the command line).
    """
    extra = {} if detail is None else {"new_value": detail}
    log_event(session, EXPORT_ACTION, what, record_id, reason=reason, **extra)
