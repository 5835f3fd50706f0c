"""Response-assessment parameters (protocol choices, with documented defaults).

RECIST 1.1 (Eisenhauer 2009) s4.4 leaves confirmation and the minimum duration of stable disease to
the protocol; iRECIST (Seymour 2017) sets the window for confirming progression. The defaults
below follow those texts; a protocol file overrides them through :class:`TumourAssessment`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.protocol.model import LesionCounting, TumourAssessment

Rules = Literal["recist1.1", "irecist"]


class ResponseSettings(FrozenModel):
    """Parameters of the RECIST 1.1 / iRECIST response derivation.

    * ``confirmation_required``: CR/PR must be confirmed by a later assessment (RECIST 1.1 s4.4:
      required in non-randomised trials where response is an endpoint).
    * ``confirmation_min_days``: the confirming assessment is at least this many days after the
      first CR/PR (RECIST 1.1 s4.4: >= 4 weeks).
    * ``sd_min_days``: stable disease counts for best response only at or after this many days
      from baseline (RECIST 1.1 s4.4: protocol-defined, generally 6-8 weeks; default 6 weeks).
    * ``confirmation_max_ne`` / ``confirmation_accept_sd``: NE / SD time points allowed between a
      response and its confirmation (admiralonco ``derive_param_confirmed_bor`` defaults: 1 and none).
    * ``reappearance_after_cr``: ``progression`` (RECIST 1.1 Table 3 footnote and EORTC FAQ: after an
      overall CR, any reappearing disease is PD) or ``as_measured`` (time points keep the category
      their measurements give, as admiralonco does).
    * ``too_small_mm``: value of a lesion present but too small to measure (RECIST 1.1 s4.3 note).
    * ``icpd_min_days`` / ``icpd_tolerance_days``: iRECIST confirms iUPD at the next assessment
      >= 4 weeks later (2-day tolerance); earlier scans confirm only with an additional new lesion.
    * ``icpd_max_days``: iRECIST recommends confirming within 8 weeks; later scans still confirm but
      the time point notes it.
    """

    confirmation_required: bool = True
    confirmation_min_days: int = Field(default=28, ge=1)
    sd_min_days: int = Field(default=42, ge=0)
    lesion_counting: LesionCounting = Field(default_factory=LesionCounting)
    confirmation_max_ne: int = Field(default=1, ge=0)
    confirmation_accept_sd: bool = False
    reappearance_after_cr: Literal["progression", "as_measured"] = "progression"
    too_small_mm: float = Field(default=5.0, gt=0)
    icpd_min_days: int = Field(default=28, ge=0)
    icpd_tolerance_days: int = Field(default=2, ge=0)
    icpd_max_days: int = Field(default=56, ge=1)

    @classmethod
    def from_tumour_assessment(
        cls, assessment: TumourAssessment, *, confirmation_required: bool | None = None
    ) -> ResponseSettings:
        """Settings from a protocol's tumour-assessment section; an explicit confirmation flag wins."""
        required = assessment.confirmation_required.value
        return cls(
            confirmation_required=required if confirmation_required is None else confirmation_required,
            confirmation_min_days=assessment.confirmation_min_days.value,
            sd_min_days=assessment.sd_min_days.value,
            lesion_counting=assessment.lesion_counting,
        )
