"""A protocol's display texts in Chinese: complete for both built-in trials, checked against the
protocol's own ids when loaded, and applied to display texts only (ids, rules and numbers unchanged)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from trialdesk.domain.eligibility.rules import AttestationRule, FirstLineFailureRule
from trialdesk.domain.protocol.model import Protocol
from trialdesk.protocols import ProtocolFileError, builtin_protocol_dir, load_registry
from trialdesk.protocols.loader import parse_protocol

BUILT_IN = ["ivo-shfrt-2l", "scr-escc-01"]

TRANSLATED_FIELDS = {
    "title",
    "short_title",
    "condition",
    "summary",
    "design.arms[].label",
    "design.arms[].description",
    "design.phases[].name",
    "design.phases[].allocation.stratification_factors[].label",
    "endpoints[].name",
    "interventions[].name",
    "stopping_rules[].description",
    "toxicity_monitoring[].description",
    "eligibility.criteria[].text",
    "eligibility.criteria[].rule.question",
    "eligibility.criteria[].rule.later_lines_question",
    "vocabulary.findings.*",
    "vocabulary.malignancy_types.*",
}
"""Where a localized protocol may differ from the protocol (list indices written ``[]``)."""


def differences(a: Any, b: Any, path: str = "") -> set[str]:
    """The paths (list indices as ``[]``) where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        if path.startswith("vocabulary."):  # code -> label: the codes stay, the labels may change
            return {f"{path}.*" for key in a if a[key] != b[key]}
        return {d for key in a for d in differences(a[key], b[key], f"{path}.{key}" if path else key)}
    if isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        return {d for x, y in zip(a, b, strict=True) for d in differences(x, y, f"{path}[]")}
    return set() if a == b else {path}


@pytest.fixture(scope="module")
def protocols() -> dict[str, Protocol]:
    registry = load_registry()
    return {pid: registry.get(pid) for pid in BUILT_IN}


