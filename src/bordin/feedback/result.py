"""The result of :func:`bordin.feedback.compute_feedback`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, Final

import numpy as np
import pandas as pd

from bordin.feedback.alerts import Alert, alerts_to_frame
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.norms import ClinicNorms

__all__ = ["SCHEMA_VERSION", "FeedbackResult"]

SCHEMA_VERSION: Final = "1.2"


def _python_value(value: Any) -> Any:
    """A cell as a JSON-ready Python value: NaN, infinities and NA become None, numpy
    scalars Python ones, dates ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, date):  # datetime and pandas' Timestamp too
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _column_values(values: Any) -> list[Any]:
    """One column (array, categorical or series) as JSON-ready Python values.

    The common column types take a vectorised path (``tolist`` of the numbers, the
    categories by code); anything else goes cell by cell through :func:`_python_value`.
    """
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.Categorical):
        labels = [_python_value(c) for c in values.categories.tolist()]
        return [None if code < 0 else labels[code] for code in values.codes.tolist()]
    if isinstance(values, np.ndarray) and values.dtype.kind in "biu":
        return values.tolist()
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        finite = np.isfinite(values).tolist()
        return [v if ok else None for v, ok in zip(values.tolist(), finite, strict=True)]
    return [_python_value(v) for v in np.asarray(values, dtype=object).tolist()]


def _column_records(columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """JSON-ready records of a table given as named columns of equal length."""
    names = list(columns)
    lists = [_column_values(columns[name]) for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*lists, strict=True)]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records: NaN and NA become null, numpy scalars become Python ones."""
    if frame.empty:  # most clients have no rupture: skip reading the columns
        return []
    return _column_records({c: frame[c] for c in frame.columns})


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
        :data:`bordin.feedback.RUPTURE_COLUMNS`), the leading detector's events on the
        total first (``detector == config.rupture_detector`` and ``scale == "total"``: the
        ruptures a therapist sees).
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
    session_columns, client_columns
        The sessions and client tables as named columns (internal; use ``sessions``,
        ``clients`` or :meth:`records`): the frames are built on first access.
    alert_builder
        Builds the alerts (internal; use ``alerts``).
    """

    ruptures: pd.DataFrame
    config: FeedbackConfig
    alliance: str
    outcomes: tuple[str, ...]
    curve_sources: dict[str, str]
    notes: tuple[str, ...]
    norms: ClinicNorms
    session_columns: Mapping[str, Any] = field(repr=False)
    client_columns: Mapping[str, Any] = field(repr=False)
    alert_builder: Callable[[], tuple[Alert, ...]] = field(repr=False)

    @cached_property
    def sessions(self) -> pd.DataFrame:
        """One row per client and session (see the class attributes); built on first
        access from ``session_columns``."""
        return pd.DataFrame(dict(self.session_columns), copy=False)

    @cached_property
    def clients(self) -> pd.DataFrame:
        """One row per client (see the class attributes); built on first access from
        ``client_columns``."""
        return pd.DataFrame(dict(self.client_columns), copy=False)

    def records(self, table: str) -> list[dict[str, Any]]:
        """JSON-ready records (NaN as None, categories as their labels) of ``sessions``,
        ``clients`` or ``ruptures``, the values of :meth:`to_json_dict`.

        The sessions and client tables are read from their columns, without building the
        data frames: for one client's few rows that is most of the cost (the service
        stores these records after every submission).
        """
        if table == "sessions":
            return _column_records(self.session_columns)
        if table == "clients":
            return _column_records(self.client_columns)
        if table == "ruptures":
            return _records(self.ruptures)
        raise ValueError(f"no table {table!r}: sessions, clients or ruptures")

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
            "clients": self.records("clients"),
            "alerts": [a.to_dict() for a in self.alerts],
            "ruptures": self.records("ruptures"),
            "sessions": self.records("sessions") if include_sessions else None,
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
                f"Ruptures ({self.config.rupture_detector} detector): "
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
