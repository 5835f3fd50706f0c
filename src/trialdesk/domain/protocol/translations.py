"""A protocol's display texts in other languages (``translations:`` in a protocol file, or a
``translations_file``).

Both built-in trials run at hospitals in China, so the screening pages, the subject page and the home
page show the criteria, arms and phases in Simplified Chinese when the user reads Chinese. The English
text stays the protocol's own words (the seed's): rules, ids, codes and reports never read a
translation, and a text with no translation shows in English. Every key names an element the protocol
has, so a renamed criterion cannot leave a stale translation behind.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from trialdesk.domain.common import FrozenModel

LANGUAGE_PATTERN = r"^[a-z]{2,3}(_[A-Z]{2}|_[A-Z][a-z]{3})?$"
"""A language as the web pages name it: ``zh_CN``, ``en``, ``zh_Hant`` (ISO 639 with a region or
script, joined by ``_``)."""


def _language_code(code: str) -> str:
    if not re.fullmatch(LANGUAGE_PATTERN, code):
        raise ValueError(
            f"'{code[:40]}' is not a language code: write it as the pages name it, e.g. zh_CN (an ISO 639 "
            "language, then '_' and a region)"
        )
    return code


LanguageCode = Annotated[str, AfterValidator(_language_code)]
"""A language code matching :data:`LANGUAGE_PATTERN`, refused with a message that shows the form."""

MAX_TEXT = 2_000
"""The longest translated text (characters); the longest English criterion is under 300."""


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("a translation must not be blank (leave the key out to show the English)")
    return text


TranslatedText = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_not_blank)]
"""One translated text: not blank, at most :data:`MAX_TEXT` characters."""


class ArmText(FrozenModel):
    """An arm's label and description in one language (either may be left out)."""

    label: TranslatedText | None = None
    description: TranslatedText | None = None


class ProtocolTranslation(FrozenModel):
    """The protocol's display texts in one language, by element id. Anything left out shows in
    English."""

    title: TranslatedText | None = None
    short_title: TranslatedText | None = None
    condition: TranslatedText | None = None
    summary: TranslatedText | None = None
    arms: dict[str, ArmText] = Field(default_factory=dict)
    phases: dict[str, TranslatedText] = Field(default_factory=dict, description="Phase id -> name")
    stratification_factors: dict[str, TranslatedText] = Field(
        default_factory=dict, description="Factor id -> label"
    )
    endpoints: dict[str, TranslatedText] = Field(default_factory=dict, description="Endpoint id -> name")
    interventions: dict[str, TranslatedText] = Field(
        default_factory=dict, description="Intervention id -> name"
    )
    stopping_rules: dict[str, TranslatedText] = Field(
        default_factory=dict, description="Stopping rule id -> description"
    )
    toxicity_monitoring: dict[str, TranslatedText] = Field(
        default_factory=dict, description="Toxicity monitoring id -> description"
    )
    criteria: dict[str, TranslatedText] = Field(default_factory=dict, description="Criterion id -> text")
    findings: dict[str, TranslatedText] = Field(
        default_factory=dict, description="Finding code (vocabulary.findings) -> label"
    )
    malignancy_types: dict[str, TranslatedText] = Field(
        default_factory=dict, description="Malignancy type code (vocabulary.malignancy_types) -> label"
    )
    questions: dict[str, TranslatedText] = Field(
        default_factory=dict,
        description="Criterion id -> the question its investigator answers (an attestation's question, "
        "the later-lines question of a prior-line-failure rule)",
    )

    def unknown_ids(self, known: dict[str, set[str]]) -> list[str]:
        """``section.id`` of every key that names no element of the protocol (``known`` maps each
        section of :data:`KEYED_SECTIONS` to the protocol's ids)."""
        return [
            f"{section}.{item}"
            for section in KEYED_SECTIONS
            for item in sorted(set(getattr(self, section)) - known.get(section, set()))
        ]


KEYED_SECTIONS = (
    "arms",
    "phases",
    "stratification_factors",
    "endpoints",
    "interventions",
    "stopping_rules",
    "toxicity_monitoring",
    "criteria",
    "questions",
    "findings",
    "malignancy_types",
)
"""The sections of a :class:`ProtocolTranslation` keyed by an id or code of the protocol."""


__all__ = [
    "KEYED_SECTIONS",
    "LANGUAGE_PATTERN",
    "MAX_TEXT",
    "ArmText",
    "LanguageCode",
    "ProtocolTranslation",
    "TranslatedText",
]
