"""Turn the per-session signals at each client's latest session into alerts.

Column-wise: each rule selects its clients with a vectorised mask, converts the few columns
it needs to Python lists once, and formats the explanations in one pass.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from bordin.feedback.alerts import ALERT_KINDS, Alert
from bordin.feedback.content import references_for, suggestions_for

__all__ = ["RUPTURE_LOOKBACK", "build_alerts"]

RUPTURE_LOOKBACK = 6  # sessions: an unrepaired rupture stays on the dashboard this long
_KIND_RANK = {kind: i for i, kind in enumerate(ALERT_KINDS)}
_RISK_LABEL = {"phq9_item9": "PHQ-9 item 9", "core10_item6": "CORE-10 item 6 (risk)"}
_MARKER_TEXT = {
    "withdrawal": " The client's answers point to withdrawal (holding back).",
    "confrontation": " The client's answers point to confrontation (tension or feeling "
    "misunderstood).",
}


def _values(series: pd.Series, idx: np.ndarray) -> list[Any]:
    """Selected values as Python scalars; NaN and NA become None."""
    values = series.to_numpy()[idx]
    if values.dtype.kind == "f":
        return [None if v != v else v for v in values.tolist()]
    return [None if (v is None or v is pd.NA or v != v) else v for v in values.tolist()]


@lru_cache(maxsize=1 << 16)  # scores and thresholds repeat across a clinic's alerts
def _fmt(value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:.2f}".rstrip("0").rstrip(".")


class _Collector:
    """Alerts with their sort keys (priority, client order, kind, tie-break)."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.keys: list[tuple[int, int, int, int]] = []

    def add(
        self,
        kind: str,
        *,
        order: int,
        client_id: Any,
        session: int,
        title: str,
        explanation: str,
        evidence: dict[str, Any],
        suggestions: tuple[str, ...],
        references: tuple[str, ...],
        severity: str | None = None,
        priority: int | None = None,
        tiebreak: int = 0,
    ) -> None:
        default_severity, default_priority = ALERT_KINDS[kind]
        prio = default_priority if priority is None else priority
        self.alerts.append(
            Alert(
                client_id=client_id,
                session=int(session),
                kind=kind,
                severity=severity or default_severity,
                priority=prio,
                title=title,
                explanation=explanation,
                evidence=evidence,
                suggestions=suggestions,
                references=references,
            )
        )
        self.keys.append((-prio, order, _KIND_RANK[kind], tiebreak))

    def sorted(self) -> tuple[Alert, ...]:
        order = sorted(range(len(self.alerts)), key=self.keys.__getitem__)
        return tuple(self.alerts[i] for i in order)


