"""User roles and what each may do (pure policy; the API and CLI enforce it).

Site roles (coordinator, investigator) see and change only subjects of their own sites; the other
roles are cross-site. Admins manage users and sites and never edit clinical data.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The roles of the trial system."""

    COORDINATOR = "coordinator"
    INVESTIGATOR = "investigator"
    STATISTICIAN = "statistician"
    SAFETY_REVIEWER = "safety_reviewer"
    MONITOR = "monitor"
    DATA_MANAGER = "data_manager"
    ADMIN = "admin"


class Capability(StrEnum):
    """Actions guarded by role."""

    MANAGE_USERS_AND_SITES = "manage_users_and_sites"
    READ_SUBJECTS = "read_subjects"
    SCREEN = "screen"
    ENTER_DATA = "enter_data"
    ATTEST = "attest"
    SIGN_ENROLMENT = "sign_enrolment"
    RANDOMIZE = "randomize"
    GENERATE_RANDOMIZATION_LIST = "generate_randomization_list"
    VIEW_ALLOCATION_LIST = "view_allocation_list"
    SIGN_PHASE_GATE = "sign_phase_gate"
    READ_AUDIT = "read_audit"
    OVERRIDE_ENROLMENT_LIMIT = "override_enrolment_limit"
    RUN_ANALYSES = "run_analyses"
    RAISE_QUERY = "raise_query"
    ANSWER_QUERY = "answer_query"
    CLOSE_QUERY = "close_query"
    RUN_CHECKS = "run_checks"
    VERIFY_SOURCE = "verify_source"
    SIGN_CASEBOOK = "sign_casebook"
    FREEZE_DATA = "freeze_data"
    LOCK_DATA = "lock_data"
    UNLOCK_DATA = "unlock_data"


SITE_ROLES: frozenset[Role] = frozenset({Role.COORDINATOR, Role.INVESTIGATOR})
"""Roles limited to the subjects of their own sites."""

PERMISSIONS: dict[Capability, frozenset[Role]] = {
    Capability.MANAGE_USERS_AND_SITES: frozenset({Role.ADMIN}),
    Capability.READ_SUBJECTS: frozenset(
        {
            Role.COORDINATOR,
            Role.INVESTIGATOR,
            Role.STATISTICIAN,
            Role.SAFETY_REVIEWER,
            Role.MONITOR,
            Role.DATA_MANAGER,
        }
    ),
    Capability.SCREEN: frozenset({Role.COORDINATOR, Role.INVESTIGATOR}),
    Capability.ENTER_DATA: frozenset({Role.COORDINATOR, Role.INVESTIGATOR}),
    Capability.ATTEST: frozenset({Role.INVESTIGATOR}),
    Capability.SIGN_ENROLMENT: frozenset({Role.INVESTIGATOR}),
    Capability.RANDOMIZE: frozenset({Role.COORDINATOR, Role.INVESTIGATOR}),
    Capability.GENERATE_RANDOMIZATION_LIST: frozenset({Role.STATISTICIAN}),
    Capability.VIEW_ALLOCATION_LIST: frozenset({Role.STATISTICIAN}),
    Capability.SIGN_PHASE_GATE: frozenset({Role.SAFETY_REVIEWER}),
    Capability.READ_AUDIT: frozenset({Role.MONITOR, Role.DATA_MANAGER, Role.ADMIN}),
    Capability.OVERRIDE_ENROLMENT_LIMIT: frozenset({Role.ADMIN}),
    Capability.RUN_ANALYSES: frozenset({Role.STATISTICIAN, Role.SAFETY_REVIEWER, Role.MONITOR}),
    # Data management (issue 14): the data manager reads every site, raises and closes queries, runs the
    # edit checks, freezes and locks, and never enters clinical values; site staff answer queries.
    Capability.RAISE_QUERY: frozenset({Role.MONITOR, Role.DATA_MANAGER}),
    Capability.ANSWER_QUERY: frozenset({Role.COORDINATOR, Role.INVESTIGATOR}),
    Capability.CLOSE_QUERY: frozenset({Role.MONITOR, Role.DATA_MANAGER}),
    Capability.RUN_CHECKS: frozenset({Role.DATA_MANAGER}),
    Capability.VERIFY_SOURCE: frozenset({Role.MONITOR}),
    Capability.SIGN_CASEBOOK: frozenset({Role.INVESTIGATOR}),
    Capability.FREEZE_DATA: frozenset({Role.DATA_MANAGER, Role.MONITOR}),
    Capability.LOCK_DATA: frozenset({Role.DATA_MANAGER}),
    Capability.UNLOCK_DATA: frozenset({Role.DATA_MANAGER, Role.STATISTICIAN}),
}
"""Unlocking needs two people of two of the UNLOCK_DATA roles, each with a reason (issue 14)."""


def can(role: Role | str, capability: Capability) -> bool:
    """Whether ``role`` holds ``capability``."""
    return Role(role) in PERMISSIONS[capability]


def is_site_limited(role: Role | str) -> bool:
    """Whether ``role`` sees only its own sites' subjects."""
    return Role(role) in SITE_ROLES
