"""What the trial and subject pages show, built from the services' records: the subject's timeline in
date order, the CTCAE grade definitions of a term, the lab units of a test, the links a role may
follow. Only presentation: every rule stays in the services and the domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from trialdesk.adapters.ctcae_data import lab_grading_table, term_catalogue
from trialdesk.domain.calendar import ScheduledVisit
from trialdesk.domain.labs.catalogue import is_lab_test
from trialdesk.domain.labs.units import accepted_units, canonical_unit, test_label
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability, can
from trialdesk.domain.safety.ctcae import CtcaeTerm
from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.services.actors import Actor
from trialdesk.services.labs import GRADED_TESTS
from trialdesk.services.odm_export import ODM_EXPORTERS, OWN_SITE_ROLES
from trialdesk.services.safety_alerts import ALERT_READERS
from trialdesk.services.safety_report import REPORT_READERS
from trialdesk.services.subject_record import SubjectRecord

TERM_RESULTS = 12
"""How many CTCAE terms the search as you type lists at most."""


def sees_arm(actor: Actor) -> bool:
    """Whether the page shows the allocated arm: the API's rule (``SubjectOut.arm_id``) - every role
    that may read subjects sees it (the seed trials are open-label)."""
    return can(actor.role, Capability.READ_SUBJECTS)


@dataclass(frozen=True)
class TimelineEntry:
    """One dated event of the subject's timeline (``kind`` picks its style; ``text`` is translated)."""

    day: dt.date
    kind: str
    text: str
    anchor: str = ""


