"""The home page: every trial with its phase state in words, enrolment by site, open alerts and what
waits for the signed-in user."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from trialdesk.entrypoints.api.deps import registry_of, run
from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.entrypoints.web.pages.subject_view import visit_label
from trialdesk.entrypoints.web.render import language_of, render
from trialdesk.entrypoints.web.session import PageActor
from trialdesk.services.overview import trial_overview

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: PageActor) -> HTMLResponse:
    """The trial picker."""
    registry = registry_of(request)
    overviews = run(
        request,
        actor.username,
        lambda s: [trial_overview(s, actor, p) for p in registry],
        write=False,
    )
    language = language_of(request)
    tr = Translator(language)
    context = {
        "trials": overviews,
        "shown": {p.id: p.localized(language) for p in registry},  # titles and phase names to show
        "visit_label": lambda visit: visit_label(visit, tr),
    }
    return render(request, "home.html", context)
