"""The languages of the web pages: negotiation, the catalogues' completeness, clinical names."""

from __future__ import annotations

import pytest

from trialdesk.entrypoints.web.catalogue import messages, missing
from trialdesk.entrypoints.web.i18n import Translator, negotiate


@pytest.mark.parametrize(
    ("header", "cookie", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh_CN"),
        ("en-GB,en;q=0.9,zh-CN;q=0.8", None, "en"),
        ("en;q=0.5, zh;q=0.9", None, "zh_CN"),  # q-values, not order, decide
        ("zh-TW,fr;q=0.8", None, "en"),  # no Traditional Chinese catalogue: English, not Simplified
        ("zh-Hans-CN", None, "zh_CN"),
        ("", None, "en"),
        (None, None, "en"),
        ("garbage;q=x,,;", None, "en"),
        ("en", "zh_CN", "zh_CN"),  # the header's switch wins
        ("zh-CN", "xx", "zh_CN"),  # an unknown cookie is ignored
    ],
)
def test_language_of_a_request(header: str | None, cookie: str | None, expected: str) -> None:
    assert negotiate(header, cookie) == expected


def test_every_page_string_has_a_simplified_chinese_translation() -> None:
    assert len(list(messages())) > 40
    lacking = missing("zh_CN")
    assert not lacking, (
        "untranslated in zh_CN (python -m trialdesk.entrypoints.web.catalogue):\n"
        + "\n".join(f"{m.where}: {m.msgid}" for m in lacking)
    )


def test_placeholders_survive_translation() -> None:
    zh = Translator("zh_CN")
    assert zh.gettext("Attestation needed: %(number)s", number="SCR-007") == "需要研究者确认：SCR-007"
    assert (
        zh.ngettext("%(num)s open safety alert", "%(num)s open safety alerts", 3) == "3 条未处理的安全性警报"
    )
    en = Translator("en")
    assert en.ngettext("%(num)s open safety alert", "%(num)s open safety alerts", 1) == "1 open safety alert"


def test_english_is_the_message_id_itself() -> None:
    assert Translator("en").gettext("Trials") == "Trials"
    assert Translator("zh_CN").gettext("Trials") == "试验"


def test_area_catalogues_never_translate_one_string_two_ways() -> None:
    # Each area has its own .po file; the merged catalogue keeps the last one read, so two different
    # translations of one English string would make the pages disagree with each other.
    from babel.messages.pofile import read_po

    from trialdesk.entrypoints.web.i18n import CLINICAL_DOMAIN, LOCALE_DIR

    seen: dict[str, tuple[str, str]] = {}
    clashes: list[str] = []
    for path in sorted((LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        if path.stem == CLINICAL_DOMAIN:
            continue
        with path.open("rb") as handle:
            for message in read_po(handle):
                key = message.id if isinstance(message.id, str) else message.id[0]
                if not key:
                    continue
                text = str(message.string)
                first = seen.setdefault(key, (path.name, text))
                if first[1] != text:
                    clashes.append(f"{key!r}: {first[0]} {first[1]!r} vs {path.name} {text!r}")
    assert not clashes, "\n".join(clashes)
