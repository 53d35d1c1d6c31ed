"""Words and symbols the pages use for alert kinds, severities and form states.

Badges carry a symbol and a text label as well as a colour, so they never rely on colour
alone (WCAG 1.4.1).
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["BADGES", "FORM_STATES", "SEVERITY_LABELS", "badge_for", "severity_class"]

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
