"""Helpers shared by the statistician, monitor and admin pages: the submitted form as plain strings,
the request's translator, and number formatting for result tables."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Request

from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.entrypoints.web.render import language_of
from trialdesk.entrypoints.web.session import CSRF_FIELD


async def _form_values(request: Request) -> dict[str, str]:
    """Every text field of the submitted form (the CSRF token left out), so a refused form can be
    shown again with everything the user typed."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str) and key != CSRF_FIELD}


FormValues = Annotated[dict[str, str], Depends(_form_values)]
"""A route parameter: the submitted form's text fields."""


def translator(request: Request) -> Translator:
    """The text functions in the request's language."""
    return Translator(language_of(request))


def number(value: float | None, digits: int = 4) -> str:
    """A number with ``digits`` decimals, or an en dash for a missing or non-finite value."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"
