"""What the trial and subject pages show: CTCAE search and grade definitions, lab units, the trial
links each role may follow (pure presentation of the services' data)."""

from __future__ import annotations

import pytest

from trialdesk.domain.roles import Role
from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.entrypoints.web.pages import subject_view as view
from trialdesk.protocols.loader import load_registry
from trialdesk.services.actors import Actor

EN = Translator("en")
ZH = Translator("zh_CN")


def _actor(role: Role) -> Actor:
    return Actor(1, role.value, role.value, role, frozenset({1}))


def test_search_finds_terms_by_english_or_chinese_name_best_first() -> None:
    assert view.search_terms("esoph", EN)[0].term.startswith("Esophag")
    assert "Pneumonitis" in [t.term for t in view.search_terms("pneumo", EN)]
    assert [t.term for t in view.search_terms("乏力", ZH)] == ["Fatigue"]
    assert view.search_terms("   ", EN) == []
    assert len(view.search_terms("e", EN)) == view.TERM_RESULTS


def test_grade_definitions_list_only_the_terms_grades_with_lab_criteria() -> None:
    term, grades = view.grade_definitions("nausea", EN)
    assert term is not None and term.term == "Nausea"
    assert [g.grade for g in grades] == [1, 2, 3]
    assert grades[0].meaning.startswith("Mild") and grades[0].lab_criterion == ""
    _, anemia = view.grade_definitions("Anemia", EN)
    assert "<100 - 80 g/L" in anemia[1].lab_criterion
    assert view.grade_definitions("no such term", EN) == (None, [])


def test_lab_units_put_the_canonical_unit_first() -> None:
    assert view.lab_units("hemoglobin")[0] == "g/L" and "g/dL" in view.lab_units("hemoglobin")
    assert view.lab_units("unknown") == []


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (Role.COORDINATOR, {"/screening/new", "/screening-log"}, {"/gate", "/allocation-lists", "/alerts"}),
        (
            Role.SAFETY_REVIEWER,
            {"/gate", "/alerts", "/safety-report"},
            {"/screening/new", "/allocation-lists"},
        ),
        (Role.STATISTICIAN, {"/allocation-lists", "/report", "/design", "/simulate"}, {"/gate"}),
        (Role.MONITOR, {"/screening-log", "/alerts", "/report"}, {"/screening/new", "/allocation-lists"}),
        (Role.ADMIN, set(), {"/screening-log", "/report"}),
    ],
)
def test_trial_links_follow_the_role(role: Role, shown: set[str], hidden: set[str]) -> None:
    protocol = load_registry().get("scr-escc-01")
    paths = {
        link.href.removeprefix("/trials/scr-escc-01") for link in view.trial_links(_actor(role), protocol, EN)
    }
    assert shown <= paths and not hidden & paths


def test_status_words_in_both_languages() -> None:
    assert view.status_label("lost_to_follow_up", EN) == "lost to follow-up"
    assert view.status_label("on_treatment", ZH) == "治疗中"


def test_calendar_visit_names_match_the_domain_in_english_and_are_translated() -> None:
    import datetime as dt

    from trialdesk.domain.calendar import SubjectCourse, plan
    from trialdesk.entrypoints.web.i18n import Translator
    from trialdesk.entrypoints.web.pages.subject_view import visit_label
    from trialdesk.protocols import load_registry

    protocol = load_registry().get("scr-escc-01")
    start = dt.date(2026, 1, 5)
    course = SubjectCourse(
        ("pd1", "paclitaxel", "platinum", "ldrt", "cfrt"), start, treatment_end=start + dt.timedelta(days=100)
    )
    visits = plan(protocol, course)
    english, chinese = Translator("en"), Translator("zh_CN")
    assert all(visit_label(v, english) == v.label for v in visits)
    names = {v.visit_id: visit_label(v, chinese) for v in visits}
    assert names["C2"] == "第 2 周期第 1 天" and names["TA1"] == "第 1 次肿瘤评估（第 6 周）"
    assert names["SFU30"] == "安全性随访（末次给药后 30 天）" and names["EOT"] == "治疗结束访视"
