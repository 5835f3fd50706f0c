"""Which page strings need a translation, and which ones a language still lacks.

Every ``_("...")``, ``gettext``/``ngettext`` call in the templates and in the web package's Python code
is a message id (Babel's extractors: Jinja2's for templates, Babel's own for Python). A language is
complete when its merged catalogue translates every one of them (the test suite checks ``zh_CN``).

``python -m trialdesk.entrypoints.web.catalogue zh_CN`` prints the missing entries as ``.po`` text to
paste into the area's file, with the template or module they come from.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.extract import extract_from_dir

from trialdesk.entrypoints.web.i18n import page_catalogue

WEB_DIR = Path(__file__).parent
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


@dataclass(frozen=True)
class Message:
    """One translatable string (``plural`` for an ngettext pair) and where it appears."""

    msgid: str
    plural: str | None
    where: str


def messages() -> Iterator[Message]:
    """Every translatable string of the web pages."""
    for filename, line, message, _comments, _context in extract_from_dir(
        WEB_DIR, METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        if isinstance(message, tuple):
            singular, plural = message[0], message[1]
            if singular:
                yield Message(singular, plural, f"{filename}:{line}")
        elif message:
            yield Message(message, None, f"{filename}:{line}")


def missing(language: str) -> list[Message]:
    """The strings ``language``'s catalogue does not translate (first place each appears)."""
    catalogue = page_catalogue(language)
    seen: set[str] = set()
    lacking: list[Message] = []
    for message in messages():
        if message.msgid in seen:
            continue
        seen.add(message.msgid)
        if message.plural is None:
            translated = catalogue.gettext(message.msgid) != message.msgid
        else:
            translated = catalogue.ngettext(message.msgid, message.plural, 2) != message.plural
        if not translated:
            lacking.append(message)
    return lacking


def _po_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main(argv: list[str]) -> int:
    language = argv[1] if len(argv) > 1 else "zh_CN"
    lacking = missing(language)
    for message in lacking:
        print(f"#: {message.where}")
        print(f"msgid {_po_quote(message.msgid)}")
        if message.plural:
            print(f"msgid_plural {_po_quote(message.plural)}")
            print('msgstr[0] ""\n')
        else:
            print('msgstr ""\n')
    print(f"# {len(lacking)} missing in {language}", file=sys.stderr)
    return 1 if lacking else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
