"""What the subject page's "Lesions in radiotherapy fields" section shows: each baseline lesion's RT-field
flag, the arm's RT courses and the in-field / out-of-field response (:mod:`trialdesk.services.rt_fields`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from trialdesk.domain.protocol.model import Protocol
from trialdesk.entrypoints.api.deps import run
from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.services import rt_fields
from trialdesk.services.actors import Actor


def abscopal_words(tr: Translator) -> dict[str, str]:
    """The out-of-field response statuses in the page's language."""
    return {
        "yes": tr.gettext("yes"),
        "no": tr.gettext("no"),
        "NE": tr.gettext("not evaluable (no non-irradiated target lesion or assessment)"),
    }


def rt_fields_context(
    request: Request, actor: Actor, protocol: Protocol, subject_id: int, tr: Translator
) -> dict[str, Any]:
    """The section's data (``rt_fields``: the service's view) and its words."""
    view = run(
        request, actor.username, lambda s: rt_fields.field_view(s, actor, protocol, subject_id), write=False
    )
    return {"rt_fields": view, "rt_abscopal_words": abscopal_words(tr)}
