"""Turn the per-session signals at each client's latest session into alerts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bordin.feedback.alerts import Alert, make_alert

__all__ = ["build_alerts"]

_RUPTURE_LOOKBACK = 6  # sessions: an unrepaired rupture stays on the dashboard this long


class _Row(dict[str, Any]):
    """A row as a dict with attribute access (cheaper than ``itertuples`` on wide frames)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def _asdict(self) -> dict[str, Any]:
        return self


def _rows(frame: pd.DataFrame) -> list[_Row]:
    columns = {c: frame[c].to_numpy() for c in frame.columns}
    return [_Row({c: v[i] for c, v in columns.items()}) for i in range(len(frame))]


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if np.isfinite(value) else "n/a"


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
    """Alerts for each client's latest session, sorted by priority, client and kind.

    ``latest`` holds one row per client (the sessions frame at the last session); ``events``
    are the Bordin-detector rupture events on the alliance total.
    """
    alerts: list[Alert] = []
    last_session = dict(zip(latest["client_id"], latest["session"], strict=True))

    risky = latest[latest["risk"]]
    for row in _rows(risky):
        item = str(row.risk_item)
        label = {"phq9_item9": "PHQ-9 item 9", "core10_item6": "CORE-10 item 6 (risk)"}.get(
            item, item
        )
        alerts.append(
            make_alert(
                "risk",
                client_id=row.client_id,
                session=row.session,
                title="Risk item endorsed",
                explanation=(
                    f"At session {row.session} the client answered {_fmt(row.risk_value)} "
                    f"(above 0) on {label}. Review risk with the client per your clinic's "
                    "protocol."
                ),
                evidence={"item": item, "value": row.risk_value},
            )
        )

    for oid in outcomes:
        colour_col, status_col = f"{oid}_colour", f"{oid}_status"
        flagged = latest[latest[colour_col].isin(["red", "yellow"])]
        for row in _rows(flagged):
            r: dict[str, Any] = row._asdict()
            red = r[colour_col] == "red"
            severity, priority = ("high", 80) if red else ("moderate", 50)
            alerts.append(
                make_alert(
                    "not_on_track",
                    client_id=r["client_id"],
                    session=r["session"],
                    severity=severity,
                    priority=priority,
                    title=(
                        f"Not on track on {oid} (red)"
                        if red
                        else f"Less progress than expected on {oid} (yellow)"
                    ),
                    explanation=(
                        f"{oid} went from {_fmt(r[f'{oid}_intake'])} at intake to "
                        f"{_fmt(r[f'{oid}_score'])} at session {r['session']}. Clients "
                        f"starting there are expected to be at about "
                        f"{_fmt(r[f'{oid}_intake'] + r[f'{oid}_expected'])}"
                        + (
                            f"; this is beyond the {_fmt(r[f'{oid}_intake'] + r[f'{oid}_limit'])}"
                            " limit within which most clients who do well fall."
                            if red
                            else "."
                        )
                        + f" Expected curves: {r[f'{oid}_curve_source']}."
                    ),
                    evidence={
                        "instrument": oid,
                        "colour": r[colour_col],
                        "intake": r[f"{oid}_intake"],
                        "score": r[f"{oid}_score"],
                        "expected": r[f"{oid}_intake"] + r[f"{oid}_expected"],
                        "limit": r[f"{oid}_intake"] + r[f"{oid}_limit"],
                        "curve_source": r[f"{oid}_curve_source"],
                    },
                )
            )
        worse = latest[latest[status_col] == "reliably_deteriorated"]
        for row in _rows(worse):
            r = row._asdict()
            alerts.append(
                make_alert(
                    "reliable_deterioration",
                    client_id=r["client_id"],
                    session=r["session"],
                    title=f"Reliable deterioration on {oid}",
                    explanation=(
                        f"{oid} went from {_fmt(r[f'{oid}_intake'])} at intake to "
                        f"{_fmt(r[f'{oid}_score'])} at session {r['session']}, a change of "
                        f"{_fmt(r[f'{oid}_change'])}, at least the reliable-change threshold "
                        f"of {_fmt(r[f'{oid}_rc'])} (Jacobson & Truax, 1991)."
                    ),
                    evidence={
                        "instrument": oid,
                        "intake": r[f"{oid}_intake"],
                        "score": r[f"{oid}_score"],
                        "change": r[f"{oid}_change"],
                        "reliable_change": r[f"{oid}_rc"],
                    },
                )
            )

    for ev in _rows(events):
        last = int(last_session[ev.client_id])
        if ev.status == "open":
            kind = "rupture_open"
            title = f"Possible rupture ({ev.component}) at session {ev.onset}, not yet repaired"
            tail = (
                f" It counts as repaired if alliance returns to {_fmt(ev.pre_level)} or above "
                f"by session {ev.onset + repair_window}."
            )
        elif ev.status == "unrepaired" and last - int(ev.status_session) < _RUPTURE_LOOKBACK:
            kind = "rupture_unrepaired"
            title = f"Unrepaired rupture ({ev.component}) from session {ev.onset}"
            tail = (
                f" Alliance had not returned to {_fmt(ev.pre_level)} by session "
                f"{ev.status_session}."
            )
        else:
            continue
        marker_text = {
            "withdrawal": " The client's answers point to withdrawal (holding back).",
            "confrontation": " The client's answers point to confrontation (tension or "
            "feeling misunderstood).",
        }.get(ev.marker, "")
        alerts.append(
            make_alert(
                kind,
                client_id=ev.client_id,
                session=last,
                component=ev.component,
                marker=ev.marker,
                title=title,
                explanation=(
                    f"Alliance ({alliance} total) fell from about {_fmt(ev.pre_level)} to "
                    f"{_fmt(ev.value)} at session {ev.onset} (a drop of {_fmt(ev.depth)}); "
                    f"the {ev.component} component dropped most.{marker_text}{tail}"
                ),
                evidence={
                    "onset": ev.onset,
                    "pre_level": ev.pre_level,
                    "value": ev.value,
                    "depth": ev.depth,
                    "evidence_score": ev.evidence,
                    "component": ev.component,
                    "marker": ev.marker,
                    "status": ev.status,
                    "status_session": ev.status_session,
                },
            )
        )

    weak = latest[latest["weak_early_alliance"] & (latest["session"] <= 2 * early_session)]
    for row in _rows(weak):
        reasons = []
        if row.early_alliance_low:
            reasons.append(
                f"mean alliance over sessions 1-{early_session} was "
                f"{_fmt(row.early_alliance_mean)}, below {_fmt(row.early_alliance_reference)} "
                f"({early_reference_source})"
            )
        if row.early_alliance_falling:
            reasons.append(
                f"alliance fell by {_fmt(-row.early_alliance_slope)} points per session over "
                f"sessions 1-{early_session}"
            )
        alerts.append(
            make_alert(
                "weak_early_alliance",
                client_id=row.client_id,
                session=row.session,
                title="Weak early alliance",
                explanation="Early alliance predicts outcome; here the "
                + " and ".join(reasons)
                + ".",
                evidence={
                    "early_mean": row.early_alliance_mean,
                    "early_slope": row.early_alliance_slope,
                    "reference": row.early_alliance_reference,
                    "reference_source": early_reference_source,
                },
            )
        )

    flat = latest[latest["uninformative"]]
    for row in _rows(flat):
        alerts.append(
            make_alert(
                "uninformative_ratings",
                client_id=row.client_id,
                session=row.session,
                title="Alliance ratings cannot show ruptures",
                explanation=(
                    f"The alliance total has been at the scale maximum for "
                    f"{int(row.alliance_at_maximum_run)} session(s) and unchanged for "
                    f"{int(row.alliance_constant_run)} session(s) in a row, so a rupture "
                    "would not show in the ratings."
                ),
                evidence={
                    "at_maximum_run": row.alliance_at_maximum_run,
                    "constant_run": row.alliance_constant_run,
                },
            )
        )
    order = sorted(
        range(len(alerts)),
        key=lambda i: (
            -alerts[i].priority,
            str(alerts[i].client_id),
            alerts[i].kind,
            alerts[i].title,
        ),
    )
    return tuple(alerts[i] for i in order)
