"""The client page's data: summary, alliance and symptom series, alerts, item answers.

Everything here is plain data (the page's JSON twin), read through the storage queries;
the charts are drawn from it by :func:`bordin.web.pages._client_page.render_charts`.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from bordin.feedback.wording import colour_legend
from bordin.storage.models import Alert, Signal, User
from bordin.web.pages._labels import COLOUR_LABELS, SEVERITY_LABELS, badge_for, severity_class
from bordin.web.pages._page import base_context
from bordin.web.pages._reads import list_client_items, list_form_status

__all__ = ["ALLIANCE_INSTRUMENTS", "OUTCOME_INSTRUMENTS", "client_context"]


ALLIANCE_INSTRUMENTS = ("sac", "wai_sr")
OUTCOME_INSTRUMENTS = ("phq9", "gad7", "core10", "k10", "ors", "oq45")
ALLIANCE_SCALES = ("total", "bond", "goal", "task")


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _scale_range(definition: Any, scale_name: str) -> tuple[float, float]:
    scale = definition.scale(scale_name)
    items = [definition.item(n) for n in scale.items]
    if scale.method == "mean":
        return min(i.min_value for i in items), max(i.max_value for i in items)
    return sum(i.min_value for i in items), sum(i.max_value for i in items)


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _alert_record(alert: Alert, names: dict[int, str]) -> dict[str, Any]:
    evidence = alert.evidence if isinstance(alert.evidence, dict) else {}
    return {
        "id": alert.id,
        "kind": alert.kind,
        "badge": badge_for(alert.kind),
        "severity": alert.severity,
        "severity_label": SEVERITY_LABELS.get(alert.severity, alert.severity),
        "severity_class": severity_class(alert.severity),
        "session": alert.session,
        "title": alert.title,
        "explanation": alert.explanation,
        "evidence": [
            {"name": str(k).replace("_", " "), "value": v}
            for k, v in evidence.items()
            if v is not None and not isinstance(v, dict | list)
        ],
        "suggestions": list(alert.suggestions or []),
        "references": list(alert.references or []),
        "acknowledged": (
            {
                "at": alert.acknowledged_at,
                "by": names.get(alert.acknowledged_by or 0, ""),
                "note": alert.note or "",
            }
            if alert.acknowledged_at is not None
            else None
        ),
    }


def _alliance(frame: Any, ruptures: list[dict[str, Any]]) -> dict[str, Any] | None:
    from bordin.instruments import get_instrument

    instrument = next((i for i in ALLIANCE_INSTRUMENTS if f"{i}_total" in frame.columns), None)
    if instrument is None:
        return None
    definition = get_instrument(instrument)
    low, high = _scale_range(definition, "total")
    points = []
    for record in frame.to_dict(orient="records"):
        point: dict[str, Any] = {"session": int(record["session"])}
        for scale in ALLIANCE_SCALES:
            point[scale] = _number(record.get(f"{instrument}_{scale}"))
        if any(point[s] is not None for s in ALLIANCE_SCALES):
            points.append(point)
    return {
        "instrument": instrument,
        "name": definition.short_name,
        "validated": definition.validated,
        "scale_min": low,
        "scale_max": high,
        "sessions": points,
        "ruptures": ruptures,
    }


def _leading_detector(signals: list[Signal]) -> str:
    """The rupture detector that led when these signals were stored: the service computes
    with the default :class:`~bordin.feedback.FeedbackConfig`, whose ``rupture_detector``
    leads the alerts too; signals stored before the adaptive detector was reported (their
    session rows have no ``rupture_adaptive``; the client is recomputed at the clinic's
    next norms refit) were led by the fixed-constant one."""
    from bordin.feedback import FeedbackConfig

    sessions = [s.data or {} for s in signals if s.kind == "session"]
    if sessions and not any("rupture_adaptive" in data for data in sessions):
        return "bordin"
    return FeedbackConfig().rupture_detector


def _ruptures(signals: list[Signal]) -> list[dict[str, Any]]:
    """The leading detector's rupture events on the alliance total."""
    leading = _leading_detector(signals)
    events = []
    for signal in signals:
        data = signal.data or {}
        if signal.kind != "rupture" or data.get("detector") != leading:
            continue
        if data.get("scale") != "total":
            continue
        onset = data.get("onset")
        if onset is None:
            continue
        repair = data.get("repair_session")
        events.append(
            {
                "onset": int(onset),
                "status": str(data.get("status") or "open"),
                "repair_session": int(repair) if repair is not None else None,
                "component": data.get("component"),
                "marker": data.get("marker"),
            }
        )
    return sorted(events, key=lambda e: e["onset"])


