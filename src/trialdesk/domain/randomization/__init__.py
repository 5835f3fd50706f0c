"""Randomization: recorded-seed DRBG, stratified permuted blocks and Pocock-Simon minimization.

References: ICH E9 (Statistical Principles for Clinical Trials) section 2.3; NIST SP 800-90A Rev. 1;
Pocock & Simon (1975) Biometrics 31:103-115.
"""

from trialdesk.domain.randomization.drbg import Drbg, new_seed
from trialdesk.domain.randomization.errors import (
    AlreadyRandomized,
    IneligibleSubject,
    RandomizationClosed,
    RandomizationError,
    StratumError,
    StratumExhausted,
)
from trialdesk.domain.randomization.minimization import MinimizationDecision, minimization_assign
from trialdesk.domain.randomization.permuted_blocks import (
    AllocationList,
    AllocationSlotSpec,
    all_strata,
    allocation_list_sha256,
    generate_allocation_list,
    stratum_key,
)

__all__ = [
    "AllocationList",
    "AllocationSlotSpec",
    "AlreadyRandomized",
    "Drbg",
    "IneligibleSubject",
    "MinimizationDecision",
    "RandomizationClosed",
    "RandomizationError",
    "StratumError",
    "StratumExhausted",
    "all_strata",
    "allocation_list_sha256",
    "generate_allocation_list",
    "minimization_assign",
    "new_seed",
    "stratum_key",
]
