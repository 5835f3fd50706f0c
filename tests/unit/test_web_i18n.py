"""The languages of the web pages: negotiation, the catalogues' completeness, clinical names."""

from __future__ import annotations

import re

import pytest

from trialdesk.entrypoints.web.catalogue import messages, missing
from trialdesk.entrypoints.web.i18n import ERRORS_DOMAIN, LOCALE_DIR, Translator, error_patterns, negotiate


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

    from trialdesk.entrypoints.web.i18n import CLINICAL_DOMAIN, ERRORS_DOMAIN, LOCALE_DIR

    seen: dict[str, tuple[str, str]] = {}
    clashes: list[str] = []
    for path in sorted((LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        if path.stem in (CLINICAL_DOMAIN, ERRORS_DOMAIN):  # catalogues of their own, never merged
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


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Field required", "此项必填"),
        ("Input should be greater than or equal to 0", "应大于或等于 0"),
        ("String should have at least 10 characters", "至少应有 10 个字符"),
        ("Value error, must be a whole number, got 'x'", "应为整数，收到的是 'x'"),  # the reason inside too
        ("data cut-off 2026-12-05 is in the future", "数据截止日期 2026-12-05 是将来的日期"),  # specific
        ("2026-12-05 is in the future (today is 2026-12-02)", "2026-12-05 是将来的日期（今天是 2026-12-02）"),
        (
            "resolution date 2026-01-01 is before the onset date 2026-02-01",
            "缓解日期 2026-01-01 早于发生日期 2026-02-01",
        ),
        # a form-level message keeps its field code; the reason is translated
        (
            "onset_date: must be a date as YYYY-MM-DD, got '31/12'",
            "onset_date: 应为 YYYY-MM-DD 格式的日期，收到的是 '31/12'",
        ),
        ("'1O' is not a number", "'1O' 不是数字"),
        # the eligibility engine's evidence on the screening pages
        ("birth date not recorded", "出生日期未记录"),
        ("ECOG 2, not one of: 0, 1", "ECOG 2，不属于：0, 1"),
        (
            "not recorded: pleural_metastasis, pericardial_effusion",
            "未记录：pleural_metastasis, pericardial_effusion",
        ),
        ("investigator to answer: Is it curable?", "需研究者回答：Is it curable?"),
        (
            "prior therapy history not recorded; investigator to answer: Did it progress?",
            "既往治疗史未记录；需研究者回答：Did it progress?",  # the protocol's own question as written
        ),
        (
            "Hb 9.5 g/dL (= 95 g/L) >= 90 g/L (result of 2025-05-30)",
            "Hb 9.5 g/dL (= 95 g/L) >= 90 g/L（2025-05-30 的结果）",
        ),
        (
            "'no' by Dr Li (investigator) at 2025-06-05T10:00; required 'yes'",
            "Dr Li (investigator) 于 2025-06-05T10:00 回答“否”；要求回答“是”",  # the answers are codes
        ),
        (
            "[met] ALT 38 U/L <= 2.5 x ULN OR [not_met] CrCl 59 mL/min, not >= 60 mL/min",
            "[符合] ALT 38 U/L <= 2.5 x ULN 或 [不符合] CrCl 59 mL/min，不满足 >= 60 mL/min",
        ),
        (
            "line 1 definitive chemoradiotherapy 2024-09-05 to 2024-10-21: progression 2025-02-23, within 6 "
            "months after CCRT (by 2025-04-21)",
            "line 1 definitive chemoradiotherapy 2024-09-05 to 2024-10-21："
            "2025-02-23 进展，在同步放化疗结束后 6 个月内（截至 2025-04-21）",  # the most literal pattern
        ),
        (
            "2 measurable lesion(s) of 3 recorded (regional nodes: single_lesion, non-regional nodes: "
            "per_station) >= 1",
            "已记录 3 个病灶，其中可测量病灶 2 个（区域淋巴结：single_lesion，非区域淋巴结：per_station）≥ 1",
        ),
        ("recorded absent: fistula, effusion", "已记录为无：fistula, effusion"),
        # no pattern: the service's own words, never a guess
        ("the subject is not enrolled", "the subject is not enrolled"),
        ("no", "否"),  # a bare code with its own entry
    ],
)
def test_refusals_read_in_chinese_with_their_values_unchanged(english: str, chinese: str) -> None:
    assert Translator("zh_CN").error(english) == chinese
    assert Translator("en").error(english) == english


def test_every_refusal_pattern_keeps_its_placeholders() -> None:
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / f"{ERRORS_DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    entries = [m for m in catalog if m.id]
    assert len(entries) == len(error_patterns("zh_CN")) > 40
    for message in entries:
        msgid, msgstr = str(message.id), str(message.string)
        assert msgstr, f"untranslated refusal pattern: {msgid}"
        assert sorted(re.findall(r"%\((\w+)\)s", msgid)) == sorted(re.findall(r"%\((\w+)\)s", msgstr)), msgid
        assert "%" not in re.sub(r"%\(\w+\)s", "", msgstr), msgid  # no stray format sign
    # the most specific pattern is tried first
    lengths = [p.literal_length for p in error_patterns("zh_CN")]
    assert lengths == sorted(lengths, reverse=True)


def test_empty_and_missing_refusals_render_as_nothing() -> None:
    assert Translator("zh_CN").error(None) == "" and Translator("zh_CN").error("") == ""


def test_a_refusal_quoting_a_huge_typed_value_is_left_as_written_and_quick() -> None:
    typed = "x" * 50_000
    message = f"'{typed}' is before '{typed}'"
    from trialdesk.entrypoints.web import i18n

    before = i18n._translated.cache_info().currsize
    assert Translator("zh_CN").error(message) == message  # not matched: too long to be worth the regexes
    assert i18n._translated.cache_info().currsize == before  # and not kept: typed text fills no memory


def test_every_system_organ_class_of_the_term_catalogue_has_its_chinese_name() -> None:
    from trialdesk.adapters.ctcae_data import term_catalogue

    socs = {term.soc for term in term_catalogue().terms}
    zh = Translator("zh_CN")
    assert len(socs) >= 16
    assert all(zh.clinical(soc) != soc for soc in socs), sorted(s for s in socs if zh.clinical(s) == s)
    assert zh.clinical("Investigations") == "Investigations (各类检查)"  # beside the English, never instead
