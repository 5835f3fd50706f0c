"""The accounts of the demonstration database (synthetic data only; never a real deployment).

``make run`` prints them in the terminal and the login page lists them while ``Settings.demo`` is on.
"""

from __future__ import annotations

from typing import NamedTuple


class DemoAccount(NamedTuple):
    """One demo user: sign in with ``username`` and ``password``."""

    username: str
    role: str
    password: str
    site_code: str | None
    """The code of the account's site (None: a role that sees every site)."""


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("coordinator", "coordinator", "demo-site1-coord-2026", "SITE01"),
    DemoAccount("investigator", "investigator", "demo-site1-inv-2026", "SITE01"),
    DemoAccount("coordinator2", "coordinator", "demo-site2-coord-2026", "SITE02"),
    DemoAccount("investigator2", "investigator", "demo-site2-inv-2026", "SITE02"),
    DemoAccount("safety", "safety_reviewer", "demo-dsmb-review-2026", None),
    DemoAccount("statistician", "statistician", "demo-biostat-2026", None),
    DemoAccount("monitor", "monitor", "demo-cra-visit-2026", None),
    DemoAccount("datamanager", "data_manager", "demo-clean-data-2026", None),
    DemoAccount("admin", "admin", "demo-sysadm-2026", None),
)
"""One user per role (and a coordinator and an investigator of a second site), with the demo passwords
(12 characters or more). Site accounts belong to the site of that code in every trial that has one."""

DEMO_SITES: tuple[tuple[str, str], ...] = (
    ("SITE01", "Demo Hospital 1 (synthetic)"),
    ("SITE02", "Demo Hospital 2 (synthetic)"),
)
"""The synthetic sites (code, name); a single-centre trial has the first one only."""


def demo_account(role: str, site_code: str | None = None) -> DemoAccount:
    """The demo account of ``role`` (at ``site_code`` for a site role)."""
    for account in DEMO_ACCOUNTS:
        if account.role == role and (site_code is None or account.site_code == site_code):
            return account
    raise LookupError(f"no demo account for {role} at {site_code or 'all sites'}")
