"""Check an XML document against the CDISC ODM 1.3.2 XML schema (files in ``schema/``, copied
unchanged from CDISC's repository under its MIT licence: see ``schema/NOTICE.md``).

The schema is compiled once per process (about a tenth of a second) with network access switched
off: every file it imports is beside it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

SCHEMA_DIR = Path(__file__).parent / "schema"
SCHEMA_FILE = SCHEMA_DIR / "ODM1-3-2.xsd"


class InvalidOdm(ValueError):
    """A document that the ODM 1.3.2 schema refuses; ``errors`` lists the schema's messages."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"not valid ODM 1.3.2: {'; '.join(errors[:5])}")


@cache
def odm_schema() -> Any:
    """The compiled ODM 1.3.2 schema (``lxml.etree.XMLSchema``)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE), parser))


def errors_of(document: Any) -> list[str]:
    """The schema's messages for ``document`` (an lxml tree or element); empty when it is valid."""
    schema = odm_schema()
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def check(document: Any) -> None:
    """Raise :class:`InvalidOdm` unless ``document`` is valid ODM 1.3.2."""
    errors = errors_of(document)
    if errors:
        raise InvalidOdm(errors)


def parse(content: bytes) -> Any:
    """Parse ODM XML bytes safely (no network, no entity expansion) into an lxml tree."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=False)
    return etree.ElementTree(etree.fromstring(content, parser))
