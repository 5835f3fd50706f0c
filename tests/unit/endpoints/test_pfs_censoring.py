"""PFS: each FDA 2018 censoring rule and each edge case, with the rule that produced the date."""

from __future__ import annotations

import datetime as dt

from tests.unit.endpoints.helpers import ORIGIN, day, protocol, scan, subject
from trialdesk.domain.endpoints import TimeToEventRecord, derive_endpoints

CUTOFF = dt.date(2027, 1, 1)


def pfs(*subjects_: object, protocol_id: str = "ivo-shfrt-2l", **analysis: object) -> TimeToEventRecord:
    dataset = derive_endpoints(protocol(protocol_id, **analysis), list(subjects_), CUTOFF)  # type: ignore[arg-type]
    (record,) = dataset.records("PFS")
    return record


def test_progression_at_the_first_assessment_is_an_event_on_that_scan() -> None:
    record = pfs(subject(scans=[scan(42, 70.0)]))
    assert record.event is True
    assert record.event_or_censor_date == day(42)
    assert record.aval_days == 42
    assert record.aval_months == 42 / 30.4375
    assert record.rule == "event: RECIST progression"
    assert record.start_date == ORIGIN


def test_progression_by_new_lesion_is_an_event() -> None:
    record = pfs(subject(scans=[scan(42, 48.0), scan(84, 47.0, new_lesion=True)]))
    assert (record.event, record.event_or_censor_date, record.rule) == (
        True,
        day(84),
        "event: RECIST progression",
    )


def test_death_without_progression_is_an_event_on_the_death_date() -> None:
    record = pfs(subject(scans=[scan(42, 48.0), scan(84, 47.0)], death_date=day(100)))
    assert (record.event, record.event_or_censor_date, record.rule) == (True, day(100), "event: death")


def test_progression_and_death_on_the_same_day_is_a_progression() -> None:
    record = pfs(subject(scans=[scan(42, 70.0)], death_date=day(42)))
    assert (record.event, record.rule) == (True, "event: RECIST progression")


def test_no_event_is_censored_at_the_last_adequate_assessment() -> None:
    record = pfs(subject(scans=[scan(42, 48.0), scan(84, 47.0)], last_known_alive_date=day(120)))
    assert (record.event, record.event_or_censor_date) == (False, day(84))
    assert record.rule == "censored: last adequate assessment"


def test_a_not_evaluable_scan_is_not_an_adequate_assessment() -> None:
    record = pfs(subject(scans=[scan(42, 48.0), scan(84, 47.0), scan(126, None)]))
    assert (record.event, record.event_or_censor_date) == (False, day(84))
    assert record.rule == "censored: last adequate assessment"


def test_no_post_baseline_assessment_is_censored_at_the_origin() -> None:
    record = pfs(subject(scans=[]))
    assert (record.event, record.event_or_censor_date, record.aval_days) == (False, ORIGIN, 0)
    assert record.rule == "censored: no post-baseline assessment"


def test_only_not_evaluable_scans_count_as_no_post_baseline_assessment() -> None:
    record = pfs(subject(scans=[scan(42, None)]))
    assert (record.event, record.rule) == (False, "censored: no post-baseline assessment")


def test_no_post_baseline_assessment_with_early_death_is_an_event() -> None:
    # 2 intervals of 42 days + 7-day window = 91 days: a death on day 91 counts, on day 92 does not.
    early = pfs(subject(scans=[], death_date=day(91)))
    assert (early.event, early.event_or_censor_date) == (True, day(91))
    assert early.rule == "event: death with no post-baseline assessment (within 2 intervals)"
    late = pfs(subject(scans=[], death_date=day(92)))
    assert (late.event, late.event_or_censor_date) == (False, ORIGIN)
    assert late.rule == "censored: no post-baseline assessment"


def test_no_post_baseline_rule_can_ignore_early_deaths() -> None:
    record = pfs(subject(scans=[], death_date=day(30)), no_post_baseline_assessment="censor_at_origin")
    assert (record.event, record.rule) == (False, "censored: no post-baseline assessment")


def test_no_baseline_assessment_is_censored_at_the_origin_even_after_progression_or_death() -> None:
    record = pfs(subject(no_baseline=True, death_date=day(30)))
    assert (record.event, record.event_or_censor_date) == (False, ORIGIN)
    assert record.rule == "censored: no baseline assessment"


def test_no_baseline_rule_can_count_early_deaths() -> None:
    record = pfs(
        subject(no_baseline=True, death_date=day(30)),
        no_baseline_assessment="censor_at_origin_unless_early_death",
    )
    assert (record.event, record.event_or_censor_date) == (True, day(30))