def _symptoms(frame: Any, signals: list[Signal]) -> list[dict[str, Any]]:
    from bordin.instruments import get_instrument

    per_session = {
        s.session: (s.data or {}) for s in signals if s.kind == "session" and s.session is not None
    }
    charts = []
    for instrument in OUTCOME_INSTRUMENTS:
        if f"{instrument}_total" not in frame.columns:
            continue
        definition = get_instrument(instrument)
        scale = definition.scale(definition.primary_scale)
        column = definition.column(definition.primary_scale)
        low, high = _scale_range(definition, definition.primary_scale)
        sessions = []
        for record in frame.to_dict(orient="records"):
            session = int(record["session"])
            score = _number(record.get(column))
            signal = per_session.get(session, {})
            intake = _number(signal.get(f"{instrument}_intake"))
            expected = _number(signal.get(f"{instrument}_expected"))
            limit = _number(signal.get(f"{instrument}_limit"))
            band = None
            if intake is not None and expected is not None and limit is not None:
                a, b = intake + expected, intake + limit
                band = {"low": max(min(a, b), low), "high": min(max(a, b), high)}
            sessions.append(
                {
                    "session": session,
                    "score": score,
                    "expected": band,
                    "colour": signal.get(f"{instrument}_colour"),
                    "progress": COLOUR_LABELS.get(str(signal.get(f"{instrument}_colour"))),
                    "status": signal.get(f"{instrument}_status"),
                }
            )
        cutoff = scale.cutoff
        reliable = scale.reliable_change
        charts.append(
            {
                "instrument": instrument,
                "name": definition.short_name,
                "label": scale.label,
                "scale_min": low,
                "scale_max": high,
                "higher_is_worse": scale.direction == "higher_is_worse",
                "cutoff": cutoff.value if cutoff is not None else None,
                "cutoff_label": cutoff.label if cutoff is not None else None,
                "reliable_change": reliable.value if reliable is not None else None,
                "sessions": sessions,
            }
        )
    return charts


def _summary(
    client: dict[str, Any],
    alliance: dict[str, Any] | None,
    symptoms: list[dict[str, Any]],
    open_alerts: list[dict[str, Any]],
) -> list[str]:
    lines = []
    last = client["last_session"]
    if last is None:
        lines.append("No sessions recorded yet.")
    else:
        lines.append(f"Last session: {last}.")
    if open_alerts:
        lines.append(
            f"{len(open_alerts)} open alert{'s' if len(open_alerts) != 1 else ''}: "
            + "; ".join(a["title"] for a in open_alerts)
            + "."
        )
    else:
        lines.append("No open alerts.")
    if alliance and alliance["sessions"]:
        scored = [p for p in alliance["sessions"] if p["total"] is not None]
        if scored:
            latest = scored[-1]
            text = (
                f"Alliance ({alliance['name']} total): {_fmt(latest['total'])} "
                f"at session {latest['session']}"
            )
            if len(scored) > 1:
                text += f", {_fmt(scored[-2]['total'])} at session {scored[-2]['session']}"
            lines.append(text + ".")
        unrepaired = [r for r in alliance["ruptures"] if r["status"] != "repaired"]
        repaired = [r for r in alliance["ruptures"] if r["status"] == "repaired"]
        if unrepaired:
            lines.append(
                "Rupture not (yet) repaired, from session "
                + ", ".join(str(r["onset"]) for r in unrepaired)
                + "."
            )
        if repaired:
            lines.append(f"{len(repaired)} rupture(s) repaired.")
    for chart in symptoms:
        scored = [s for s in chart["sessions"] if s["score"] is not None]
        if not scored:
            continue
        first, latest = scored[0], scored[-1]
        text = (
            f"{chart['name']}: {_fmt(latest['score'])} at session {latest['session']} "
            f"(first {_fmt(first['score'])})"
        )
        if chart["reliable_change"] is not None and len(scored) > 1:
            change = latest["score"] - first["score"]
            if abs(change) >= chart["reliable_change"]:
                worse = change > 0 if chart["higher_is_worse"] else change < 0
                text += "; reliably " + ("worse" if worse else "better")
            else:
                text += "; no reliable change"
        if chart["cutoff"] is not None:
            above = latest["score"] >= chart["cutoff"]
            clinical = above if chart["higher_is_worse"] else not above
            text += "; " + ("in" if clinical else "below") + " the clinical range"
        lines.append(text + ".")
    return lines


