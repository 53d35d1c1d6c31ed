"""``bordin worker``: a new contact key, a clear refusal without one, one pass with --once."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from bordin.storage.contact_cipher import make_cipher
from bordin.storage.migrate import upgrade_database
from support.cli import run_cli


def test_new_key_is_a_usable_fernet_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["worker", "--new-key"], capsys)
    assert code == 0
    cipher = make_cipher(out.strip())
    assert cipher.decrypt(cipher.encrypt("a@example.org")) == "a@example.org"


def test_worker_needs_a_contact_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BORDIN_SECRET_KEY", secrets.token_urlsafe(32))
    monkeypatch.delenv("BORDIN_CONTACT_KEY", raising=False)
    monkeypatch.delenv("BORDIN_SMTP_HOST", raising=False)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    upgrade_database(url)
    code, _, err = run_cli(["worker", "--once", "--db", url], capsys)
    assert code == 2 and "BORDIN_CONTACT_KEY" in err
    monkeypatch.setenv("BORDIN_CONTACT_KEY", "not a key")
    code, _, err = run_cli(["worker", "--once", "--db", url], capsys)
    assert code == 2 and "not a Fernet key" in err


def test_worker_once_reports_its_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bordin.storage.contact_cipher import new_contact_key

    monkeypatch.setenv("BORDIN_SECRET_KEY", secrets.token_urlsafe(32))
    monkeypatch.setenv("BORDIN_CONTACT_KEY", new_contact_key())
    monkeypatch.delenv("BORDIN_SMTP_HOST", raising=False)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    upgrade_database(url)
    code, out, _ = run_cli(["worker", "--once", "--db", url], capsys)
    assert code == 0
    assert out.startswith("forms 0, reminders 0, claimed 0, sent 0")
