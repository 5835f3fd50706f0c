"""OS, best response (ORR/DCR), DOR and TTR among responders, and the data cut-off."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.endpoints.helpers import ORIGIN, day, protocol, scan, subject
from trialdesk.domain.endpoints import AnalysisDataset, SubjectEndpointData, apply_cutoff, derive_endpoints

CUTOFF = dt.date(2027, 1, 1)


def derive(
    *subjects_: SubjectEndpointData, cutoff: dt.date = CUTOFF, protocol_id: str = "ivo-shfrt-2l"
) -> AnalysisDataset:
    return derive_endpoints(protocol(protocol_id), list(subjects_), cutoff)


# ---- OS ----


def test_os_death_is_an_event() -> None:
    (record,) = derive(subject(death_date=day(200))).records("OS")
    assert (record.event, record.aval_days, record.rule) == (True, 200, "event: death")


def test_os_alive_is_censored_at_last_known_alive() -> None:
    (record,) = derive(subject(last_known_alive_date=day(150))).records("OS")
    assert (record.event, record.event_or_censor_date, record.rule) == (
        False,
        day(150),
        "censored: last known alive",
    )


def test_os_alive_at_cutoff_is_censored_at_the_cutoff() -> None:
    (record,) = derive(subject(last_known_alive_date=day(400)), cutoff=day(300)).records("OS")
    assert (record.event, record.event_or_censor_date, record.rule) == (
        False,
        day(300),
        "censored: data cut-off",
    )


def test_os_without_last_known_alive_uses_the_latest_recorded_date() -> None:
    (record,) = derive(subject(scans=[scan(42, 48.0), scan(84, 47.0)])).records("OS")
    assert (record.event_or_censor_date, record.rule) == (day(84), "censored: last known alive")


# ---- best overall response, ORR and DCR ----


def test_confirmed_partial_response_is_a_responder_with_dor_and_ttr() -> None:
    # PR (-40 %) on day 42, confirmed on day 84, PD on day 168 (84 days after the last scan: an event).
    dataset = derive(subject(scans=[scan(42, 30.0), scan(84, 29.0), scan(168, 45.0)]))
    (response,) = dataset.responses
    assert (response.bor, response.confirmed, response.responder, response.disease_control) == (
        "PR",
        True,
        True,
        True,
    )
    (dor,) = dataset.records("DOR")
    assert (dor.start_date, dor.event_or_censor_date, dor.aval_days, dor.event) == (
        day(42),
        day(168),
        126,
        True,
    )
    assert dor.rule == "event: RECIST progression"
    (ttr,) = dataset.records("TTR")
    assert (ttr.start_date, ttr.aval_days, ttr.event, ttr.rule) == (
        ORIGIN,
        42,
        True,
        "event: first documented response",
    )


def test_response_never_confirmed_is_not_a_responder() -> None:
    # PR on day 42, PD on day 84: unconfirmed; counts as SD (>= 42 days after the baseline scan).
    dataset = derive(subject(scans=[scan(42, 30.0), scan(84, 45.0)]))
    (response,) = dataset.responses
    assert (response.bor, response.responder, response.disease_control) == ("SD", False, True)
    assert dataset.records("DOR") == [] and dataset.records("TTR") == []


def test_unconfirmed_response_counts_when_the_protocol_requires_no_confirmation() -> None:
    s = subject(scans=[scan(42, 30.0), scan(84, 45.0)], arm="A", phase_id="iib")
    dataset = derive(s, protocol_id="scr-escc-01")
    (response,) = dataset.responses
    assert (response.bor, response.responder) == ("PR", True)
    (dor,) = dataset.records("DOR")
    assert (dor.aval_days, dor.event) == (42, True)


def test_dor_is_censored_with_the_pfs_rules() -> None:
    s = subject(
        scans=[scan(42, 30.0), scan(84, 29.0), scan(126, 28.0)],
        new_anticancer_therapy_date=day(140),
        death_date=day(150),
    )
    (dor,) = derive(s).records("DOR")
    assert (dor.event, dor.event_or_censor_date, dor.aval_days) == (False, day(126), 84)
    assert dor.rule == "censored: new anticancer therapy before progression"


def test_progressive_disease_and_missing_and_no_baseline_are_not_disease_control() -> None:
    dataset = derive(
        subject("P1", scans=[scan(42, 70.0)]),
        subject("P2", scans=[]),
        subject("P3", no_baseline=True),
        subject("P4", scans=[scan(42, 48.0), scan(84, 47.0)]),
    )
    bor = {r.subject_id: (r.bor, r.disease_control) for r in dataset.responses}
    assert bor == {
        "P1": ("PD", False),
        "P2": ("MISSING", False),
        "P3": ("NO BASELINE", False),
        "P4": ("SD", True),
    }


def test_stable_disease_before_the_minimum_duration_is_not_disease_control() -> None:
    # The only evaluable scan is 35 days after baseline (< 42-day SD minimum): BOR NE.
    (response,) = derive(subject(scans=[scan(28, 48.0)])).responses
    assert (response.bor, response.disease_control) == ("NE", False)


# ---- data cut-off ----


def test_cutoff_drops_the_later_progression_and_death() -> None:
    s = subject(scans=[scan(42, 48.0), scan(84, 47.0), scan(126, 70.0)], death_date=day(200))
    dataset = derive(s, cutoff=day(100))
    (pfs,) = dataset.records("PFS")
    assert (pfs.event, pfs.event_or_censor_date, pfs.rule) == (
        False,
        day(84),
        "censored: last adequate assessment",
    )
    (os_,) = dataset.records("OS")
    assert (os_.event, os_.event_or_censor_date, os_.rule) == (False, day(100), "censored: data cut-off")


def test_cutoff_keeps_an_event_on_the_cutoff_day() -> None:
    (pfs,) = derive(subject(scans=[scan(42, 70.0)]), cutoff=day(42)).records("PFS")
    assert (pfs.event, pfs.event_or_censor_date) == (True, day(42))


def test_confirmation_after_the_cutoff_does_not_count() -> None:
    s = subject(scans=[scan(42, 30.0), scan(84, 29.0)])
    assert derive(s, cutoff=day(83)).responses[0].responder is False
    assert derive(s, cutoff=day(84)).responses[0].responder is True


def test_subject_enrolled_after_the_cutoff_is_left_out() -> None:
    late = subject("LATE", origin_date=day(50), treatment_start=day(50))
    dataset = derive(subject("EARLY"), late, cutoff=day(40))
    assert [r.subject_id for r in dataset.responses] == ["EARLY"]
    assert dataset.excluded_after_cutoff == ["LATE"]
    assert {r.subject_id for r in dataset.time_to_event} == {"EARLY"}


def test_cutoff_truncates_treatment_and_new_therapy() -> None:
    s = subject(
        treatment_end=day(300), off_treatment_reason="progression", new_anticancer_therapy_date=day(310)
    )
    cut = apply_cutoff(s, day(200))
    assert cut is not None
    assert (cut.treatment_end, cut.off_treatment_reason, cut.new_anticancer_therapy_date) == (
        None,
        None,
        None,
    )
    assert cut.last_known_alive_date is None


def test_derivation_at_a_cutoff_equals_derivation_of_the_data_known_then() -> None:
    full = subject(
        scans=[scan(42, 30.0), scan(84, 29.0), scan(126, 31.0), scan(168, 45.0)],
        death_date=day(250),
        last_known_alive_date=day(240),
        new_anticancer_therapy_date=day(190),
    )
    known_then = subject(
        scans=[scan(42, 30.0), scan(84, 29.0), scan(126, 31.0)], last_known_alive_date=day(130)
    )
    at_cutoff = derive(full, cutoff=day(130))
    assert at_cutoff.time_to_event == derive(known_then, cutoff=day(130)).time_to_event
    assert at_cutoff.responses == derive(known_then, cutoff=day(130)).responses
    assert derive(full, cutoff=day(130)) == at_cutoff  # reproducible


def test_duplicate_subject_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate subject id"):
        derive(subject("S1"), subject("S1"))
