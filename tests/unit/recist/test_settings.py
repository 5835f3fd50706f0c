"""Response settings: defaults from RECIST 1.1 s4.4 and values from a protocol's tumour-assessment section."""

from __future__ import annotations

from trialdesk.domain.protocol.model import LesionCounting, Parameter, TumourAssessment
from trialdesk.domain.recist import ResponseSettings


def _assessment(confirm: bool) -> TumourAssessment:
    def param(value: object) -> Parameter[object]:
        return Parameter(value=value, provenance="default", rationale="test value")

    return TumourAssessment(
        irecist=True,
        confirmation_required=param(confirm),
        confirmation_min_days=param(30),
        sd_min_days=param(56),
        imaging_interval_weeks=param(8),
        baseline_window_days=param(28),
        lesion_counting=LesionCounting(regional_nodes="single_lesion", source="seed 000"),
    )


def test_defaults_follow_recist_1_1() -> None:
    settings = ResponseSettings()
    assert (settings.confirmation_min_days, settings.sd_min_days, settings.too_small_mm) == (28, 42, 5.0)
    assert settings.lesion_counting == LesionCounting()


def test_settings_from_protocol_tumour_assessment() -> None:
    settings = ResponseSettings.from_tumour_assessment(_assessment(True))
    assert settings.confirmation_required is True
    assert (settings.confirmation_min_days, settings.sd_min_days) == (30, 56)
    assert settings.lesion_counting.regional_nodes == "single_lesion"


def test_explicit_confirmation_flag_wins_over_the_protocol() -> None:
    settings = ResponseSettings.from_tumour_assessment(_assessment(True), confirmation_required=False)
    assert settings.confirmation_required is False
