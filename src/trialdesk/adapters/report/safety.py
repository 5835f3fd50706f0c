"""The safety tables as report :class:`~trialdesk.adapters.report.tables.Table` objects, for the trial
report's safety section and the DSMB safety report (:mod:`trialdesk.adapters.report.safety_report`).

Formats: AE counts are subjects by maximum CTCAE v5.0 grade as ``n (%)``, the denominator being the
group's safety population (exposed subjects, :mod:`trialdesk.analysis.safety_tables`); probabilities
with four decimals; rates in percent; booleans as yes / no; attributions spelled out per intervention
component (``Ivonescimab: possible``); groups by their human label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trialdesk.adapters.report.tables import Table
from trialdesk.analysis.safety_tables import GRADE_BANDS, TABLE_TITLES, group_labels
from trialdesk.domain.protocol import Protocol

Rows = Sequence[Mapping[str, Any]]

COLUMN_LABELS: dict[str, str] = {
    "group": "Group",
    "enrolled": "Enrolled",
    "exposed": "Exposed (safety population)",
    "treatment_started": "Treatment started",
    "deaths": "Deaths",
    "soc": "System organ class",
    "term": "Term",
    "ae_id": "AE",
    "subject": "Subject",
    "grade": "Grade",
    "onset_date": "Onset",
    "resolution_date": "Resolved",
    "serious": "Serious",
    "outcome": "Outcome",
    "action_taken": "Action taken",
    "attribution": "Attribution (per component)",
    "treatment_related": "Treatment-related",
    "sae_criteria": "SAE criteria",
    "site_aware_at": "Site aware",
    "recorded_at": "Recorded",
    "reported_late": "Reported late (> 24 h)",
    "death_date": "Date of death",
    "cause": "Cause",
    "rule_id": "Rule",
    "description": "Description",
    "population_phase": "Population (phase)",
    "count": "Subjects counted",
    "threshold": "Threshold",
    "met": "Met",
    "action": "Action",
    "subjects": "Subjects",
    "unattributed_subjects": "Subjects awaiting attribution",
    "n_basis": "Sample size basis",
    "n": "n",
    "true_rate": "True rate",
    "probability": "P(rule met)",
    "monitor_id": "Monitor",
    "min_grade": "Minimum grade",
    "events": "Subjects with an event",
    "max_acceptable_rate": "Maximum acceptable rate",
    "posterior_probability": "Posterior P(rate > maximum)",
    "posterior_threshold": "Warning threshold",
    "warn_at": "Warn at (subjects)",
    "warning": "Warning",
    "warn_when_at_least": "Warn when at least",
    "N": "N",
}
"""Row key -> column header."""
PROBABILITY_KEYS = frozenset({"probability", "posterior_probability"})
RATE_KEYS = frozenset({"true_rate", "max_acceptable_rate"})
BAND_LABELS = {"any": "Any grade", "1-2": "Grade 1-2", "3-4": "Grade 3-4", "5": "Grade 5"}
GRADE_KEYS = ("grade 1", "grade 2", "grade 3", "grade 4", "grade 5", "any grade", "grade >= 3")


def probability(value: float) -> str:
    """A probability with four decimals (the stopping-rule and toxicity-monitoring formatter)."""
    return f"{value:.4f}"


def n_pct(count: int, n: int) -> str:
    """``count (percent)`` of ``n`` with one decimal (a no-break space keeps the pair on one line);
    ``count`` alone when ``n`` is 0."""
    return f"{count}\u00a0({100 * count / n:.1f})" if n else str(count)


def cell(key: str, value: Any, components: Mapping[str, str] | None = None) -> str:
    """One safety-table value as text (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in PROBABILITY_KEYS and isinstance(value, int | float):
        return probability(float(value))
    if key in RATE_KEYS and isinstance(value, int | float):
        return f"{100 * float(value):g}%"
    if key == "attribution" and isinstance(value, str) and components:
        parts = [p.split(": ", 1) for p in value.split("; ")]
        return "; ".join(f"{components.get(p[0], p[0])}: {p[1]}" if len(p) == 2 else p[0] for p in parts)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _plain(title: str, rows: Rows, labels: Mapping[str, str], components: Mapping[str, str]) -> Table:
    if not rows:
        return Table(title, ["Result"], [["None at the data cut-off."]])
    columns = list(dict.fromkeys(k for row in rows for k in row))
    body = [
        [
            labels.get(str(v), str(v)) if c == "group" else cell(c, v, components)
            for c, v in _items(row, columns)
        ]
        for row in rows
    ]
    return Table(title, [COLUMN_LABELS.get(c, c.replace("_", " ")) for c in columns] or ["(none)"], body)


def _items(row: Mapping[str, Any], columns: list[str]) -> list[tuple[str, Any]]:
    return [(c, row.get(c)) for c in columns]


def _soc_term(
    title: str, rows: Rows, groups: list[str], labels: Mapping[str, str], exposed: Mapping[str, int]
) -> list[Table]:
    out = []
    for group in groups:
        n = exposed.get(group, 0)
        body = []
        sections = set()
        for index, row in enumerate(rows):
            if row.get("term") in ("All terms", "Any adverse event"):
                sections.add(index)
            body.append(
                [str(row.get("soc", "")), str(row.get("term", ""))]
                + [n_pct(int(row.get(f"{group} {band}", 0) or 0), n) for band, _ in GRADE_BANDS]
            )
        out.append(
            Table(
                f"{title}: {labels.get(group, group)} (N = {n} exposed)",
                ["System organ class", "Term", *(f"{BAND_LABELS[b]}, n (%)" for b, _ in GRADE_BANDS)],
                body,
                footnote="Subjects counted once per row at their maximum CTCAE v5.0 grade; % of the exposed "
                "subjects of the group.",
                section_rows=frozenset(sections),
            )
        )
    return out


def _by_grade(title: str, rows: Rows, labels: Mapping[str, str]) -> Table:
    body = [
        [
            str(r.get("soc", "")),
            str(r.get("term", "")),
            labels.get(str(r.get("group")), str(r.get("group"))),
            str(r.get("N", 0)),
        ]
        + [n_pct(int(r.get(k, 0) or 0), int(r.get("N", 0) or 0)) for k in GRADE_KEYS]
        for r in rows
    ]
    return Table(
        title,
        [
            "System organ class",
            "Term",
            "Group",
            "N",
            "Grade 1",
            "Grade 2",
            "Grade 3",
            "Grade 4",
            "Grade 5",
            "Any grade",
            "Grade >= 3",
        ],
        body,
        footnote="n (%) of the N enrolled subjects of the group, by maximum CTCAE v5.0 grade.",
    )


def safety_report_tables(
    tables: Mapping[str, Rows], protocol: Protocol, components: Mapping[str, str] | None = None
) -> list[Table]:
    """Every safety table (raw rows from :func:`trialdesk.services.safety_report.safety_tables`) as
    report tables, in report order (tables the safety module does not name follow, titled by their key);
    a missing table is skipped."""
    labels = group_labels(protocol)
    names = dict(components) if components is not None else {c.id: c.name for c in protocol.interventions}
    exposure = list(tables.get("exposure", []))
    groups = [str(r["group"]) for r in exposure]
    exposed = {str(r["group"]): int(r["exposed"]) for r in exposure}
    out: list[Table] = []
    keys = [k for k in TABLE_TITLES if k in tables] + [k for k in tables if k not in TABLE_TITLES]
    for key in keys:
        title, rows = TABLE_TITLES.get(key, key), tables[key]
        if key.startswith("ae_by_soc_term"):
            out += _soc_term(title, rows, groups, labels, exposed)
        elif key.startswith("ae_by_term_and_max_grade"):
            out.append(_by_grade(title, rows, labels))
        else:
            out.append(_plain(title, rows, labels, names))
    return out
