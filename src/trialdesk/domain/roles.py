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


SITE_ROLES: frozenset[Role] = frozenset({Role.COORDINATOR, Role.INVESTIGATOR})
"""Roles limited to the subjects of their own sites."""

PERMISSIONS: dict[Capability, frozenset[Role]] = {
    Capability.MANAGE_USERS_AND_SITES: frozenset({Role.ADMIN}),
    Capability.READ_SUBJECTS: frozenset(
        {Role.COORDINATOR, Role.INVESTIGATOR, Role.STATISTICIAN, Role.SAFETY_REVIEWER, Role.MONITOR}
    ),
    Capability.SCREEN: frozenset({Role.COORDINATOR, Role.INVESTIGATOR}),
    Capability.ENTER_DATA: frozenset({Role.COORDINATOR, Role.INVESTIGATOR}),
    Capability.ATTEST: frozenset({Role.INVESTIGATOR}),
    Capability.SIGN_ENROLMENT: frozenset({Role.INVESTIGATOR}),
    Capability.RANDOMIZE: frozenset({Role.COORDINATOR, Role.INVESTIGATOR}),
    Capability.GENERATE_RANDOMIZATION_LIST: frozenset({Role.STATISTICIAN}),
    Capability.VIEW_ALLOCATION_LIST: frozenset({Role.STATISTICIAN}),
    Capability.SIGN_PHASE_GATE: frozenset({Role.SAFETY_REVIEWER}),
    Capability.READ_AUDIT: frozenset({Role.MONITOR, Role.ADMIN}),
    Capability.OVERRIDE_ENROLMENT_LIMIT: frozenset({Role.ADMIN}),
    Capability.RUN_ANALYSES: frozenset({Role.STATISTICIAN, Role.SAFETY_REVIEWER, Role.MONITOR}),
}


def can(role: Role | str, capability: Capability) -> bool:
    """Whether ``role`` holds ``capability``."""
    return Role(role) in PERMISSIONS[capability]


def is_site_limited(role: Role | str) -> bool:
    """Whether ``role`` sees only its own sites' subjects."""
    return Role(role) in SITE_ROLES
