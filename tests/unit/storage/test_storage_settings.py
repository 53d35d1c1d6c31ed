"""Settings are read when asked for, and default secrets are refused outside the demo."""

from __future__ import annotations

import pytest

from bordin.errors import InputError
from bordin.settings import DEFAULT_SECRET, get_settings


def test_default_secret_refused_outside_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BORDIN_SECRET_KEY", raising=False)
    with pytest.raises(InputError, match="BORDIN_SECRET_KEY"):
        get_settings()
    with pytest.raises(InputError, match="at least 16"):
        get_settings(secret_key="short")
    assert get_settings(demo=True).secret_key == DEFAULT_SECRET


def test_environment_is_read_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BORDIN_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("BORDIN_DATABASE_URL", "postgresql+psycopg://db/bordin")
    monkeypatch.setenv("BORDIN_TOKEN_DAYS", "3")
    settings = get_settings()
    assert settings.database_url == "postgresql+psycopg://db/bordin"
    assert settings.token_days == 3
    monkeypatch.setenv("BORDIN_TOKEN_DAYS", "0")
    with pytest.raises(InputError, match="token_days"):
        get_settings()
