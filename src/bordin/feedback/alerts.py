"""Alerts: what needs the therapist's attention before the next session, and what to try.

Each alert has a kind, a severity and a priority (risk outranks everything), the session it
refers to, the numbers behind it, a plain-language explanation, suggestions and references
(:mod:`bordin.feedback.content`). Alerts describe each client's latest session.

Which signals are open alerts, and for how long, is decided here once
(:func:`alerted_colours`, :func:`unrepaired_shown`, :func:`early_alliance_shown`, from the
:class:`~bordin.feedback.config.FeedbackConfig`): the engine's alerts and client table and
:func:`bordin.analytics.session_alerts` all use these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from bordin.feedback.config import FeedbackConfig
from bordin.feedback.content import references_for, suggestions_for

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_KINDS",
    "Alert",
    "AlertKind",
    "Severity",
    "alerted_colours",
    "alerts_to_frame",
    "early_alliance_shown",
    "make_alert",
    "unrepaired_shown",
]

AlertKind = Literal[
    "risk",
    "not_on_track",
    "rupture_unrepaired",
    "reliable_deterioration",
    "rupture_open",
    "weak_early_alliance",
    "uninformative_ratings",
]
Severity = Literal["critical", "high", "moderate", "low"]

# kind -> (severity, priority); higher priority is shown first.
ALERT_KINDS: Final[dict[str, tuple[str, int]]] = {
    "risk": ("critical", 100),
    "not_on_track": ("high", 80),
    "rupture_unrepaired": ("high", 75),
    "reliable_deterioration": ("high", 70),
    "rupture_open": ("moderate", 60),
    "weak_early_alliance": ("moderate", 45),
    "uninformative_ratings": ("low", 20),
}
ALERT_COLUMNS: Final = (
    "client_id",
    "session",
    "kind",
    "severity",
    "priority",
    "title",
    "explanation",
    "evidence",
    "suggestions",
    "references",
)


def alerted_colours(config: FeedbackConfig) -> tuple[str, ...]:
    """The not-on-track colours that raise an alert: red, and yellow when
    ``config.yellow_alert`` (the colour is shown on the chart and caseload either way)."""
    return ("red", "yellow") if config.yellow_alert else ("red",)


def unrepaired_shown(session: Any, status_session: Any, config: FeedbackConfig) -> Any:
    """Whether a rupture declared unrepaired at ``status_session`` is an open alert at
    ``session``: for ``config.unrepaired_alert_sessions`` sessions from that one (arrays or
    scalars; the caller selects the unrepaired ruptures)."""
    since = np.asarray(session) - np.asarray(status_session)
    return (since >= 0) & (since < config.unrepaired_alert_sessions)


def early_alliance_shown(weak: Any, session: Any, config: FeedbackConfig) -> Any:
    """Whether weak early alliance (the engine's carried-forward signal) is an open alert at
    ``session``: up to :meth:`FeedbackConfig.early_alert_until`."""
    return np.asarray(weak, dtype=bool) & (np.asarray(session) <= config.early_alert_until())


def _native(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class Alert:
    """One alert about one client.

    ``evidence`` holds the numbers behind the alert (JSON-ready scalars); ``suggestions``
    and ``references`` are clinical support content from :mod:`bordin.feedback.content`.
    """

    client_id: Any
    session: int
    kind: str
    severity: str
    priority: int
    title: str
    explanation: str
    evidence: dict[str, Any] = field(default_factory=dict)
    suggestions: tuple[str, ...] = ()
    references: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the ``alerts`` items of the JSON output)."""
        return {
            "client_id": _native(self.client_id),
            "session": int(self.session),
            "kind": self.kind,
            "severity": self.severity,
            "priority": int(self.priority),
            "title": self.title,
            "explanation": self.explanation,
            "evidence": {k: _json_scalar(v) for k, v in self.evidence.items()},
            "suggestions": list(self.suggestions),
            "references": list(self.references),
        }


def _json_scalar(value: Any) -> Any:
    value = _native(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def make_alert(
    kind: str,
    *,
    client_id: Any,
    session: int,
    title: str,
    explanation: str,
    evidence: dict[str, Any],
    component: str = "total",
    marker: str = "unknown",
    severity: str | None = None,
    priority: int | None = None,
) -> Alert:
    """Build an alert of ``kind`` with its default severity, priority and content."""
    default_severity, default_priority = ALERT_KINDS[kind]
    return Alert(
        client_id=_native(client_id),
        session=int(session),
        kind=kind,
        severity=severity or default_severity,
        priority=int(priority if priority is not None else default_priority),
        title=title,
        explanation=explanation,
        evidence={k: _json_scalar(v) for k, v in evidence.items()},
        suggestions=suggestions_for(kind, component, marker),
        references=references_for(kind),
    )


def alerts_to_frame(alerts: tuple[Alert, ...] | list[Alert]) -> pd.DataFrame:
    """One row per alert (evidence as a JSON string, lists joined by newlines)."""
    import json

    rows = [
        {
            "client_id": a.client_id,
            "session": a.session,
            "kind": a.kind,
            "severity": a.severity,
            "priority": a.priority,
            "title": a.title,
            "explanation": a.explanation,
            "evidence": json.dumps(a.to_dict()["evidence"], sort_keys=True),
            "suggestions": "\n".join(a.suggestions),
            "references": "\n".join(a.references),
        }
        for a in alerts
    ]
    return pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
