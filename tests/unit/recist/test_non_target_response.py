"""RECIST 1.1 s4.3.2 non-target response at one time point (Eisenhauer 2009)."""

from __future__ import annotations

import pytest

from tests.unit.recist.helpers import non_target
from trialdesk.domain.recist.assessment import NonTargetStatus
from trialdesk.domain.recist.timepoint import non_target_response

LESIONS = [non_target("NT1"), non_target("NT2", site="lymph node", nodal=True, mm=12)]


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("absent", "absent", "CR"),
        ("present", "absent", "NON-CR/NON-PD"),
        ("present", "present", "NON-CR/NON-PD"),
        ("unequivocal_progression", "absent", "PD"),
        ("unequivocal_progression", None, "PD"),
        ("increased", "present", "PD"),
        (None, "absent", "NE"),
        ("present", None, "NE"),
    ],
)
def test_non_target_response_categories(
    first: NonTargetStatus | None, second: NonTargetStatus | None, expected: str
) -> None:
    assert non_target_response(LESIONS, {"NT1": first, "NT2": second}) == expected


def test_unreviewed_non_target_lesion_blocks_cr() -> None:
    assert non_target_response(LESIONS, {"NT1": "absent"}) == "NE"


def test_no_non_target_disease_gives_no_non_target_response() -> None:
    assert non_target_response([], {}) is None