def build_alerts(
    latest: pd.DataFrame,
    events: pd.DataFrame,
    *,
    alliance: str,
    outcomes: tuple[str, ...],
    early_reference_source: str,
    early_session: int,
    repair_window: int,
) -> tuple[Alert, ...]:
    """Alerts for each client's latest session, highest priority first, then client order.

    ``latest`` holds one row per client in client order (the sessions frame at each client's
    last session); ``events`` are the Bordin-detector rupture events on the alliance total.
    """
    out = _Collector()
    client_ids = _values(latest["client_id"], np.arange(len(latest)))
    sessions = latest["session"].to_numpy()

    # ---- risk
    idx = np.flatnonzero(latest["risk"].to_numpy(dtype=bool))
    refs = references_for("risk")
    sugg = suggestions_for("risk")
    for i, item, value in zip(
        idx.tolist(),
        _values(latest["risk_item"], idx),
        _values(latest["risk_value"], idx),
        strict=True,
    ):
        s = int(sessions[i])
        out.add(
            "risk",
            order=i,
            client_id=client_ids[i],
            session=s,
            title="Risk item endorsed",
            explanation=(
                f"At session {s} the client answered {_fmt(value)} (above 0) on "
                f"{_RISK_LABEL.get(item, item)}. Review risk with the client per your "
                "clinic's protocol."
            ),
            evidence={"item": item, "value": value},
            suggestions=sugg,
            references=refs,
        )

    # ---- outcomes: not on track, reliable deterioration
    for oid in outcomes:
        colour = latest[f"{oid}_colour"].to_numpy(dtype=object)
        idx = np.flatnonzero((colour == "red") | (colour == "yellow"))
        cols = {
            name: _values(latest[f"{oid}_{name}"], idx)
            for name in ("intake", "score", "expected", "limit", "curve_source")
        }
        refs, sugg = references_for("not_on_track"), suggestions_for("not_on_track")
        for k, i in enumerate(idx.tolist()):
            red = colour[i] == "red"
            intake, score = cols["intake"][k], cols["score"][k]
            expected = intake + cols["expected"][k]
            limit = intake + cols["limit"][k]
            s = int(sessions[i])
            text = (
                f"{oid} went from {_fmt(intake)} at intake to {_fmt(score)} at session {s}. "
                f"Clients starting there are expected to be at about {_fmt(expected)}"
            )
            if red:
                text += (
                    f"; this is beyond the {_fmt(limit)} limit within which most clients who "
                    "do well fall."
                )
            else:
                text += "."
            text += f" Expected curves: {cols['curve_source'][k]}."
            out.add(
                "not_on_track",
                order=i,
                client_id=client_ids[i],
                session=s,
                severity="high" if red else "moderate",
                priority=80 if red else 50,
                title=(
                    f"Not on track on {oid} (red)"
                    if red
                    else f"Less progress than expected on {oid} (yellow)"
                ),
                explanation=text,
                evidence={
                    "instrument": oid,
                    "colour": colour[i],
                    "intake": intake,
                    "score": score,
                    "expected": expected,
                    "limit": limit,
                    "curve_source": cols["curve_source"][k],
                },
                suggestions=sugg,
                references=refs,
            )
        status = latest[f"{oid}_status"].to_numpy(dtype=object)
        idx = np.flatnonzero(status == "reliably_deteriorated")
        cols = {
            name: _values(latest[f"{oid}_{name}"], idx)
            for name in ("intake", "score", "change", "rc")
        }
        refs = references_for("reliable_deterioration")
        sugg = suggestions_for("reliable_deterioration")
        for k, i in enumerate(idx.tolist()):
            s = int(sessions[i])
            out.add(
                "reliable_deterioration",
                order=i,
                client_id=client_ids[i],
                session=s,
                title=f"Reliable deterioration on {oid}",
                explanation=(
                    f"{oid} went from {_fmt(cols['intake'][k])} at intake to "
                    f"{_fmt(cols['score'][k])} at session {s}, a change of "
                    f"{_fmt(cols['change'][k])}, at least the reliable-change threshold of "
                    f"{_fmt(cols['rc'][k])} (Jacobson & Truax, 1991)."
                ),
                evidence={
                    "instrument": oid,
                    "intake": cols["intake"][k],
                    "score": cols["score"][k],
                    "change": cols["change"][k],
                    "reliable_change": cols["rc"][k],
                },
                suggestions=sugg,
                references=refs,
            )

    # ---- ruptures (Bordin detector, alliance total)
    if len(events):
        position = pd.Index(latest["client_id"]).get_indexer(events["client_id"])
        last = sessions[position]
        status = events["status"].to_numpy(dtype=object)
        status_session = events["status_session"].to_numpy()
        keep = (status == "open") | (
            (status == "unrepaired") & (last - status_session < RUPTURE_LOOKBACK)
        )
        idx = np.flatnonzero(keep)
        ev = {
            name: _values(events[name], idx)
            for name in (
                "onset",
                "pre_level",
                "value",
                "depth",
                "evidence",
                "component",
                "marker",
                "status",
                "status_session",
            )
        }
        for k, j in enumerate(idx.tolist()):
            i = int(position[j])
            onset, component, marker = ev["onset"][k], ev["component"][k], ev["marker"][k]
            pre = ev["pre_level"][k]
            if ev["status"][k] == "open":
                kind = "rupture_open"
                title = f"Possible rupture ({component}) at session {onset}, not yet repaired"
                tail = (
                    f" It counts as repaired if alliance returns to {_fmt(pre)} or above by "
                    f"session {onset + repair_window}."
                )
            else:
                kind = "rupture_unrepaired"
                title = f"Unrepaired rupture ({component}) from session {onset}"
                tail = (
                    f" Alliance had not returned to {_fmt(pre)} by session "
                    f"{ev['status_session'][k]}."
                )
            out.add(
                kind,
                order=i,
                client_id=client_ids[i],
                session=int(sessions[i]),
                tiebreak=int(onset),
                title=title,
                explanation=(
                    f"Alliance ({alliance} total) fell from about {_fmt(pre)} to "
                    f"{_fmt(ev['value'][k])} at session {onset} (a drop of "
                    f"{_fmt(ev['depth'][k])}); the {component} component dropped most."
                    f"{_MARKER_TEXT.get(marker, '')}{tail}"
                ),
                evidence={
                    "onset": onset,
                    "pre_level": pre,
                    "value": ev["value"][k],
                    "depth": ev["depth"][k],
                    "evidence_score": ev["evidence"][k],
                    "component": component,
                    "marker": marker,
                    "status": ev["status"][k],
                    "status_session": ev["status_session"][k],
                },
                suggestions=suggestions_for(kind, component, marker),
                references=references_for(kind),
            )

    # ---- weak early alliance (shown until session 2 x early_session)
    weak = latest["weak_early_alliance"].to_numpy(dtype=bool) & (sessions <= 2 * early_session)
    idx = np.flatnonzero(weak)
    cols = {
        name: _values(latest[f"early_alliance_{name}"], idx)
        for name in ("low", "falling", "mean", "slope", "reference")
    }
    refs, sugg = references_for("weak_early_alliance"), suggestions_for("weak_early_alliance")
    for k, i in enumerate(idx.tolist()):
        reasons = []
        if cols["low"][k]:
            reasons.append(
                f"mean alliance over sessions 1-{early_session} was {_fmt(cols['mean'][k])}, "
                f"below {_fmt(cols['reference'][k])} ({early_reference_source})"
            )
        if cols["falling"][k]:
            slope = cols["slope"][k]
            reasons.append(
                f"alliance fell by {_fmt(None if slope is None else -slope)} points per "
                f"session over sessions 1-{early_session}"
            )
        out.add(
            "weak_early_alliance",
            order=i,
            client_id=client_ids[i],
            session=int(sessions[i]),
            title="Weak early alliance",
            explanation="Early alliance predicts outcome; here the " + " and ".join(reasons) + ".",
            evidence={
                "early_mean": cols["mean"][k],
                "early_slope": cols["slope"][k],
                "reference": cols["reference"][k],
                "reference_source": early_reference_source,
            },
            suggestions=sugg,
            references=refs,
        )

    # ---- uninformative ratings
    idx = np.flatnonzero(latest["uninformative"].to_numpy(dtype=bool))
    at_max = _values(latest["alliance_at_maximum_run"], idx)
    constant = _values(latest["alliance_constant_run"], idx)
    refs, sugg = references_for("uninformative_ratings"), suggestions_for("uninformative_ratings")
    for k, i in enumerate(idx.tolist()):
        out.add(
            "uninformative_ratings",
            order=i,
            client_id=client_ids[i],
            session=int(sessions[i]),
            title="Alliance ratings cannot show ruptures",
            explanation=(
                f"The alliance total has been at the scale maximum for {at_max[k]} "
                f"session(s) and unchanged for {constant[k]} session(s) in a row, so a "
                "rupture would not show in the ratings."
            ),
            evidence={"at_maximum_run": at_max[k], "constant_run": constant[k]},
            suggestions=sugg,
            references=refs,
        )
    return out.sorted()
