"""Words and symbols the pages use for alert kinds, severities and form states.

Badges carry a symbol and a text label as well as a colour, so they never rely on colour
alone (WCAG 1.4.1).
"""

from __future__ import annotations

from typing import Any, Final

from bordin.errors import BordinError, InputError

__all__ = [
    "BADGES",
    "COLOUR_LABELS",
    "FIELD_LABELS",
    "FORM_STATES",
    "SEVERITY_LABELS",
    "badge_for",
    "field_error_message",
    "severity_class",
]

# alert kind -> (label, symbol, css class); the order is the order badges are shown in
BADGES: Final[dict[str, tuple[str, str, str]]] = {
    "risk": ("Risk item", "!", "risk"),
    "rupture_unrepaired": ("Unrepaired rupture", "\u25bc", "rupture"),
    "rupture_open": ("Open rupture", "\u25bd", "rupture"),
    "not_on_track": ("Not on track", "\u2197", "not_on_track"),
    "reliable_deterioration": ("Reliable deterioration", "\u2191", "deterioration"),
    "weak_early_alliance": ("Weak early alliance", "\u25cb", "weak_alliance"),
    "uninformative_ratings": ("Ratings at ceiling", "=", "info"),
}

SEVERITY_LABELS: Final[dict[str, str]] = {
    "critical": "Critical",
    "high": "High",
    "moderate": "Moderate",
    "low": "Low",
}

# not-on-track colour -> the words shown for it as a status (the colour legend's words,
# bordin.feedback.wording.colour_meaning); a colour name alone is not a status
COLOUR_LABELS: Final[dict[str, str]] = {
    "red": "Not on track",
    "yellow": "Less progress than expected",
    "green": "On track",
    "white": "Below the clinical cutoff",
}

FORM_STATES: Final[dict[str, str]] = {
    "answered": "Answered",
    "waiting": "Sent, not answered yet",
    "expired": "Link expired unanswered",
}


def badge_for(kind: str) -> dict[str, Any]:
    """The badge of an alert kind (unknown kinds get a neutral badge with their name)."""
    label, symbol, css = BADGES.get(kind, (kind.replace("_", " ").capitalize(), "\u2022", "info"))
    return {"kind": kind, "label": label, "symbol": symbol, "css": css}


def severity_class(severity: str) -> str:
    """CSS class of an alert severity (critical and high share the strongest style)."""
    return {"critical": "high", "high": "high", "moderate": "medium"}.get(severity, "low")


# form field (the column an InputError names) -> the label staff see on the staff forms
FIELD_LABELS: Final[dict[str, str]] = {
    "closed_on": "Last day",
    "code": "Client code",
    "crisis_text": "Crisis text",
    "current_password": "Current password",
    "date": "Date",
    "default_instruments": "Questionnaires of the first form",
    "display_name": "Name shown on pages",
    "email": "Email",
    "escalate_minutes": "Minutes before the supervisors are notified",
    "file": "File",
    "first_due_at": "Weekly: first time",
    "form_language": "Language of the client's forms",
    "hours_before": "Hours before the session",
    "instrument": "Instrument",
    "instruments": "Questionnaires",
    "kind": "What happened",
    "language": "Language",
    "missed_date": "Date of the planned session",
    "mode": "Send the form",
    "name": "Name",
    "new_password": "New password",
    "note": "Note",
    "number": "Session",
    "opened_on": "Start of care",
    "password": "Password",
    "phone": "Mobile",
    "reason": "Reason",
    "risk_escalate_minutes": "Minutes before the supervisors are notified",
    "role": "Role",
    "session": "Session",
    "session_date": "Date of the attended session",
    "starts_at": "Date and time",
    "team_id": "Team",
    "therapist_id": "Therapist",
    "timezone": "Time zone",
    "username": "Username",
}


def field_error_message(exc: BordinError) -> str:
    """The message of a staff form's error, naming the field by its label.

    An :class:`~bordin.errors.InputError` that names a form field (``column``) reads
    ``"column 'opened_on': a date is written YYYY-MM-DD"``, written for files and programs;
    on a page it becomes ``"Start of care: a date is written YYYY-MM-DD"``. Errors that
    name a file or row, and every other error, keep their message.
    """
    if (
        isinstance(exc, InputError)
        and exc.column is not None
        and exc.file is None
        and exc.row is None
        and exc.item is None
    ):
        label = FIELD_LABELS.get(exc.column, exc.column.replace("_", " ").capitalize())
        return f"{label}: {exc.detail}"
    return str(exc)
