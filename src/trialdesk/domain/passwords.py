"""The password policy of user accounts (21 CFR Part 11 section 11.300: controls for identification
codes and passwords; NIST SP 800-63B section 5.1.1.2: length over composition rules, and a check
against lists of commonly used or compromised passwords).

A password is refused, naming the field ``password``, when it:

* has fewer than :data:`MIN_LENGTH` (12) or more than :data:`MAX_LENGTH` (256) characters;
* is, ignoring case, one of the 30,000 most common passwords (the list zxcvbn ships, from leaked
  password corpora; taken from the well-kept ``zxcvbn`` package rather than copied here);
* is made of one character class only (all lower-case letters, all digits, ...);
* contains the username (ignoring case);
* contains a NUL byte or another control character.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from trialdesk.domain.errors import InvalidValue

MIN_LENGTH = 12
MAX_LENGTH = 256


@cache
def common_passwords() -> frozenset[str]:
    """The common-password list (lower case), loaded once."""
    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def _character_class(char: str) -> str:
    if char.isdigit():
        return "digit"
    if char.isalpha():
        return "upper" if char.isupper() else "lower" if char.islower() else "letter"
    return "symbol"


def policy_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` breaks the policy (a sentence for the user), or ``None`` when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must have at most {MAX_LENGTH} characters"
    if any(unicodedata.category(c) == "Cc" for c in password):
        return "must not contain control characters"
    if password.lower() in common_passwords():
        return "is one of the most commonly used passwords: choose another"
    if len({_character_class(c) for c in password}) < 2:
        return "must mix at least two kinds of characters (letters, digits, symbols or spaces)"
    if username and username.lower() in password.lower():
        return "must not contain the username"
    return None


def check_password_policy(password: str, username: str = "") -> None:
    """Raise :class:`InvalidValue` (field ``password``) when ``password`` breaks the policy."""
    problem = policy_problem(password, username)
    if problem is not None:
        raise InvalidValue(f"password {problem}", field="password")
