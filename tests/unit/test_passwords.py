"""The password policy (21 CFR Part 11 s11.300; NIST SP 800-63B s5.1.1.2)."""

from __future__ import annotations

import pytest

from trialdesk.domain.errors import InvalidValue
from trialdesk.domain.passwords import check_password_policy, common_passwords, policy_problem


@pytest.mark.parametrize(
    ("password", "username", "problem"),
    [
        ("short pw 1", "ada", "at least 12 characters"),
        ("x" * 257 + "1", "ada", "at most 256 characters"),
        ("1234567890qwerty", "ada", "most commonly used"),
        ("1234567890QWERTY", "ada", "most commonly used"),  # case is ignored
        ("abcdefghijklmnop", "ada", "two kinds of characters"),
        ("314159265358979", "ada", "two kinds of characters"),
        ("my name is Coordinator 7", "coordinator", "must not contain the username"),
        ("tab\tinside password", "ada", "control characters"),
        ("nul\x00inside password", "ada", "control characters"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, username: str, problem: str) -> None:
    found = policy_problem(password, username)
    assert found is not None and problem in found
    with pytest.raises(InvalidValue) as refused:
        check_password_policy(password, username)
    assert refused.value.field == "password"


@pytest.mark.parametrize(
    "password", ["correct horse battery", "Tr1al-desk-2026", "食管癌试验 2026 春天", "demo-site1-coord-2026"]
)
def test_good_passwords_pass(password: str) -> None:
    assert policy_problem(password, "coordinator") is None


def test_the_common_password_list_is_the_30000_of_zxcvbn() -> None:
    common = common_passwords()
    assert len(common) > 29_000 and {"password", "123456", "qwerty"} <= common
