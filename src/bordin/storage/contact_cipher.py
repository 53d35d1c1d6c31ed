"""Encryption at rest of clients' contact details and of queued form links.

Fernet (AES-128-CBC with HMAC-SHA256, from the ``cryptography`` package) under a key
given in the environment (``BORDIN_CONTACT_KEY``), never stored in the database. Several
comma-separated keys allow rotation: the first encrypts, every one decrypts.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bordin.errors import InputError

__all__ = ["ContactCipher", "make_cipher", "new_contact_key"]


def new_contact_key() -> str:
    """A fresh random key for ``BORDIN_CONTACT_KEY``."""
    return Fernet.generate_key().decode("ascii")


@dataclass(frozen=True)
class ContactCipher:
    """Encrypts and decrypts short texts (an address, a phone number, a link's token)."""

    fernet: MultiFernet

    def encrypt(self, text: str) -> bytes:
        """The ciphertext of ``text`` (a different one each call)."""
        return self.fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, data: bytes) -> str:
        """The text encrypted in ``data``.

        Raises
        ------
        InputError
            ``data`` was not encrypted under any of the configured keys.
        """
        try:
            return self.fernet.decrypt(bytes(data)).decode("utf-8")
        except InvalidToken:
            raise InputError(
                "stored contact details cannot be decrypted with BORDIN_CONTACT_KEY "
                "(was the key changed without keeping the old one after it?)",
                column="contact_key",
            ) from None


def make_cipher(keys: str | None) -> ContactCipher:
    """The cipher for the comma-separated Fernet ``keys`` (``BORDIN_CONTACT_KEY``).

    Raises
    ------
    InputError
        No key, or a key that is not a Fernet key (32 url-safe base64-encoded bytes).
    """
    parts = [k.strip() for k in (keys or "").split(",") if k.strip()]
    if not parts:
        raise InputError(
            "contact details need BORDIN_CONTACT_KEY (make one with `bordin worker --new-key`)",
            column="contact_key",
        )
    try:
        return ContactCipher(MultiFernet([Fernet(k.encode("ascii")) for k in parts]))
    except (ValueError, UnicodeEncodeError):
        raise InputError(
            "BORDIN_CONTACT_KEY is not a Fernet key (32 url-safe base64-encoded bytes)",
            column="contact_key",
        ) from None
