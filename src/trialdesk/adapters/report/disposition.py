"""The trial report's subject-disposition table: the CONSORT counts of each phase/arm group in rows,
treatment discontinuation and study exit by their coded reasons (CONSORT 2010, item 13a/13b and the
flow diagram: "discontinued intervention (give reasons)", "lost to follow-up (give reasons)")."""

from __future__ import annotations

from trialdesk.adapters.report.tables import Table, group_label
from trialdesk.analysis.snapshot import ConsortArm, ConsortCounts
from trialdesk.domain.protocol import Protocol

TITLE = "Subject disposition at the cut-off"


def _reasons(arms: list[ConsortArm], of: str) -> list[str]:
    found: list[str] = []
    for arm in arms:
        found += [r for r in getattr(arm, of) if r not in found]
    return sorted(found)


def disposition_table(protocol: Protocol, consort: ConsortCounts) -> Table | None:
    """Allocated, treated, discontinued treatment (by reason), on treatment, left the study (by reason),
    died and in follow-up, one column per phase/arm group (``None`` without any allocated subject)."""
    arms = consort.arms
    if not arms:
        return None
    rows: list[list[str]] = []
    sections: set[int] = set()

    def add(label: str, values: list[int], section: bool = False) -> None:
        if section:
            sections.add(len(rows))
        rows.append([label, *(str(v) for v in values)])

    add("Allocated", [a.allocated for a in arms])
    add("Treated", [a.treated for a in arms])
    add("Discontinued treatment", [sum(a.discontinued.values()) for a in arms], section=True)
    for reason in _reasons(arms, "discontinued"):
        add(f"   {reason}", [a.discontinued.get(reason, 0) for a in arms])
    add("On treatment", [a.ongoing for a in arms])
    add("Left the study", [sum(a.left_study.values()) for a in arms], section=True)
    for reason in _reasons(arms, "left_study"):
        add(f"   {reason}", [a.left_study.get(reason, 0) for a in arms])
    add("Died", [a.died for a in arms])
    add("In follow-up", [a.in_follow_up for a in arms], section=True)
    return Table(
        TITLE,
        ["", *(group_label(protocol, a.phase_id, a.arm) for a in arms)],
        rows,
        footnote="Reasons are the coded end-of-treatment and end-of-study reasons (NCI CDISC NCOMPLT); "
        "a subject who died is counted under 'Died', not under 'Left the study'. In follow-up = "
        "allocated - left the study - died.",
        section_rows=frozenset(sections),
    )
