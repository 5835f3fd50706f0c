"""Re-consent rules (:mod:`trialdesk.domain.consent`) against ICH E6(R2) good clinical practice:

* 4.8.2: "The written informed consent form ... should be revised whenever important new information
  becomes available that may be relevant to the subject's consent. Any revised written informed
  consent form ... should receive the IRB/IEC's approval/favourable opinion in advance of use. The
  subject ... should be informed in a timely manner ..." - a subject still in the trial signs the
  revised form; the product asks for it at the next visit from the version's effective date.
* 4.8.8: the form is signed and personally dated - a consent counts from its date.

The worked example: version 1.0 from 2023-01-01, version 2.0 approved for use from 2026-06-01; a
subject consented to 1.0 on 2026-02-27, treated every 21 days from 2026-03-09 (cycle 5 on
2026-06-01, cycle 6 on 2026-06-22).
"""

from __future__ import annotations

import datetime as dt

from trialdesk.domain.consent import (
    SignedConsent,
    VisitOccasion,
    latest_signed,
    reconsent_due,
    version_on,
    visits_without_reconsent,
)
from trialdesk.domain.protocol.consent import ConsentVersion

D = dt.date.fromisoformat
VERSIONS = [
    ConsentVersion(version="1.0", effective_date=D("2023-01-01"), provenance="default", rationale="first"),
    ConsentVersion(version="2.0", effective_date=D("2026-06-01"), provenance="default", rationale="revised"),
]
SCREENING = SignedConsent("1.0", D("2026-02-27"))
C4 = VisitOccasion("C4", "Cycle 4 day 1", D("2026-05-11"), done=True)
C5_OPEN = VisitOccasion("C5", "Cycle 5 day 1", D("2026-06-01"), done=False)
C5_DONE = VisitOccasion("C5", "Cycle 5 day 1", D("2026-06-01"), done=True)
C6_OPEN = VisitOccasion("C6", "Cycle 6 day 1", D("2026-06-22"), done=False)


def test_the_version_in_use_is_the_last_effective_on_the_day() -> None:
    assert version_on(VERSIONS, D("2022-12-31")) is None
    assert version_on(VERSIONS, D("2026-05-31")) == VERSIONS[0]
    assert version_on(VERSIONS, D("2026-06-01")) == VERSIONS[1]  # in use from its effective date


def test_latest_signed_follows_protocol_order_not_dates() -> None:
    signed = [SignedConsent("2.0", D("2026-06-05")), SCREENING, SignedConsent("9.9", D("2026-07-01"))]
    assert latest_signed(VERSIONS, signed) == "2.0"
    assert latest_signed(VERSIONS, []) is None


def test_no_reconsent_before_the_new_version_is_in_use() -> None:
    assert reconsent_due(VERSIONS, [SCREENING], [C4, C5_OPEN], D("2026-05-31")) is None


def test_reconsent_is_due_at_the_first_visit_from_the_effective_date() -> None:
    due = reconsent_due(VERSIONS, [SCREENING], [C4, C5_OPEN, C6_OPEN], D("2026-06-01"))
    assert due is not None
    assert (due.version, due.latest_signed, due.visit, due.overdue) == ("2.0", "1.0", C5_OPEN, False)


def test_overdue_once_that_visit_has_passed_without_reconsent() -> None:
    done_yesterday = reconsent_due(VERSIONS, [SCREENING], [C5_DONE, C6_OPEN], D("2026-06-02"))
    assert done_yesterday is not None and done_yesterday.overdue
    window_passed = VisitOccasion("C5", "Cycle 5 day 1", D("2026-06-01"), done=False, overdue=True)
    late = reconsent_due(VERSIONS, [SCREENING], [window_passed], D("2026-06-10"))
    assert late is not None and late.overdue
    done_today = reconsent_due(VERSIONS, [SCREENING], [C5_DONE], D("2026-06-01"))
    assert done_today is not None and not done_today.overdue  # re-consent at today's visit


def test_no_visit_planned_means_due_at_the_next_contact() -> None:
    due = reconsent_due(VERSIONS, [SCREENING], [], D("2026-07-01"))
    assert due is not None and due.visit is None and not due.overdue


def test_signing_the_current_version_clears_the_flag() -> None:
    signed = [SCREENING, SignedConsent("2.0", D("2026-06-01"))]
    assert reconsent_due(VERSIONS, signed, [C5_DONE, C6_OPEN], D("2026-06-10")) is None


def test_a_visit_done_before_reconsent_is_a_deviation_once_per_version() -> None:
    late = [SCREENING, SignedConsent("2.0", D("2026-06-22"))]
    c6 = VisitOccasion("C6", "Cycle 6 day 1", D("2026-06-22"), done=True)
    assert visits_without_reconsent(VERSIONS, late, [C4, C5_DONE, c6]) == [(C5_DONE, VERSIONS[1])]
    on_time = [SCREENING, SignedConsent("2.0", D("2026-06-01"))]
    assert visits_without_reconsent(VERSIONS, on_time, [C4, C5_DONE, c6]) == []
    never = [SCREENING]
    assert visits_without_reconsent(VERSIONS, never, [C4, C5_DONE, c6]) == [(C5_DONE, VERSIONS[1])]
    assert visits_without_reconsent(VERSIONS, [], [C5_DONE]) == []  # no consent known: not judged
