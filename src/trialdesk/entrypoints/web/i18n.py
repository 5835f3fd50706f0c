"""Languages of the web pages: gettext catalogues read with Babel, chosen per request.

The English text in the templates and page modules is the message id, so English needs no
catalogue. Each other language has a folder ``locale/<code>/LC_MESSAGES`` holding one ``.po`` file
per area of the application (``base.po``, ``screening.po``, ...): all of them are merged into that
language's catalogue at start-up, so areas can be translated independently. ``clinical.po`` is kept
apart: it holds the Chinese names of standard clinical codes (CTCAE terms, RECIST responses), shown
*beside* the standard English name, never instead of it.

The language of a request is the ``lang`` cookie (set by the switch in the header) or else the best
match of the browser's ``Accept-Language`` header, else English.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}
"""The languages the pages ship in, with their own names (for the switch in the header)."""
CLINICAL_DOMAIN = "clinical"
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
    files = sorted(p for p in folder.glob("*.po") if p.stem != CLINICAL_DOMAIN) if folder.is_dir() else []
    return _translations(files)


@cache
def clinical_catalogue(language: str) -> gettext.GNUTranslations | gettext.NullTranslations:
    """The clinical-code names of ``language`` (``clinical.po``), empty when there is none."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{CLINICAL_DOMAIN}.po"
    return _translations([path] if path.is_file() else [])


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

    def functions(self) -> dict[str, Callable[..., str]]:
        """The names templates call: ``_``, ``gettext``, ``ngettext``, ``clinical``."""
        return {
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "clinical": self.clinical,
        }