def _day(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _subject_entries(record: SubjectRecord, tr: Translator, arm_shown: bool) -> list[TimelineEntry]:
    subject = record.subject
    verdict = verdict_label(record.evaluation.verdict, tr) if record.evaluation else ""
    entries = [
        TimelineEntry(
            subject.screening_date, "screening", tr.gettext("Screened (%(verdict)s)", verdict=verdict)
        )
    ]
    if subject.consent_date:
        entries.append(TimelineEntry(subject.consent_date, "consent", tr.gettext("Informed consent signed")))
    if subject.enrolled_at:
        signer = (record.enrolment_signature or {}).get("signed_by_name", "")
        text = tr.gettext(
            "Enrolled in phase %(phase)s, signed by %(name)s", phase=subject.phase_id, name=signer
        )
        entries.append(TimelineEntry(_day(subject.enrolled_at), "enrolment", text))
    if record.allocation is not None:
        text = (
            tr.gettext("Randomized to arm %(arm)s", arm=record.allocation.arm_id)
            if arm_shown
            else tr.gettext("Randomized")
        )
        entries.append(TimelineEntry(_day(record.allocation.allocated_at), "randomization", text))
    return entries


def _follow_up_entries(record: SubjectRecord, tr: Translator) -> list[TimelineEntry]:
    subject = record.subject
    dated = [
        (subject.treatment_start_date, "treatment", tr.gettext("Treatment started")),
        (
            subject.treatment_end_date,
            "treatment",
            tr.gettext("Treatment ended: %(reason)s", reason=subject.discontinuation_reason or ""),
        ),
        (subject.new_anticancer_therapy_date, "follow-up", tr.gettext("New anti-cancer therapy")),
        (subject.last_known_alive_date, "follow-up", tr.gettext("Last known alive")),
        (subject.death_date, "death", tr.gettext("Died")),
    ]
    entries = [TimelineEntry(day, kind, text, "follow-up") for day, kind, text in dated if day]
    if subject.status_date and subject.status not in ("screening", "enrolled"):
        text = tr.gettext(
            "Status changed to %(status)s: %(reason)s",
            status=status_label(subject.status, tr),
            reason=subject.status_reason or "",
        )
        entries.append(TimelineEntry(subject.status_date, "status", text, "status"))
    return entries


def _ae_entries(record: SubjectRecord, tr: Translator) -> list[TimelineEntry]:
    entries = []
    for event in record.events:
        text = tr.gettext(
            "Adverse event: %(term)s, grade %(grade)s", term=tr.clinical(event.term), grade=event.grade
        )
        if event.serious:
            text += " · " + tr.gettext("serious")
        entries.append(TimelineEntry(event.onset_date, "ae", text, f"ae-{event.id}"))
        if event.resolution_date:
            ended = tr.gettext("Adverse event ended: %(term)s", term=tr.clinical(event.term))
            entries.append(TimelineEntry(event.resolution_date, "ae", ended, f"ae-{event.id}"))
    return entries


def _lab_entries(record: SubjectRecord, tr: Translator) -> list[TimelineEntry]:
    graded = {p.lab_result_id: p for p in record.proposals if p.grade.grade}
    entries = []
    for lab in record.labs:
        shown = format(lab.value, "g")
        text = tr.gettext(
            "Lab: %(test)s %(value)s %(unit)s", test=lab_name(lab.test), value=shown, unit=lab.unit
        )
        if lab.is_baseline:
            text += " · " + tr.gettext("baseline")
        proposal = graded.get(lab.id)
        if proposal is not None:
            text += " · " + tr.gettext(
                "%(term)s grade %(grade)s", term=tr.clinical(proposal.grade.term), grade=proposal.grade.grade
            )
        entries.append(TimelineEntry(lab.collected_date, "lab", text, "labs"))
    return entries


def _tumour_entries(record: SubjectRecord, tr: Translator) -> list[TimelineEntry]:
    entries = []
    if record.baseline is not None:
        entries.append(
            TimelineEntry(record.baseline.date, "tumour", tr.gettext("Tumour baseline assessment"), "tumour")
        )
    points = {
        point["date"]: point["overall"]
        for point in record.responses.get("recist1.1", {}).get("computed", {}).get("time_points", [])
    }
    for visit in record.assessments:
        overall = points.get(visit.date.isoformat(), "")
        text = tr.gettext(
            "Tumour assessment %(visit)s: RECIST 1.1 %(response)s",
            visit=visit.visit,
            response=tr.clinical(overall),
        )
        entries.append(TimelineEntry(visit.date, "tumour", text, "tumour"))
    return entries


def timeline(record: SubjectRecord, tr: Translator, arm_shown: bool) -> list[TimelineEntry]:
    """Every dated event of the subject in date order (stable: same-day events keep their order)."""
    entries = (
        _subject_entries(record, tr, arm_shown)
        + _tumour_entries(record, tr)
        + _ae_entries(record, tr)
        + _lab_entries(record, tr)
        + _follow_up_entries(record, tr)
    )
    return sorted(entries, key=lambda entry: entry.day)


def status_label(status: str, tr: Translator) -> str:
    """A subject status in words."""
    labels = {
        "screening": tr.gettext("screening"),
        "screen_failed": tr.gettext("screen failed"),
        "enrolled": tr.gettext("enrolled"),
        "on_treatment": tr.gettext("on treatment"),
        "off_treatment": tr.gettext("off treatment"),
        "follow_up": tr.gettext("in follow-up"),
        "completed": tr.gettext("completed"),
        "died": tr.gettext("died"),
        "withdrawn": tr.gettext("withdrawn"),
        "lost_to_follow_up": tr.gettext("lost to follow-up"),
    }
    return labels.get(status, status)


def verdict_label(verdict: str, tr: Translator) -> str:
    """An eligibility verdict in words."""
    labels = {
        "eligible": tr.gettext("eligible"),
        "ineligible": tr.gettext("not eligible"),
        "incomplete": tr.gettext("incomplete"),
    }
    return labels.get(verdict, verdict)


def lab_name(test: str) -> str:
    """The short label of a lab test code (``Hb``, ``ALT``...)."""
    return test_label(test) if is_lab_test(test) else test


def lab_tests() -> list[tuple[str, str]]:
    """(code, label) of every test with a CTCAE lab grading."""
    return [(test, lab_name(test)) for test in GRADED_TESTS]


def lab_units(test: str) -> list[str]:
    """The units accepted for ``test``, its canonical unit first (empty for an unknown test)."""
    if not is_lab_test(test):
        return []
    canonical = canonical_unit(test)
    return [canonical, *(u for u in accepted_units(test) if u != canonical)]


def search_terms(query: str, tr: Translator) -> list[CtcaeTerm]:
    """CTCAE catalogue terms whose name, translated name (``clinical.po``) or system organ class
    contains every typed word."""
    words = query.lower().split()
    if not words:
        return []
    found = [
        term
        for term in term_catalogue().terms
        if all(word in f"{tr.clinical(term.term)} {term.soc}".lower() for word in words)
    ]
    found.sort(key=lambda term: (not term.term.lower().startswith(words[0]), term.term))
    return found[:TERM_RESULTS]


def general_grade_definitions(tr: Translator) -> dict[int, str]:
    """CTCAE v5.0's general grade definitions (what every grade means for any term)."""
    return {
        1: tr.gettext(
            "Mild; asymptomatic or mild symptoms; clinical or diagnostic observations only; "
            "intervention not indicated."
        ),
        2: tr.gettext(
            "Moderate; minimal, local or noninvasive intervention indicated; limiting age-appropriate "
            "instrumental ADL."
        ),
        3: tr.gettext(
            "Severe or medically significant but not immediately life-threatening; hospitalization or "
            "prolongation of hospitalization indicated; disabling; limiting self care ADL."
        ),
        4: tr.gettext("Life-threatening consequences; urgent intervention indicated."),
        5: tr.gettext("Death related to AE."),
    }


@dataclass(frozen=True)
class GradeDefinition:
    """One grade a term has, with what it means (the lab criterion when CTCAE grades it by value)."""

    grade: int
    meaning: str
    lab_criterion: str


def grade_definitions(term_name: str, tr: Translator) -> tuple[CtcaeTerm | None, list[GradeDefinition]]:
    """The catalogue term spelled ``term_name`` and the definitions of the grades it has."""
    term = term_catalogue().lookup(term_name) if term_name else None
    if term is None:
        return None, []
    general = general_grade_definitions(tr)
    criteria: dict[int, str] = {}
    for lab_term in lab_grading_table().terms:
        if lab_term.term == term.term:
            for row in lab_term.rows:
                criteria.setdefault(row.grade, row.ctcae)
    return term, [GradeDefinition(g, general.get(g, ""), criteria.get(g, "")) for g in term.grades]


@dataclass(frozen=True)
class TrialLink:
    """A link of the trial page to another page of the trial."""

    href: str
    label: str


def trial_links(
    actor: Actor, protocol: Protocol, tr: Translator, own_sites: Sequence[str] = ()
) -> list[TrialLink]:
    """The trial's pages this role may open (the same capabilities the services check).

    ``own_sites`` are the codes of the sites of a user limited to their own sites: one who works at
    several gets the data copy (ODM) of each site, since a site-only copy names its site.
    """
    base = f"/trials/{protocol.id}"
    role = actor.role
    candidates: list[tuple[bool, str, str]] = [
        (can(role, Capability.SCREEN), "/screening/new", tr.gettext("Screen a patient")),
        (can(role, Capability.READ_SUBJECTS), "/screening-log", tr.gettext("Screening log")),
        (can(role, Capability.SIGN_PHASE_GATE), "/gate", tr.gettext("Run-in safety gate")),
        (role in ALERT_READERS, "/alerts", tr.gettext("Safety alerts")),
        (role in REPORT_READERS, "/safety-report", tr.gettext("Safety report")),
        (can(role, Capability.RUN_ANALYSES), "/report", tr.gettext("Trial report")),
        (can(role, Capability.VIEW_ALLOCATION_LIST), "/allocation-lists", tr.gettext("Allocation lists")),
        (can(role, Capability.RUN_ANALYSES), "/design", tr.gettext("Design check")),
        (can(role, Capability.RUN_ANALYSES), "/simulate", tr.gettext("Simulation")),
        (
            can(role, Capability.READ_SUBJECTS) and bool(protocol.investigational_products()),
            "/ip",
            tr.gettext("Investigational product"),
        ),
        (can(role, Capability.READ_SUBJECTS), "/queries", tr.gettext("Data queries")),
    ]
    links = [TrialLink(base + path, label) for allowed, path, label in candidates if allowed]
    odm = tr.gettext("Data copy with audit trail (CDISC ODM XML)")
    if role in OWN_SITE_ROLES and len(own_sites) > 1:
        links += [TrialLink(f"{base}/odm.xml?site={quote(code)}", f"{odm}: {code}") for code in own_sites]
    elif role in ODM_EXPORTERS:
        links.append(TrialLink(f"{base}/odm.xml", odm))
    return links


def response_rows(responses: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(rule set, computed report) in the order RECIST 1.1 then iRECIST."""
    order = ("recist1.1", "irecist")
    return [(rules, responses[rules]["computed"]) for rules in order if rules in responses]


def visit_status_words(tr: Translator) -> dict[str, str]:
    """Each calendar status in the page's language."""
    return {
        "planned": tr.gettext("planned"),
        "done": tr.gettext("done"),
        "missed": tr.gettext("missed"),
        "overdue": tr.gettext("overdue"),
        "not_required": tr.gettext("not required"),
    }


def deviation_reason_word(reason: str, tr: Translator) -> str:
    """Why a dose differs from the plan, in the page's language."""
    words = {
        "delay": tr.gettext("delay"),
        "reduction": tr.gettext("dose reduction"),
        "omission": tr.gettext("omitted"),
        "interruption": tr.gettext("interruption"),
        "toxicity": tr.gettext("toxicity (name the AE)"),
        "other": tr.gettext("other"),
    }
    return words.get(reason, reason)


def rt_class_words(tr: Translator) -> dict[str, str]:
    """Radiotherapy deviation classes in the page's language."""
    return {
        "per_protocol": tr.gettext("per protocol"),
        "minor": tr.gettext("minor deviation"),
        "major": tr.gettext("major deviation"),
        "not_assessable": tr.gettext("ongoing"),
    }


def visit_label(visit: ScheduledVisit, tr: Translator) -> str:
    """A calendar visit's name in the page's language (the domain names it in English)."""
    number = "".join(ch for ch in visit.visit_id if ch.isdigit())
    if visit.kind == "cycle" and visit.visit_id.startswith("C") and number:
        return tr.gettext("Cycle %(number)s day 1", number=number)
    if visit.kind == "tumour_assessment" and number:
        return tr.gettext(
            "Tumour assessment %(number)s (week %(week)s)", number=number, week=(visit.day - 1) // 7
        )
    if visit.kind == "end_of_treatment":
        return tr.gettext("End of treatment")
    if visit.kind == "safety_follow_up" and number:
        return tr.gettext("Safety follow-up (%(days)s days after the last dose)", days=number)
    if visit.kind == "survival" and number:
        return tr.gettext("Survival follow-up %(number)s", number=number)
    return visit.label
