"""Passwords (argon2id) and random tokens (stored as SHA-256 hashes)."""

from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["hash_password", "hash_token", "new_token", "password_needs_rehash", "verify_password"]

# argon2-cffi's defaults are the RFC 9106 "low memory" profile of argon2id.
_PRODUCTION_HASHER = PasswordHasher()
_HASHER = _PRODUCTION_HASHER


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, verified against when the username is unknown, so that
    the response time does not reveal whether an account exists (made on first use)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """Hash a password with argon2id (the PHC string records the parameters and salt)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; ``None`` takes as long and fails."""
    try:
        return (
            _HASHER.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    return _HASHER.check_needs_rehash(password_hash)


def new_token() -> str:
    """A URL-safe random token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored (the token itself never is)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
