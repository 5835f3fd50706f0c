"""Languages of the web pages: gettext catalogues read with Babel, chosen per request.

The English text in the templates and page modules is the message id, so English needs no
catalogue. Each other language has a folder ``locale/<code>/LC_MESSAGES`` holding one ``.po`` file
per area of the application (``base.po``, ``screening.po``, ...): all of them are merged into that
language's catalogue at start-up, so areas can be translated independently. ``clinical.po`` is kept
apart: it holds the Chinese names of standard clinical codes (CTCAE terms, RECIST responses), shown
*beside* the standard English name, never instead of it. ``errors.po`` is apart too: its message ids are
the services' English refusals (and the eligibility engine's evidence) as patterns (``%(value)s is in
the future (today is %(today)s)``), matched against a whole message and filled from it
(:meth:`Translator.error`), so a refusal reads in the page's language while its dates, numbers and codes
stay exactly as the server wrote them.

The language of a request is the ``lang`` cookie (set by the switch in the header) or else the best
match of the browser's ``Accept-Language`` header, else English.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}
"""The languages the pages ship in, with their own names (for the switch in the header)."""
CLINICAL_DOMAIN = "clinical"
ERRORS_DOMAIN = "errors"
_SEPARATE_DOMAINS = (CLINICAL_DOMAIN, ERRORS_DOMAIN)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_NESTED = frozenset({"reason", "evidence", "text", "status", "other_status", "answer", "label"})
"""Placeholders whose text is itself a message, translated in turn (``Value error, %(reason)s``), or a
name with its own entry (a criterion's status ``not_met``, an investigator's answer ``yes``, a lab
test ``platelets``)."""
MAX_TRANSLATED_ERROR = 400
"""Longer refusals (a pasted page quoted back) stay as written: matching patterns with several
placeholders costs time quadratic in the length, and a page must not be slowed by what was typed."""
LANG_COOKIE = "lang"
_TAG_ALIASES: dict[str, str] = {
    "en": "en",
    "zh": "zh_CN",
    "zh_cn": "zh_CN",
    "zh_sg": "zh_CN",
    "zh_hans": "zh_CN",
    "zh_hans_cn": "zh_CN",
}
"""Browser language tags (lower case, ``_``) and the shipped language each reads best in. Traditional
Chinese (zh-TW, zh-HK, zh-Hant) has no catalogue and falls through to the next preference."""


def _translations(po_files: list[Path]) -> gettext.GNUTranslations | gettext.NullTranslations:
    """One gettext catalogue merged from ``po_files`` (compiled in memory; no .mo files to build)."""
    merged: gettext.GNUTranslations | gettext.NullTranslations = gettext.NullTranslations()
    for path in po_files:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=path.parent.parent.name)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = gettext.GNUTranslations(buffer)
        if isinstance(merged, gettext.GNUTranslations):
            merged._catalog.update(part._catalog)  # type: ignore[attr-defined]  # documented merge point
        else:
            merged = part
    return merged


@cache
def page_catalogue(language: str) -> gettext.GNUTranslations | gettext.NullTranslations:
    """The merged page catalogue of ``language`` (every ``.po`` but the clinical names)."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    files = (
        sorted(p for p in folder.glob("*.po") if p.stem not in _SEPARATE_DOMAINS) if folder.is_dir() else []
    )
    return _translations(files)


@cache
def clinical_catalogue(language: str) -> gettext.GNUTranslations | gettext.NullTranslations:
    """The clinical-code names of ``language`` (``clinical.po``), empty when there is none."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{CLINICAL_DOMAIN}.po"
    return _translations([path] if path.is_file() else [])


@dataclass(frozen=True)
class ErrorPattern:
    """One English refusal as a pattern (``pattern`` matches a whole message; its named groups are the
    placeholders) and its translation, with ``%(name)s`` where each group's text goes."""

    pattern: re.Pattern[str]
    translation: str
    literal_length: int


def _pattern(msgid: str) -> re.Pattern[str]:
    """A msgid's words taken literally, each ``%(name)s`` standing for any text (as little as will do)."""
    parts = _PLACEHOLDER.split(msgid)  # literal, name, literal, name, ..., literal
    body = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)" for index, part in enumerate(parts)
    )
    return re.compile(body, re.DOTALL)


