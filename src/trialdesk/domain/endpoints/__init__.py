"""Endpoint derivation (PFS, OS, DOR, TTR, best overall response) at a data cut-off; pure, no I/O.

In the spirit of CDISC ADaM ADTTE / ADRS: one record per subject and parameter, each naming the
rule that produced its date. Censoring rules follow FDA (2018) "Clinical Trial Endpoints for the
Approval of Cancer Drugs and Biologics" and are protocol parameters (``Protocol.analysis``).
"""

from trialdesk.domain.endpoints.cutoff import apply_cutoff
from trialdesk.domain.endpoints.derivation import DerivationRules, derive_endpoints
from trialdesk.domain.endpoints.model import (
    DAYS_PER_MONTH,
    AnalysisDataset,
    ResponseRecord,
    SubjectEndpointData,
    TimeToEventRecord,
    TteParam,
    TumourData,
)

__all__ = [
    "DAYS_PER_MONTH",
    "AnalysisDataset",
    "DerivationRules",
    "ResponseRecord",
    "SubjectEndpointData",
    "TimeToEventRecord",
    "TteParam",
    "TumourData",
    "apply_cutoff",
    "derive_endpoints",
]
