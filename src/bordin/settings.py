"""Runtime settings, read from the environment (prefix ``BORDIN_``) when asked for.

Nothing here runs at import time: call :func:`get_settings` (or build :class:`Settings`
directly in tests). Default secrets are refused outside the demo, following the habit of
the FastAPI full-stack template: a production service must be given its own secret.
"""

from __future__ import annotations

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bordin.errors import InputError

__all__ = ["DEFAULT_DATABASE_URL", "DEFAULT_SECRET", "Settings", "get_settings"]

DEFAULT_DATABASE_URL = "sqlite:///bordin.sqlite"
DEFAULT_SECRET = "change-me"  # refused by the validator outside the demo


class Settings(BaseSettings):
    """Settings of the storage and web adapters.

    Every field can be set from the environment as ``BORDIN_<FIELD>`` (for example
    ``BORDIN_DATABASE_URL``).
    """

    model_config = SettingsConfigDict(env_prefix="BORDIN_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///file.sqlite or postgresql+psycopg://...",
    )
    secret_key: str = Field(
        DEFAULT_SECRET, description="Server secret; must be set outside the demo."
    )
    demo: bool = Field(False, description="Demo mode: allows the default secret.")
    https: bool = Field(False, description="Served over HTTPS: session cookies get Secure.")
    base_url: str = Field(
        "http://127.0.0.1:8000", description="Public URL used to build client form links."
    )
    session_hours: float = Field(12.0, gt=0, description="Lifetime of a login session.")
    token_days: float = Field(7.0, gt=0, description="Lifetime of a client form link.")
    login_rate_limit: int = Field(
        10,
        ge=1,
        description="Failed logins per client address per minute (shared by all workers).",
    )
    token_rate_limit: int = Field(
        60,
        ge=1,
        description=(
            "Requests with an unknown, expired or used form link per client address per "
            "minute (shared by all workers)."
        ),
    )
    norms_refresh_sessions: int = Field(
        200,
        ge=0,
        description="Refit a clinic's norms after this many newly scored sessions (0: never "
        "for this reason).",
    )
    norms_refresh_hours: float = Field(
        24.0, gt=0, description="Refit norms older than this when new sessions were scored."
    )
    norms_check_seconds: float = Field(
        300.0,
        ge=0,
        description="How often the service checks whether norms are due (0: no scheduled "
        "refresh; use `bordin db refresh-norms`).",
    )
    demo_password: str | None = Field(
        None, description="Password of the demo users (random and printed when unset)."
    )
    # --- request guards and login backoff (issue 21) ---
    max_body_bytes: int = Field(
        5_000_000,
        ge=1024,
        description="Largest request body (JSON, forms) accepted before parsing; larger "
        "bodies are refused with 413.",
    )
    max_upload_bytes: int = Field(
        101_000_000,
        ge=1024,
        description="Largest multipart upload (the history import takes files up to 100 MB).",
    )
    login_backoff_max_seconds: int = Field(
        900,
        ge=0,
        description="Longest lockout after repeated failed logins (the lockout doubles "
        "from one minute each time; 0: no backoff beyond the per-minute limit).",
    )
    # --- end request guards ---

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if not self.demo and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "BORDIN_SECRET_KEY is the default value; set a long random secret "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not self.demo and len(self.secret_key) < 16:
            raise ValueError("BORDIN_SECRET_KEY must be at least 16 characters")
        return self


def get_settings(**overrides: object) -> Settings:
    """Read the settings from the environment now, with explicit overrides on top.

    Raises
    ------
    InputError
        A setting is invalid (for example the default secret outside the demo).
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        raise InputError(message, column=field) from exc
