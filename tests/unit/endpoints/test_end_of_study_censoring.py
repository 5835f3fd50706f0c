"""PFS and OS of subjects whose treatment ended or who left the study (issue 13).

References: FDA 2018 guidance "Clinical Trial Endpoints for the Approval of Cancer Drugs and
Biologics", table of PFS censoring (treatment discontinuation for toxicity or another reason is not a
PFS event nor a censoring: the subject is followed to progression; no progression -> censored at the
last adequate radiological assessment) and section on OS (censored at the last date the subject was
known to be alive). A subject who left the study is followed no further: progression or death recorded
after the end of study is not a PFS event, and OS is censored at the end of study (lost to follow-up:
at the last date known alive when earlier). Seed 000 imaging every 42 days (tests/unit/endpoints/helpers).
"""

from __future__ import annotations

import datetime as dt

from tests.unit.endpoints.helpers import day, protocol, scan, subject
from trialdesk.domain.endpoints import SubjectEndpointData, TimeToEventRecord, derive_endpoints

CUTOFF = dt.date(2027, 1, 1)
WITHDRAWN = {"discontinuation_date": day(100), "discontinuation_reason": "withdrawal of consent"}
LOST = {"discontinuation_date": day(100), "discontinuation_reason": "lost to follow-up"}


def record(one: SubjectEndpointData, param: str, cutoff: dt.date = CUTOFF) -> TimeToEventRecord:
    (found,) = derive_endpoints(protocol(), [one], cutoff).records(param)  # type: ignore[arg-type]
    return found


def outcome(found: TimeToEventRecord) -> tuple[bool, dt.date, str]:
    return found.event, found.event_or_censor_date, found.rule


def test_end_of_treatment_for_toxicity_leaves_pfs_to_the_progression() -> None:
    """FDA 2018 PFS table: "treatment discontinuation for toxicity" does not stop the PFS follow-up."""
    one = subject(
        scans=[scan(42, 48.0), scan(84, 47.0), scan(126, 70.0)],
        treatment_end=day(50),
        off_treatment_reason="adverse event",
    )
    assert outcome(record(one, "PFS")) == (True, day(126), "event: RECIST progression")


def test_progression_recorded_after_the_end_of_study_is_not_an_event() -> None:
    one = subject(scans=[scan(42, 48.0), scan(84, 47.0), scan(126, 70.0)], **WITHDRAWN)
    assert outcome(record(one, "PFS")) == (
        False,
        day(84),
        "censored: end of study (withdrawal of consent) before progression",
    )


def test_no_event_before_the_end_of_study_keeps_the_usual_censoring() -> None:
    one = subject(scans=[scan(42, 48.0), scan(84, 47.0)], **WITHDRAWN)
    assert outcome(record(one, "PFS")) == (False, day(84), "censored: last adequate assessment")
    before = subject(scans=[scan(42, 48.0), scan(84, 70.0)], **WITHDRAWN)  # progression first: an event
    assert outcome(record(before, "PFS")) == (True, day(84), "event: RECIST progression")


def test_os_of_a_withdrawn_subject_is_censored_at_the_end_of_study() -> None:
    later = subject(last_known_alive_date=day(150), **WITHDRAWN)  # a date after the exit is not follow-up
    assert outcome(record(later, "OS")) == (False, day(100), "censored: end of study (withdrawal of consent)")
    earlier = subject(last_known_alive_date=day(60), **WITHDRAWN)  # alive on the day of withdrawal
    assert outcome(record(earlier, "OS")) == (
        False,
        day(100),
        "censored: end of study (withdrawal of consent)",
    )


def test_os_of_a_subject_lost_to_follow_up_is_censored_when_last_known_alive() -> None:
    silent = subject(last_known_alive_date=day(60), **LOST)
    assert outcome(record(silent, "OS")) == (False, day(60), "censored: last known alive")
    seen = subject(last_known_alive_date=day(100), **LOST)
    assert outcome(record(seen, "OS")) == (False, day(100), "censored: end of study (lost to follow-up)")


def test_a_death_after_withdrawal_stays_an_os_event_and_a_later_exit_waits_for_the_cutoff() -> None:
    dead = subject(death_date=day(200), **WITHDRAWN)
    assert outcome(record(dead, "OS")) == (True, day(200), "event: death")
    alive = subject(last_known_alive_date=day(150), **WITHDRAWN)
    assert outcome(record(alive, "OS", cutoff=day(90))) == (False, day(90), "censored: data cut-off")
