"""The result of :func:`bordin.feedback.compute_feedback`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

import numpy as np
import pandas as pd

from bordin.feedback.alerts import Alert, alerts_to_frame
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.norms import ClinicNorms

__all__ = ["SCHEMA_VERSION", "FeedbackResult"]

SCHEMA_VERSION: Final = "1.1"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records: NaN and NA become null, numpy scalars become Python ones."""
    out = []
    columns = list(frame.columns)
    arrays = [frame[c].to_numpy(dtype=object) for c in columns]
    for row in zip(*arrays, strict=True):
        record: dict[str, Any] = {}
        for key, value in zip(columns, row, strict=True):
            if value is None or value is pd.NA:
                record[key] = None
                continue
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            record[key] = value
        out.append(record)
    return out


@dataclass(frozen=True, eq=False)
class FeedbackResult:
    """Feedback signals for a whole clinic.

    Attributes
    ----------
    sessions
        One row per client and session: the signals as known at that session (no
        look-ahead), sorted by client and session.
    ruptures
        One row per detected rupture event, for every detector and scale (columns in
        :data:`bordin.feedback.RUPTURE_COLUMNS`); Bordin's default detector on the total
        is ``detector == "bordin"`` and ``scale == "total"``.
    clients
        One row per client: the state at their latest session and ``priority`` for ordering a
        caseload (highest first).
    alerts
        Alerts about each client's latest session, highest priority first, then client order
        (a tuple of :class:`Alert`). Built on first access: the signals and the client
        table's priorities are computed eagerly, the alert texts when asked for.
    config
        The thresholds used.
    alliance
        Alliance instrument id.
    outcomes
        Outcome instrument ids.
    curve_sources
        For each outcome, where the expected recovery curves came from (clinic data or the
        bundled norms) and how many clients they rest on.
    notes
        Plain-language notes about what could not be computed and why.
    norms
        The clinic norms the signals were computed against (given, or fitted on the
        scores); ``norms.version`` identifies them.
    alert_builder
        Builds the alerts (internal; use ``alerts``).
    """

    sessions: pd.DataFrame
    ruptures: pd.DataFrame
    clients: pd.DataFrame
    config: FeedbackConfig
    alliance: str
    outcomes: tuple[str, ...]
    curve_sources: dict[str, str]
    notes: tuple[str, ...]
    norms: ClinicNorms
    alert_builder: Callable[[], tuple[Alert, ...]] = field(repr=False)

    @cached_property
    def alerts(self) -> tuple[Alert, ...]:
        """Alerts about each client's latest session, highest priority first."""
        return self.alert_builder()

    def alerts_frame(self) -> pd.DataFrame:
        """The alerts as a table, one row per alert."""
        return alerts_to_frame(self.alerts)

    def to_frame(self) -> pd.DataFrame:
        """The per-client summary (a caseload table)."""
        return self.clients.copy()

    def to_json_dict(self, *, include_sessions: bool = True) -> dict[str, Any]:
        """The JSON output documented in ``docs/feedback.md`` (schema ``feedback.schema.json``)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "alliance": self.alliance,
            "outcomes": list(self.outcomes),
            "config": self.config.as_dict(),
            "curve_sources": dict(self.curve_sources),
            "norms": {
                "version": self.norms.version,
                "source": self.norms.source(self.config),
                "fitted_on": self.norms.fitted_on.to_dict(),
                "fitted_at": self.norms.fitted_at,
                "quantities": self.norms.describe(self.config),
            },
            "notes": list(self.notes),
            "clients": _records(self.clients),
            "alerts": [a.to_dict() for a in self.alerts],
            "ruptures": _records(self.ruptures),
            "sessions": _records(self.sessions) if include_sessions else None,
        }

    def summary(self, *, max_alerts: int | None = 25) -> str:
        """A short plain-text overview for the terminal (at most ``max_alerts`` alerts)."""
        from bordin.feedback.wording import colour_legend, instrument_label

        n_clients = len(self.clients)
        lines = [
            f"Feedback for {n_clients} client(s), {len(self.sessions)} session(s); "
            f"alliance: {instrument_label(self.alliance)}; outcomes: "
            f"{', '.join(instrument_label(o) for o in self.outcomes) or 'none'}.",
        ]
        if n_clients:
            codes = self.clients["rupture_code"].value_counts()
            lines.append(
                "Ruptures (Bordin detector): "
                + ", ".join(
                    f"{k} {int(codes.get(k, 0))}"
                    for k in ("none", "open", "repaired", "unrepaired")
                )
            )
        for outcome, source in self.curve_sources.items():
            lines.append(f"Expected curves for {instrument_label(outcome)}: {source}.")
        lines.extend(self.notes)
        if self.alerts:
            shown = self.alerts if max_alerts is None else self.alerts[:max_alerts]
            lines.append(f"{len(self.alerts)} alert(s), highest priority first:")
            for a in shown:
                lines.append(
                    f"  [{a.severity}] client {a.client_id}, session {a.session}: {a.title}"
                )
            if len(shown) < len(self.alerts):
                lines.append(f"  ... and {len(self.alerts) - len(shown)} more (use --json).")
            if any(a.kind == "not_on_track" for a in shown):
                lines.append("Colours (progress against the expected course):")
                level = self.config.not_on_track_level
                lines.extend(f"  {row['meaning']}" for row in colour_legend(level=level))
        else:
            lines.append("No alerts.")
        return "\n".join(lines)
