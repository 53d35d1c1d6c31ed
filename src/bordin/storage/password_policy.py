"""Which new passwords are refused, as NIST SP 800-63B (section 5.1.1.2) asks.

No composition rules (no "one digit, one capital"): NIST advises against them. A new
password is refused when it is

* shorter than :data:`MIN_PASSWORD_LENGTH` characters;
* one of the 30,000 most common passwords, ignoring case, or one of them with up to four
  digits or symbols added at the end (``password123``, ``qwertyuiop!``). The list is the
  ``passwords`` frequency list bundled with the zxcvbn library (MIT licence; drawn from
  Mark Burnett's 10 million password corpus, released to the public domain), read from
  the installed package;
* trivially repetitive or sequential, with or without up to four digits or symbols at the
  end: fewer than four different characters (``aaaaaaaaaa``), one short block repeated
  (``abcabcabcabc``, ``abababab12``), or a run of consecutive characters (``abcdefghij``,
  ``9876543210``);
* built on context-specific words: the username (or the part before ``@``) or the
  service's name.

Every refusal says why, names the form field, and never echoes the password.

References
----------
NIST Special Publication 800-63B, Digital Identity Guidelines: Authentication and
Lifecycle Management, section 5.1.1.2 (memorized secret verifiers).
https://doi.org/10.6028/NIST.SP.800-63b
"""

from __future__ import annotations

import re
from functools import lru_cache

from bordin.errors import InputError

__all__ = ["MIN_PASSWORD_LENGTH", "check_new_password"]

#: The shortest password accepted (NIST asks for at least 8).
MIN_PASSWORD_LENGTH = 10
_SERVICE_WORDS = ("bordin",)
_TRAILING_DECORATION = re.compile(r"[\d\W_]{1,4}$")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def _is_sequence(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return len(steps) == 1 and steps <= {1, -1}


def _is_repeated_block(text: str) -> bool:
    return any(
        len(text) % size == 0 and text == text[:size] * (len(text) // size)
        for size in range(1, len(text) // 2 + 1)
    )


def _why_refused(password: str, username: str | None) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    common = _common_passwords()
    base = _TRAILING_DECORATION.sub("", lowered)
    if lowered in common or (len(base) >= 6 and base in common):
        return "this password is one of the most common passwords; choose another"
    for text in {lowered, base} if len(base) >= 6 else {lowered}:
        if len(set(text)) < 4 or _is_repeated_block(text) or _is_sequence(text):
            return "this password is too repetitive or sequential; choose another"
    words = list(_SERVICE_WORDS)
    if username:
        words += [username.lower(), username.lower().split("@", 1)[0]]
    squeezed = re.sub(r"[\W_\d]", "", lowered)
    for word in words:
        if len(word) >= 4 and (word in lowered) and len(squeezed) <= len(word) + 3:
            return "this password is built on your username or the service's name"
    return None


def check_new_password(password: str, *, username: str | None = None, column: str) -> None:
    """Refuse a new password that fails the policy of the module docstring.

    Raises
    ------
    InputError
        The reason, with ``column`` naming the form field.
    """
    reason = _why_refused(password, username)
    if reason is not None:
        raise InputError(reason, column=column)
