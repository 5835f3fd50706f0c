"""The accounts of the demonstration database (synthetic data only; never a real deployment).

``make run`` prints them in the terminal and the login page lists them while ``Settings.demo`` is on.
"""

from __future__ import annotations

from typing import NamedTuple


class DemoAccount(NamedTuple):
    username: str
    role: str
    password: str
    site_code: str | None


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("coordinator", "coordinator", "demo-coordinator-2026", "SITE01"),
    DemoAccount("investigator", "investigator", "demo-investigator-2026", "SITE01"),
    DemoAccount("coordinator2", "coordinator", "demo-coordinator2-2026", "SITE02"),
    DemoAccount("safety", "safety_reviewer", "demo-safety-2026", None),
    DemoAccount("statistician", "statistician", "demo-statistician-2026", None),
    DemoAccount("monitor", "monitor", "demo-monitor-2026", None),
    DemoAccount("admin", "admin", "demo-admin-2026", None),
)
"""One user per role (and a coordinator of a second site), with the demo passwords."""