def _seed_002() -> dict[str, Any]:
    data = yaml.safe_load((builtin_protocol_dir() / "scr-escc-01.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _errors(data: Any, file: str | Path = "test.yaml") -> list[str]:
    with pytest.raises(ProtocolFileError) as info:
        parse_protocol(data, file)
    return [str(issue) for issue in info.value.issues]


@pytest.mark.parametrize("protocol_id", BUILT_IN)
def test_both_trials_have_chinese_for_every_text_a_page_shows(
    protocols: dict[str, Protocol], protocol_id: str
) -> None:
    protocol = protocols[protocol_id]
    zh = protocol.translations["zh_CN"]
    assert zh.title and zh.short_title and zh.condition and zh.summary
    assert set(zh.criteria) == {c.id for c in protocol.eligibility.criteria}
    asking = {
        c.id
        for c in protocol.eligibility.criteria
        if isinstance(c.rule, AttestationRule | FirstLineFailureRule)
    }
    assert asking and set(zh.questions) == asking
    assert set(zh.arms) == {a.id for a in protocol.design.arms}
    assert all(text.label and text.description for text in zh.arms.values())
    assert set(zh.phases) == {p.id for p in protocol.design.phases}
    factors = {
        f.id for p in protocol.design.phases if p.allocation for f in p.allocation.stratification_factors
    }
    assert set(zh.stratification_factors) == factors
    assert set(zh.endpoints) == {e.id for e in protocol.endpoints}
    assert set(zh.interventions) == {i.id for i in protocol.interventions}
    assert set(zh.stopping_rules) == {r.id for r in protocol.stopping_rules}
    assert set(zh.toxicity_monitoring) == {m.id for m in protocol.toxicity_monitoring}
    assert set(zh.findings) == set(protocol.vocabulary.findings)
    assert set(zh.malignancy_types) == set(protocol.vocabulary.malignancy_types)
    texts = [zh.title, zh.short_title, *zh.criteria.values(), *zh.questions.values(), *zh.phases.values()]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in texts)  # Chinese, not a copy


@pytest.mark.parametrize("protocol_id", BUILT_IN)
def test_localizing_changes_display_texts_only(protocols: dict[str, Protocol], protocol_id: str) -> None:
    protocol = protocols[protocol_id]
    zh = protocol.localized("zh_CN")
    changed = differences(protocol.model_dump(mode="json"), zh.model_dump(mode="json"))
    assert changed and changed <= TRANSLATED_FIELDS
    assert "eligibility.criteria[].text" in changed and "design.phases[].name" in changed
    first = protocol.eligibility.criteria[0]
    assert zh.criterion(first.id).text == protocol.translations["zh_CN"].criteria[first.id]
    assert protocol.eligibility.criteria[0].text == first.text  # the protocol itself is untouched


@pytest.mark.parametrize("language", ["en", "fr", "zh_TW"])
def test_a_language_without_translations_gives_the_protocol_itself(
    protocols: dict[str, Protocol], language: str
) -> None:
    protocol = protocols["scr-escc-01"]
    assert protocol.localized(language) is protocol


def test_a_text_left_out_shows_in_english() -> None:
    data = _seed_002()
    data.pop("translations_file")
    data["translations"] = {"zh_CN": {"criteria": {"inc-1-age": "年龄 ≥ 18岁"}}}
    protocol = parse_protocol(data, "test.yaml").localized("zh_CN")
    assert protocol.criterion("inc-1-age").text == "年龄 ≥ 18岁"
    assert protocol.criterion("inc-3-ecog").text == "ECOG performance status 0-1"
    assert protocol.short_title.startswith("SCR-ESCC-01, LDRT")


def test_a_translation_of_what_the_protocol_does_not_have_is_refused() -> None:
    data = _seed_002()
    data.pop("translations_file")
    data["translations"] = {
        "zh_CN": {
            "criteria": {"inc-99-typo": "拼写错误", "inc-1-age": "年龄"},
            "arms": {"C": {"label": "C组"}},
            "questions": {"inc-1-age": "问题？"},  # inclusion 1 asks the investigator nothing
        }
    }
    (error,) = _errors(data)
    assert error == (
        "translations.zh_CN names what the protocol does not have: arms.C, criteria.inc-99-typo, "
        "questions.inc-1-age"
    )


def test_a_criterion_removed_from_a_copy_must_leave_its_translation_too() -> None:
    data = _seed_002()
    data["eligibility"]["criteria"] = [
        c for c in data["eligibility"]["criteria"] if c["id"] != "exc-7-cardiac"
    ]
    (error,) = _errors(data)
    assert "criteria.exc-7-cardiac" in error


@pytest.mark.parametrize(
    ("translations", "expected"),
    [
        (
            {"zh_CN": {"criteria": {"inc-1-age": "   "}}},
            "translations.zh_CN.criteria.inc-1-age: a translation must not be blank",
        ),
        (
            {"zh_CN": {"title": "x" * 2_001}},
            "translations.zh_CN.title: String should have at most 2000 characters",
        ),
        (
            {"zh_CN": {"subtitle": "副标题"}},
            "translations.zh_CN.subtitle: unknown key (not part of the protocol format)",
        ),
        (
            {"Chinese": {"title": "标题"}},
            "translations.Chinese: 'Chinese' is not a language code: write it as the pages name it",
        ),
    ],
)
def test_blank_overlong_unknown_or_misnamed_translations_are_refused(
    translations: dict[str, Any], expected: str
) -> None:
    data = _seed_002()
    data.pop("translations_file")
    data["translations"] = translations
    errors = _errors(data)
    assert any(e.startswith(expected) for e in errors), errors


def test_the_translations_file_must_be_a_mapping_beside_the_protocol(tmp_path: Path) -> None:
    data = _seed_002()
    data["translations"] = {}
    assert _errors(data) == ["translations_file: give 'translations' or 'translations_file', not both"]
    data = _seed_002()
    data["translations_file"] = "translations/scr-escc-01.yaml"
    assert _errors(data) == [
        "translations_file: must name a '*.translations.yaml' file in or below the protocol's folder"
    ]
    (tmp_path / "translations").mkdir()
    (tmp_path / "translations" / "mine.translations.yaml").write_text(
        "translations:\n  - zh_CN\n", encoding="utf-8"
    )
    data["translations_file"] = "translations/mine.translations.yaml"
    assert _errors(data, tmp_path / "mine.yaml") == [
        "translations: the file must hold a 'translations:' mapping"
    ]


def test_a_protocol_file_without_translations_loads_in_english_only() -> None:
    data = _seed_002()
    data.pop("translations_file")
    protocol = parse_protocol(data, "test.yaml")
    assert protocol.translations == {} and protocol.localized("zh_CN") is protocol