def client_context(db: Session, user: User, client_id: int) -> dict[str, Any]:
    """The client page's data (the JSON twin); charts are drawn from it."""
    from sqlalchemy import select

    from bordin.storage.models import User as UserModel
    from bordin.storage.queries import (
        get_client,
        get_scores_frame,
        get_wording,
        list_alerts,
        list_feedback_history,
        list_sessions,
        list_signals,
    )

    client = get_client(db, actor=user, client_id=client_id)
    sessions = list_sessions(db, actor=user, client_id=client.id)
    frame = get_scores_frame(db, actor=user, client_id=client.id)
    signals = list_signals(db, actor=user, client_id=client.id)
    alerts = list_alerts(db, actor=user, client_id=client.id)
    items = list_client_items(db, actor=user, client_id=client.id)
    history = list_feedback_history(db, actor=user, client_id=client.id)
    form = list_form_status(db, actor=user).get(client.id)
    names = {
        u.id: u.display_name or u.username
        for u in db.scalars(select(UserModel).where(UserModel.clinic_id == user.clinic_id))
    }

    ruptures = _ruptures(signals)
    alliance = _alliance(frame, ruptures)
    symptoms = _symptoms(frame, signals)
    records = [_alert_record(a, names) for a in alerts]
    open_alerts = [a for a in records if a["acknowledged"] is None]
    done_alerts = [a for a in records if a["acknowledged"] is not None]

    last = max(sessions, key=lambda s: s.number) if sessions else None
    last_text = None
    if last is not None:
        last_text = f"session {last.number}" + (
            f" on {last.date.strftime('%d %b %Y')}" if last.date else ""
        )
    client_info = {
        "id": client.id,
        "code": client.code,
        "therapist": names.get(client.therapist_id, ""),
        "sessions": len(sessions),
        "last_session": last_text,
        "form": (
            {"state": form.state, "expires_at": form.expires_at, "submitted_at": form.submitted_at}
            if form is not None
            else None
        ),
    }

    wording: dict[str, dict[str, Any]] = {}
    detail: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for row in items:
        instrument = row["instrument"]
        if instrument not in wording:
            wording[instrument] = get_wording(db, client.clinic_id, instrument, "en")
        pack = wording[instrument]
        texts = {int(i["number"]): i for i in pack.get("items", [])}
        entry = texts.get(row["item"], {})
        labels = {
            float(o["value"]): str(o["label"])
            for o in pack.get("response_sets", {}).get(entry.get("responses", ""), [])
        }
        detail.setdefault(row["session"], {}).setdefault(instrument, []).append(
            {
                "item": row["item"],
                "text": entry.get("text", f"Item {row['item']}"),
                "value": row["value"],
                "label": labels.get(float(row["value"]), ""),
            }
        )
    item_detail = [
        {
            "session": session,
            "instruments": [
                {
                    "instrument": instrument,
                    "title": wording[instrument].get("title", instrument),
                    "items": rows,
                }
                for instrument, rows in sorted(by_instrument.items())
            ],
        }
        for session, by_instrument in sorted(detail.items(), reverse=True)
    ]

    from bordin.web.pages._caseload import form_choices, form_languages
    from bordin.web.pages._client_pair import pair_context, pair_summary

    therapist_side = pair_context(db, user, client, frame)

    context = base_context(user, title=f"Client {client.code}", current="")
    context.update(
        {
            "client": client_info,
            "form_choices": form_choices(db, client.clinic_id, client.id),
            "form_languages": form_languages(db, client.id),
            "summary": [
                *_summary(client_info, alliance, symptoms, open_alerts),
                *pair_summary(therapist_side),
            ],
            "alerts": open_alerts,
            "colour_legend": list(colour_legend()),
            "acknowledged_alerts": done_alerts,
            "alliance": alliance,
            "symptoms": symptoms,
            "item_detail": item_detail,
            "norms": _norms_note(db, client.clinic_id, signals),
            **therapist_side,
            "feedback_history": [
                {
                    "session": h.session,
                    "recorded_at": h.recorded_at,
                    "norms_id": h.norms_id,
                    "alerts": [
                        {
                            "kind": a.get("kind"),
                            "severity": a.get("severity"),
                            "title": a.get("title"),
                        }
                        for a in h.alerts
                    ],
                }
                for h in reversed(history)
            ],
        }
    )
    return context


def _norms_note(db: Session, clinic_id: int, signals: list[Any]) -> dict[str, Any] | None:
    """Which clinic norms snapshot the client's current signals were computed against."""
    from bordin.storage.models import NormsSnapshot
    from bordin.web.pages._norms import snapshot_facts

    ids = {s.norms_id for s in signals if s.norms_id is not None}
    if not ids:
        return None
    snapshot = db.get(NormsSnapshot, max(ids))
    if snapshot is None or snapshot.clinic_id != clinic_id:
        return None
    return snapshot_facts(snapshot)