@cache
def error_patterns(language: str) -> tuple[ErrorPattern, ...]:
    """The refusal patterns of ``language`` (``errors.po``), the most specific first: the one with the
    most literal text wins (``data cut-off %(date)s is in the future`` before ``%(what)s is in the
    future``)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{ERRORS_DOMAIN}.po"
    if not path.is_file():
        return ()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    found = [
        ErrorPattern(_pattern(message.id), message.string, len(_PLACEHOLDER.sub("", message.id)))
        for message in catalog
        if message.id and isinstance(message.id, str) and isinstance(message.string, str) and message.string
    ]
    return tuple(sorted(found, key=lambda p: -p.literal_length))


def translate_error(language: str, message: str, depth: int = 0) -> str:
    """``message`` (a service's English refusal) in ``language``, or unchanged when no pattern of
    ``errors.po`` matches it. A placeholder named ``reason``, ``evidence`` or ``text`` is itself
    translated (pydantic's ``Value error, %(reason)s``); a ``field: reason`` message keeps its field
    code and has its reason translated. Messages longer than :data:`MAX_TRANSLATED_ERROR` stay as
    written (and are never cached: what was typed must not fill the memory)."""
    if len(message) > MAX_TRANSLATED_ERROR:
        return message
    return _translated(language, message, depth)


@lru_cache(maxsize=8192)  # the preview renders the same evidence again on every keystroke
def _translated(language: str, message: str, depth: int) -> str:
    """:func:`translate_error` of a message of at most :data:`MAX_TRANSLATED_ERROR` characters: at most
    8,192 x 400 characters cached (about 3 MB)."""
    for candidate in error_patterns(language):
        match = candidate.pattern.fullmatch(message)
        if match is not None:
            values = {
                name: translate_error(language, text, depth + 1) if name in _NESTED and depth < 2 else text
                for name, text in match.groupdict().items()
            }
            return candidate.translation % values
    field, separator, reason = message.partition(": ")
    if separator and depth < 2 and " " not in field and reason:
        translated = translate_error(language, reason, depth + 1)
        if translated != reason:
            return f"{field}{separator}{translated}"
    return message


def negotiate(accept_language: str | None, cookie: str | None = None) -> str:
    """The language code for a request: a valid ``cookie`` wins, then the browser's preference order
    (``Accept-Language`` with q-values, e.g. ``zh-CN,zh;q=0.9,en;q=0.8``), else English."""
    if cookie in LANGUAGES:
        return cookie
    preferences: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            preferences.append((-quality, index, tag.strip().replace("-", "_").lower()))
    for _, _, tag in sorted(preferences):
        if tag in _TAG_ALIASES:
            return _TAG_ALIASES[tag]
        if tag.split("_")[0] in _TAG_ALIASES and not tag.startswith("zh_"):
            return _TAG_ALIASES[tag.split("_")[0]]
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Translator:
    """The text functions a template of one request uses: ``_`` (with ``%(name)s`` placeholders filled
    from keyword arguments), ``ngettext`` and ``clinical`` for a standard clinical name."""

    language: str

    def gettext(self, message: str, **values: Any) -> str:
        text = page_catalogue(self.language).gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: Any) -> str:
        text = page_catalogue(self.language).ngettext(singular, plural, count)
        return text % {"num": count, **values}

    def clinical(self, name: str | None) -> str:
        """The standard English name of a clinical code with its translation beside it, when the
        clinical catalogue has one (``Fatigue (乏力)``)."""
        if not name:
            return ""
        translated = clinical_catalogue(self.language).gettext(name)
        return f"{name} ({translated})" if translated != name else name

    def error(self, message: str | None) -> str:
        """A service's refusal (a field error, a form error) in this language where ``errors.po`` has
        its pattern; otherwise as the service wrote it (English, the API's words)."""
        if not message:
            return ""
        if self.language == DEFAULT_LANGUAGE:
            return message
        return translate_error(self.language, message)

    def evidence(self, text: str | None) -> str:
        """The eligibility engine's evidence for a criterion (``birth date not recorded``), translated
        by the same patterns as refusals; the values in it stay as the engine wrote them."""
        return self.error(text)

    def functions(self) -> dict[str, Callable[..., str]]:
        """The names templates call: ``_``, ``gettext``, ``ngettext``, ``clinical``, ``error``,
        ``evidence``."""
        return {
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "clinical": self.clinical,
            "error": self.error,
            "evidence": self.evidence,
        }
