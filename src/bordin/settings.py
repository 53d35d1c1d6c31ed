"""Runtime settings, read from the environment (prefix ``BORDIN_``) when asked for.

Nothing here runs at import time: call :func:`get_settings` (or build :class:`Settings`
directly in tests). Default secrets are refused outside the demo, following the habit of
the FastAPI full-stack template: a production service must be given its own secret.
"""

from __future__ import annotations

from typing import Literal

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
    kiosk_timeout_minutes: float = Field(
        10.0,
        ge=1,
        le=120,
        description="A kiosk (a tablet unlocked for one client's form) locks after this many "
        "minutes without a request.",
    )
    risk_check_seconds: float = Field(
        60.0,
        ge=0,
        description="How often the service checks for risk answers to escalate to the "
        "supervisors (0: never; use `bordin risk escalate`).",
    )
    demo_password: str | None = Field(
        None, description="Password of the demo users (random and printed when unset)."
    )
    # --- delivery (issue 17): contact details, SMTP, the outbox ---------------------------
    contact_key: str | None = Field(
        None,
        description="Fernet key(s) that encrypt clients' contact details and queued links "
        "(comma-separated: the first encrypts, all decrypt, for rotation). Make one with "
        "`bordin worker --new-key`.",
    )
    smtp_host: str | None = Field(None, description="SMTP server (unset: email is not sent).")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_tls: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (port 587), tls (implicit, port 465) or none."
    )
    smtp_username: str | None = Field(None, description="SMTP login (unset: no login).")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_from: str = Field("bordin@localhost", description="Sender address of every email.")
    smtp_timeout: float = Field(30.0, gt=0, description="Seconds to wait for the SMTP server.")
    outbox_in_process: bool = Field(
        True, description="`bordin serve` runs the sender itself (off: run `bordin worker`)."
    )
    outbox_poll_seconds: float = Field(5.0, gt=0, description="How often the sender looks.")
    outbox_batch: int = Field(50, ge=1, description="Messages claimed by a sender at once.")
    outbox_lease_seconds: float = Field(
        120.0, gt=0, description="A claimed message is re-sent after this if never marked."
    )
    outbox_max_attempts: int = Field(8, ge=1, description="Attempts before a message fails.")
    outbox_backoff_seconds: float = Field(
        30.0, gt=0, description="First retry delay; doubled at each attempt (capped at 1 h)."
    )
    reminder_after_hours: float = Field(
        48.0, gt=0, description="Remind a client whose form is unanswered after this long."
    )
    max_reminders: int = Field(1, ge=0, description="Reminders per form link at most.")
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
