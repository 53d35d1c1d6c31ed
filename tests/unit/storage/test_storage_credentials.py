"""Passwords are argon2id with the RFC 9106 parameters; tokens are long and stored hashed."""

from __future__ import annotations

import hashlib

import pytest

import bordin.storage.credentials as credentials
from bordin.storage.credentials import (
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    verify_password,
)


def test_password_hash_is_argon2id_with_production_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The web tests swap in test-sized parameters for the whole session; use the real ones.
    monkeypatch.setattr(credentials, "_HASHER", credentials._PRODUCTION_HASHER)
    digest = hash_password("a long enough password")
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(digest, "a long enough password")
    assert not verify_password(digest, "a long enough passworD")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")
    assert not password_needs_rehash(digest)
    weak = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$" + "A" * 43
    assert password_needs_rehash(weak)


def test_tokens_have_256_bits_and_are_stored_as_sha256() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) == 43 for t in tokens)  # 32 bytes, URL-safe base64 without padding
    token = next(iter(tokens))
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
