"""What the subject page's informed-consent section shows: the subject's consents, the re-consent flag
(version required, by which visit, overdue) and the choices of the form that records a consent
(:mod:`trialdesk.entrypoints.web.pages.consent` posts it)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from trialdesk.domain.consent import version_on
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability, can
from trialdesk.entrypoints.api.deps import run
from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.entrypoints.web.pages.subject_view import visit_label
from trialdesk.services import clock, consent
from trialdesk.services.actors import Actor


def consent_context(
    request: Request, actor: Actor, protocol: Protocol, subject_id: int, tr: Translator
) -> dict[str, Any]:
    """The consent section's data (read in its own unit of work) and its form's choices."""
    can_enter = can(actor.role, Capability.ENTER_DATA)
    found, staff = run(
        request,
        actor.username,
        lambda s: (
            consent.subject_consents(s, actor, protocol, subject_id),
            consent.site_staff(s, actor, protocol, subject_id) if can_enter else [],
        ),
        write=False,
    )
    current = version_on(protocol.consent_versions, clock.today())
    return {
        "consents": found.consents,
        "reconsent": found.due,
        "reconsent_visit": visit_label(found.due_visit, tr) if found.due_visit else None,
        "can_record_consent": can_enter and consent.in_study(found.subject),
        "consent_versions": [
            (
                v.version,
                tr.gettext("%(version)s (in use from %(date)s)", version=v.version, date=v.effective_date),
            )
            for v in protocol.consent_versions
        ],
        "consent_defaults": {"version": current.version if current else "", "obtained_by": actor.username},
        "consent_staff": [(username, f"{name} ({username})") for username, name in staff],
    }
