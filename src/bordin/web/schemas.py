"""Request and response models of the JSON API (reused by the HTML pages' JSON twins)."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AcknowledgeIn",
    "AdminTwoFactorIn",
    "AlertOut",
    "CaseloadEntryOut",
    "ClientIn",
    "ClientOut",
    "ContentPackOut",
    "EpisodeCloseIn",
    "EpisodeIn",
    "EpisodeOut",
    "FeedbackShownOut",
    "FormContentOut",
    "FormRequestIn",
    "FormRequestOut",
    "InstrumentOut",
    "LoginIn",
    "LoginOut",
    "NormsSnapshotOut",
    "ReceiptOut",
    "ScoreRowOut",
    "SessionIn",
    "SessionOut",
    "SignalOut",
    "SubmissionIn",
    "TherapistCheckIn",
    "TherapistCheckOut",
    "TwoFactorCodeIn",
    "TwoFactorStartOut",
    "UserOut",
]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LoginIn(BaseModel):
    """Credentials for ``POST /api/v1/auth/login``."""

    username: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    totp_code: str | None = Field(
        None, max_length=16, description="The six-digit code, for accounts with two-factor login."
    )


class UserOut(_Out):
    """A staff account (never its password hash)."""

    id: int
    username: str
    code: str
    display_name: str
    role: str
    clinic_id: int
    team_id: int | None


class LoginOut(BaseModel):
    """The logged-in user and the CSRF token to send as ``X-CSRF-Token`` on writes."""

    user: UserOut
    csrf_token: str


class ClientIn(BaseModel):
    """A new client: a pseudonymous code, never a name; supervisors/admins name a therapist."""

    code: str = Field(min_length=1, max_length=64)
    therapist_id: int | None = Field(None, ge=1, le=2_147_483_647)
    opened_on: date | None = None


class ClientOut(_Out):
    """A client."""

    id: int
    code: str
    therapist_id: int
    created_at: datetime


class EpisodeIn(BaseModel):
    """Open an episode of care."""

    opened_on: date | None = None


class EpisodeCloseIn(BaseModel):
    """Close an episode of care."""

    closed_on: date | None = None


class EpisodeOut(_Out):
    """An episode of care."""

    id: int
    client_id: int
    opened_on: date
    closed_on: date | None


class SessionIn(BaseModel):
    """Record an attended session (numbered next by default)."""

    date: dt.date | None = None
    number: int | None = Field(None, ge=1, le=100_000)


class SessionOut(_Out):
    """An attended session."""

    id: int
    client_id: int
    episode_id: int
    number: int
    date: dt.date | None


class FormRequestIn(BaseModel):
    """Ask the client to fill in instruments for a session."""

    instruments: list[str] = Field(min_length=1, max_length=10)
    language: str = Field("en", min_length=2, max_length=16)
    support_check: bool = Field(
        False,
        description="Add the Clinical Support Check (csc) when the client is not on track "
        "(red), as the client page does.",
    )


class FormRequestOut(BaseModel):
    """A form request; ``token`` and ``url`` only in the answer that created it."""

    id: int
    client_id: int
    session_id: int
    instruments: list[str]
    language: str
    created_at: datetime
    expires_at: datetime
    submitted_at: datetime | None
    token: str | None = None
    url: str | None = None


class FormContentOut(BaseModel):
    """The form behind a link: instruments with wording, response options and item rules."""

    form_id: int
    session: int
    language: str
    expires_at: str
    instruments: list[dict[str, Any]]


class SubmissionIn(BaseModel):
    """A client's answers: ``{instrument: {item number: response code}}``."""

    answers: dict[str, dict[str, float | int | None]]


class TherapistCheckIn(BaseModel):
    """The therapist's session check (tsc): ``{item number: response code}``."""

    answers: dict[str, float | int | None]


class TherapistCheckOut(BaseModel):
    """A stored therapist session check."""

    session_id: int
    instrument: str
    items: int


class ReceiptOut(BaseModel):
    """The receipt of an accepted submission (returned again on a repeated one, with 409)."""

    receipt: str
    submitted_at: str
    instruments: list[str]
    items: int


class ScoreRowOut(BaseModel):
    """One session of a client's wide score table."""

    session: int
    date: str | None
    scores: dict[str, float | None]


class SignalOut(_Out):
    """A feedback signal (``kind``: rupture, session or summary) and the norms snapshot
    it was computed against."""

    id: int
    kind: str
    session: int | None
    data: dict[str, Any]
    norms_id: int | None


class FeedbackShownOut(_Out):
    """What feedback showed for a client when a session came in, as it was shown then."""

    session: int
    norms_id: int
    recorded_at: datetime
    signals: dict[str, Any]
    alerts: list[Any]


class NormsSnapshotOut(_Out):
    """A clinic norms snapshot: when and why it was fitted, on what, and from where each
    quantity comes; ``document`` (on request) is the norms JSON for
    ``bordin feedback --norms``."""

    id: int
    version: str
    reason: str
    source: str
    created_at: datetime
    sessions_at_fit: int
    fitted_on: dict[str, Any]
    alliance: str
    outcomes: list[str]
    quantities: dict[str, dict[str, str]]
    current: bool
    document: dict[str, Any] | None = None


class AlertOut(_Out):
    """An alert with its explanation, evidence, suggestions and references."""

    id: int
    client_id: int
    kind: str
    session: int
    severity: str
    priority: float
    title: str
    explanation: str
    evidence: Any
    suggestions: Any
    references: Any
    active: bool
    created_at: datetime
    acknowledged_at: datetime | None
    norms_id: int | None
    acknowledged_by: int | None
    note: str | None


class AcknowledgeIn(BaseModel):
    """Acknowledge an alert with a note."""

    note: str = Field("", max_length=4000)


class CaseloadEntryOut(_Out):
    """One client of a caseload, with what needs attention."""

    client_id: int
    code: str
    therapist_id: int
    therapist_code: str
    last_session: int | None
    last_session_date: date | None
    open_alerts: int
    priority: float
    top_alert_kind: str | None
    top_alert_title: str | None
    open_forms: int
    colour: str | None = Field(
        None,
        description="Not-on-track colour at the latest session (first outcome): red, yellow, "
        "green or white. Shown beside the alerts; yellow is not an open alert.",
    )


class InstrumentOut(BaseModel):
    """An instrument definition summary (no wording)."""

    id: str
    name: str
    version: str
    items: int
    scales: list[str]
    licence: str
    wording_redistributable: bool
    validated: bool
    citation: str
    wording_available: bool


class ContentPackOut(BaseModel):
    """A clinic's content pack (the wording itself is only served inside forms)."""

    instrument: str
    language: str
    title: str
    origin: str
    uploaded_at: datetime | None = None


class TwoFactorStartOut(BaseModel):
    """A new TOTP secret, shown once, for an authenticator app."""

    secret: str
    otpauth_uri: str


class TwoFactorCodeIn(BaseModel):
    """A six-digit code from an authenticator app."""

    code: str = Field(max_length=16)


class AdminTwoFactorIn(BaseModel):
    """Whether the clinic requires two-factor login for its admins."""

    required: bool
