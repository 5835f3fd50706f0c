"""Rendering pages: the Jinja2 environment, the per-request context, and form errors.

Templates call ``_("English text", name=value)`` for every visible string (``%(name)s`` placeholders),
``clinical(term)`` for a standard clinical name, and read ``user``, ``lang``, ``csrf_token``,
``demo`` and ``nav`` from the context :func:`render` builds. Autoescaping is on for every template.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import ValidationError

from trialdesk.domain.eligibility.evaluator import CriterionResult
from trialdesk.domain.eligibility.rules import Criterion
from trialdesk.domain.protocol import Protocol
from trialdesk.domain.roles import Capability, can
from trialdesk.entrypoints.api.deps import settings_of
from trialdesk.entrypoints.web.i18n import LANG_COOKIE, LANGUAGES, Translator, negotiate
from trialdesk.services.actors import Actor
from trialdesk.services.errors import TrialError, describe

TEMPLATE_DIR = Path(__file__).parent / "templates"
FORM_ERROR = "_form"
"""The key of an error that belongs to the whole form rather than one field."""

environment = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)


def iso_date(value: dt.date | dt.datetime | str | None) -> str:
    """ISO 8601 for every date shown (``2026-04-20``; a timestamp to the minute, UTC)."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC" if value.tzinfo else "%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


environment.filters["iso"] = iso_date

_CARD = re.compile(
    r'<section class="card" id="([\w-]+)" aria-labelledby="([\w-]+)">\s*<h2 id="\2">(.*?)</h2>', re.S
)
"""A page card as the templates write it: its id, and the heading that labels it."""


def section_links(html: str) -> list[tuple[str, str]]:
    """(id, heading text) of each card in rendered ``html``, in page order: a page's table of contents
    built from what was actually rendered, so a card left out for this user or subject has no link."""
    return [(found[1], Markup(found[3]).striptags()) for found in _CARD.finditer(str(html))]


environment.filters["section_links"] = section_links


def language_of(request: Request) -> str:
    """The language of this request (cookie, then Accept-Language, then English)."""
    return negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))


@dataclass(frozen=True)
class NavItem:
    """A link of the header navigation."""

    href: str
    label: str


def navigation(actor: Actor | None, tr: Translator) -> list[NavItem]:
    """The header links this user's role may follow."""
    if actor is None:
        return []
    items = [NavItem("/", tr.gettext("Trials"))]
    if can(actor.role, Capability.READ_AUDIT):
        items.append(NavItem("/audit", tr.gettext("Audit trail")))
    if can(actor.role, Capability.MANAGE_USERS_AND_SITES):
        items.append(NavItem("/admin", tr.gettext("Sites and users")))
    return items


def role_labels(tr: Translator) -> dict[str, str]:
    """Each role's name in the request's language."""
    return {
        "coordinator": tr.gettext("research coordinator"),
        "investigator": tr.gettext("investigator"),
        "statistician": tr.gettext("statistician"),
        "safety_reviewer": tr.gettext("safety reviewer"),
        "monitor": tr.gettext("monitor"),
        "data_manager": tr.gettext("data manager"),
        "admin": tr.gettext("administrator"),
    }


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` for this request, in its language, with the common page context."""
    language = language_of(request)
    tr = Translator(language)
    actor: Actor | None = getattr(request.state, "actor", None)
    settings = settings_of(request)
    page: dict[str, Any] = {
        **tr.functions(),
        "request": request,
        "lang": language,
        "html_lang": language.replace("_", "-"),
        "languages": LANGUAGES,
        "user": actor,
        "nav": navigation(actor, tr),
        "role_labels": role_labels(tr),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "idle_seconds": getattr(request.state, "idle_seconds", 0),
        "demo": bool(getattr(settings, "demo", False)),
        "errors": {},
        "values": {},
    }
    page.update(context or {})
    page.update(protocol_texts(page.get("protocol"), tr))
    html = environment.get_template(template).render(page)
    headers = {"Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status_code, headers=headers)


_HasText = Criterion | CriterionResult
"""A criterion of the protocol, or its result in a screening evaluation."""


def protocol_texts(protocol: object, tr: Translator) -> dict[str, Any]:
    """``protocol`` (a page's trial) with its display texts in the request's language where its
    ``translations`` have them (:meth:`Protocol.localized`); ``criterion_text(c)``, the text of a
    criterion or of a criterion's result (``c.id``, ``c.text``) in that language; and ``evidence``,
    the engine's evidence with the investigator's questions it quotes in that language too and the
    vocabulary's codes it lists (``pleural_metastasis``) by their labels.

    Pages give the services the protocol as loaded; only what the template shows is translated. A
    result's own text (the criterion as it was evaluated) shows where there is no translation."""
    if not isinstance(protocol, Protocol):
        return {"criterion_text": _own_text}
    shown = protocol.localized(tr.language)
    texts = {c.id: c.text for c in shown.eligibility.criteria} if shown is not protocol else {}
    questions = [
        (original.question, localized.question)
        for original, localized in zip(protocol.eligibility.criteria, shown.eligibility.criteria, strict=True)
        if original.question and localized.question and original.question != localized.question
    ]
    labels = {**shown.vocabulary.findings, **shown.vocabulary.malignancy_types}
    codes = _codes_pattern(tuple(labels))

    def criterion_text(criterion: _HasText) -> str:
        return texts.get(criterion.id, criterion.text)

    def evidence(text: str | None) -> str:
        if text:
            for asked, translated in questions:  # the evaluator quotes the question whole
                text = text.replace(asked, translated)
            if codes is not None:
                text = codes.sub(lambda m: labels[m.group()], text)
        return tr.evidence(text)

    return {"protocol": shown, "criterion_text": criterion_text, "evidence": evidence}


@cache
def _codes_pattern(codes: tuple[str, ...]) -> re.Pattern[str] | None:
    """The vocabulary's codes as whole words (``pregnant`` never inside ``pregnant_test``), longest
    first; None for a protocol without a vocabulary."""
    if not codes:
        return None
    alternatives = "|".join(re.escape(code) for code in sorted(codes, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _own_text(criterion: _HasText) -> str:
    return criterion.text


@dataclass
class FormErrors:
    """Errors of one submitted form, by field name (``_form`` for the whole form), in the words of the
    service that refused it, so a page shows exactly what the API would answer."""

    by_field: dict[str, str] = field(default_factory=dict)
    status_code: int = 422

    def __bool__(self) -> bool:
        return bool(self.by_field)

    @classmethod
    def from_error(cls, exc: TrialError, fields: frozenset[str] | set[str] = frozenset()) -> FormErrors:
        """The service/domain error beside its field when the form has that field, else on the form."""
        answer = describe(exc)
        key = answer.field if answer.field and answer.field in fields else FORM_ERROR
        message = answer.message if key != FORM_ERROR or not answer.field else answer.cli_message()
        return cls({key: message}, answer.status_code)

    @classmethod
    def from_validation(cls, exc: ValidationError) -> FormErrors:
        """A pydantic validation error of the API's request model, one message per field."""
        errors: dict[str, str] = {}
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or FORM_ERROR
            errors.setdefault(name, str(error["msg"]))
        return cls(errors, 422)