def test_new_anticancer_therapy_before_progression_is_censored_at_the_last_assessment_before_it() -> None:
    s = subject(scans=[scan(42, 48.0), scan(84, 47.0), scan(126, 70.0)], new_anticancer_therapy_date=day(100))
    record = pfs(s)
    assert (record.event, record.event_or_censor_date) == (False, day(84))
    assert record.rule == "censored: new anticancer therapy before progression"
    # The assessment on the day the new therapy starts still counts (on or before).
    same_day = pfs(subject(scans=[scan(42, 48.0), scan(84, 47.0)], new_anticancer_therapy_date=day(84)))
    assert same_day.event_or_censor_date == day(84)


def test_new_anticancer_therapy_rule_switched_off_keeps_the_progression() -> None:
    s = subject(scans=[scan(42, 48.0), scan(84, 47.0), scan(126, 70.0)], new_anticancer_therapy_date=day(100))
    record = pfs(s, censor_at_new_anticancer_therapy=False)
    assert (record.event, record.event_or_censor_date, record.rule) == (
        True,
        day(126),
        "event: RECIST progression",
    )


def test_new_anticancer_therapy_after_progression_does_not_censor() -> None:
    s = subject(scans=[scan(42, 70.0)], new_anticancer_therapy_date=day(60))
    assert pfs(s).event is True


def test_new_therapy_then_death_without_assessments_is_censored() -> None:
    s = subject(scans=[], new_anticancer_therapy_date=day(20), death_date=day(40))
    record = pfs(s)
    assert (record.event, record.event_or_censor_date) == (False, ORIGIN)


def test_progression_after_two_missed_assessments_is_censored_at_the_last_adequate_assessment() -> None:
    # Scans due on days 84 and 126 were missed; PD found on day 168 (126 days after day 42 > 91).
    record = pfs(subject(scans=[scan(42, 48.0), scan(168, 70.0)]))
    assert (record.event, record.event_or_censor_date) == (False, day(42))
    assert record.rule == "censored: >=2 missed assessments before the event"


def test_progression_after_one_missed_assessment_is_an_event() -> None:
    record = pfs(subject(scans=[scan(42, 48.0), scan(126, 70.0)]))  # 84 days after day 42 <= 91
    assert (record.event, record.event_or_censor_date) == (True, day(126))


def test_death_after_two_missed_assessments_is_censored() -> None:
    record = pfs(subject(scans=[scan(42, 48.0)], death_date=day(134)))  # 92 days after day 42
    assert (record.event, record.event_or_censor_date) == (False, day(42))
    assert record.rule == "censored: >=2 missed assessments before the event"
    on_time = pfs(subject(scans=[scan(42, 48.0)], death_date=day(133)))  # 91 days: still an event
    assert (on_time.event, on_time.rule) == (True, "event: death")


def test_missed_assessment_threshold_is_a_protocol_parameter() -> None:
    s = subject(scans=[scan(42, 48.0), scan(168, 70.0)])
    record = pfs(s, max_missed_assessments=3)  # 3 x 42 + 7 = 133 >= 126
    assert (record.event, record.event_or_censor_date) == (True, day(168))
    strict = pfs(subject(scans=[scan(42, 48.0), scan(126, 70.0)]), max_missed_assessments=1)
    assert strict.rule == "censored: >=1 missed assessments before the event"


def test_not_evaluable_scans_between_count_as_missed() -> None:
    record = pfs(subject(scans=[scan(42, 48.0), scan(84, None), scan(126, None), scan(168, 70.0)]))
    assert (record.event, record.event_or_censor_date) == (False, day(42))


def test_randomized_protocol_uses_its_own_imaging_interval() -> None:
    s = subject(scans=[scan(42, 48.0), scan(168, 70.0)], arm="A", phase_id="iib", strata={"ecog": "0"})
    record = pfs(s, protocol_id="scr-escc-01")
    assert record.rule == "censored: >=2 missed assessments before the event"


def test_missed_assessments_come_from_the_calendar_not_from_the_gap_between_scans() -> None:
    # The week-6 scan was done late (day 60, outside its +/-7-day window); the week-12 (day 84) and
    # week-18 (day 126) assessments were never done; progression on day 150. Only 90 days separate
    # the scans (the old gap rule, 2 x 42 + 7 = 91, saw an event), but the calendar shows two
    # scheduled assessments missed: censored at the last adequate assessment.
    record = pfs(subject(scans=[scan(60, 48.0), scan(150, 70.0)]))
    assert (record.event, record.event_or_censor_date) == (False, day(60))
    assert record.rule == "censored: >=2 missed assessments before the event"


def test_the_calendar_runs_from_treatment_start() -> None:
    # Treatment started 20 days after enrolment: assessments are due on days 62, 104, 146. Scans on
    # day 62 and, after missing day 104 only, progression on day 146: an event.
    record = pfs(subject(scans=[scan(62, 48.0), scan(146, 70.0)], treatment_start=day(20)))
    assert (record.event, record.event_or_censor_date) == (True, day(146))
