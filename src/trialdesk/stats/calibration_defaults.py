"""Defaults of the one-sample log-rank calibration (:mod:`trialdesk.stats.simulation.calibration`).

Kept in a module without NumPy or SciPy so that the CLI can show them as option defaults without
loading the simulator (issue 17: an instant ``trialdesk --help``).
"""

from __future__ import annotations

DEFAULT_SIMS = 50_000
"""Trials per run (3 runs): MC SE of a type I error near 0.025 is about 0.0007."""
DEFAULT_SEED = 2015
"""Seed of the calibration run; the validation and alternative runs use ``seed + 1`` and ``seed + 2``."""
SINGLE_ARM_METHODS = ("exponential_single_arm", "wu2015")
"""The protocol ``sample_size.method`` values sized by a single-arm survival design."""
