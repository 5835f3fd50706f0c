"""The pure DSMB safety tables (analysis/safety_tables): built from plain records, no database."""

from __future__ import annotations

import datetime as dt

from trialdesk.analysis.safety_tables import (
    TABLE_TITLES,
    TOTAL,
    SafetyEvent,
    SafetyPopulation,
    SafetySubject,
    adverse_event_tables,
    group_key,
    group_labels,
    terms_needing_coding,
)
from trialdesk.protocols.loader import load_registry

CUTOFF = dt.date(2025, 6, 30)
RECORDED = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def _population() -> SafetyPopulation:
    protocol = load_registry().get("ivo-shfrt-2l")
    phase = protocol.design.phases[0]
    arm = phase.arms[0]
    subjects = [
        SafetySubject(1, "S-001", phase.id, arm, dt.date(2025, 1, 10), dt.date(2025, 1, 15)),
        SafetySubject(2, "S-002", phase.id, arm, dt.date(2025, 2, 1), None, dt.date(2025, 5, 1)),
        SafetySubject(3, "S-003", phase.id, arm, dt.date(2025, 8, 1), dt.date(2025, 8, 2)),  # after cut-off
    ]
    events = [
        SafetyEvent(10, 1, "Pneumonitis", 3, dt.date(2025, 2, 1), RECORDED, soc="Respiratory", related=True),
        SafetyEvent(11, 1, "Pneumonitis", 2, dt.date(2025, 7, 5), RECORDED, soc="Respiratory"),  # after
        SafetyEvent(12, 2, "sepsis?", 5, dt.date(2025, 5, 1), RECORDED, serious=True, needs_coding=True),
    ]
    return SafetyPopulation(protocol, CUTOFF, subjects, events)


def test_the_population_is_what_is_known_at_the_cutoff() -> None:
    data = _population()
    assert [s.id for s in data.subjects] == [1, 2]
    assert [e.id for e in data.events] == [10, 12]
    key = group_key(data.protocol, data.subjects[0].phase_id, data.subjects[0].arm_id)
    assert data.groups == [key, TOTAL]
    assert set(group_labels(data.protocol)) >= {key, TOTAL}


def test_tables_count_subjects_by_maximum_grade_and_use_the_callers_relatedness() -> None:
    data = _population()
    tables = adverse_event_tables(data)
    assert list(tables) == list(TABLE_TITLES)[:9]
    total = tables["exposure"][-1]
    assert total == {"group": TOTAL, "enrolled": 2, "exposed": 2, "treatment_started": 1, "deaths": 1}
    related = tables["ae_by_soc_term_treatment_related"][0]
    assert related[f"{TOTAL} any"] == 1 and related[f"{TOTAL} 3-4"] == 1
    assert [row["ae_id"] for row in tables["serious_adverse_events"]] == [12]
    assert tables["deaths"][0]["cause"] == "sepsis?" and tables["deaths"][0]["treatment_related"] is False
    assert [row["ae_id"] for row in terms_needing_coding(data)] == [12]
