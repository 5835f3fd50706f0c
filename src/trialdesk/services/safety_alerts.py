"""Safety alerts: raised for the safety reviewers and the coordinating centre, read and acknowledged.

Alerts (table ``safety_alerts``) go to the safety reviewers and the coordinating centre (the
statistician role): a grade-5 AE at once, an SAE recorded more than 24 h after the site learned of
it (:func:`event_alerts`), and from the monitor (:mod:`trialdesk.services.safety_monitor`) a stopping
rule met, a terminated trial whose rule is no longer met (only a signed safety review can re-open it,
see :func:`trialdesk.services.trials.move_phase`), and a toxicity-boundary warning.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from trialdesk.adapters.db import adverse_events as ae_store
from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.models import AdverseEvent, SafetyAlert, Subject
from trialdesk.domain.roles import Role
from trialdesk.domain.safety.adverse_event import SAE_REPORTING_HOURS, sae_reporting_delay
from trialdesk.services import clock
from trialdesk.services.actors import Actor
from trialdesk.services.clinical_dates import check_free_text
from trialdesk.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied

ALERT_RECIPIENTS = ["safety_reviewer", "statistician"]
"""Safety reviewers and the coordinating centre (its statistician)."""

ALERT_READERS = frozenset({Role.SAFETY_REVIEWER, Role.STATISTICIAN, Role.MONITOR})
ALERT_ACKNOWLEDGERS = frozenset({Role.SAFETY_REVIEWER, Role.STATISTICIAN})


def raise_alert(
    session: Session,
    protocol_id: str,
    kind: str,
    message: str,
    *,
    subject_id: int | None = None,
    ae_id: int | None = None,
) -> SafetyAlert:
    """Store an alert for the safety reviewers and the coordinating centre (audited insert)."""
    alert = SafetyAlert(
        protocol_id=protocol_id,
        kind=kind,
        subject_id=subject_id,
        adverse_event_id=ae_id,
        message=message,
        recipients=list(ALERT_RECIPIENTS),
        created_at=clock.now(),
    )
    return ae_store.add_alert(session, alert)


def _attribution_text(event: AdverseEvent) -> str:
    if not event.attributions:
        return "not yet assessed"
    return ", ".join(f"{c} {level}" for c, level in sorted(event.attributions.items()))


def event_alerts(
    session: Session, protocol_id: str, subject: Subject, event: AdverseEvent
) -> list[SafetyAlert]:
    """The alerts one recorded episode calls for: a grade-5 AE, and a serious AE recorded late
    (the episode's ``sae_reported_late`` flag is set either way)."""
    alerts = []
    if event.grade == 5:
        alerts.append(
            raise_alert(
                session,
                protocol_id,
                "grade5_ae",
                f"grade-5 AE '{event.term}' of subject {subject.screening_number} "
                f"(death {event.death_date}); "
                f"attribution: {_attribution_text(event)}",
                subject_id=subject.id,
                ae_id=event.id,
            )
        )
    if event.serious and event.site_aware_at is not None:
        delay, late = sae_reporting_delay(event.created_at, event.site_aware_at)
        event.sae_reported_late = late
        session.flush()
        if late:
            alerts.append(
                raise_alert(
                    session,
                    protocol_id,
                    "sae_late",
                    f"SAE '{event.term}' of subject {subject.screening_number} recorded "
                    f"{delay.total_seconds() / 3600:.1f} h after the site learned of it "
                    f"(limit {SAE_REPORTING_HOURS} h)",
                    subject_id=subject.id,
                    ae_id=event.id,
                )
            )
    return alerts


def list_alerts(
    session: Session, actor: Actor, *, protocol_id: str | None = None, open_only: bool = False
) -> list[SafetyAlert]:
    """Alerts for safety reviewers, the coordinating centre (statistician) and monitors."""
    if actor.role not in ALERT_READERS:
        raise PermissionDenied(f"role '{actor.role}' may not read safety alerts", rule="read_alerts")
    return ae_store.alerts(session, protocol_id=protocol_id, open_only=open_only)


def acknowledge_alert(session: Session, actor: Actor, alert_id: int, note: str) -> SafetyAlert:
    """A safety reviewer or the coordinating centre acknowledges an alert (audited, with the note)."""
    if actor.role not in ALERT_ACKNOWLEDGERS:
        raise PermissionDenied(
            f"role '{actor.role}' may not acknowledge safety alerts", rule="acknowledge_alerts"
        )
    check_free_text("note", note)
    if len(note.strip()) < 3:
        raise InvalidInput("acknowledging an alert needs a note (at least 3 characters)", field="note")
    alert = ae_store.alert_for_update(session, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    if alert.acknowledged_at is not None:
        raise Conflict(
            f"alert {alert_id} was acknowledged by {alert.acknowledged_by} already", rule="alert_acknowledged"
        )
    with audit_reason(session, f"alert acknowledged: {note.strip()}", keep_given=True):
        alert.acknowledged_at = clock.now()
        alert.acknowledged_by = actor.username
        alert.acknowledgement_note = note.strip()
        session.flush()
    return alert
