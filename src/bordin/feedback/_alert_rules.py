"""Turn the per-session signals at each client's latest session into alerts.

:func:`build_alerts` is a pipeline with one step per alert kind (risk, not on track,
reliable deterioration, ruptures, weak early alliance, uninformative ratings). Each step
selects its clients with a vectorised mask, converts the few columns it needs to Python
lists once, and words the explanations in one pass, in clinic terms
(:mod:`bordin.feedback.wording`): instrument names from the registry, numbers rounded to
what the scale can show, colours explained, and risk items quoted where their wording ships.

Which signals are shown as alerts, and for how long, is decided by three small functions
of :mod:`bordin.feedback.alerts` (``alerted_colours``, ``unrepaired_shown``,
``early_alliance_shown``) on the :class:`~bordin.feedback.config.FeedbackConfig`;
:func:`build_alerts`, the engine's client table (``n_alerts``, ``priority``,
``top_alert``) and :func:`bordin.analytics.session_alerts` all use them, so the service,
the CLI, the report and the burden analysis of docs/alert-validity.md count the same open
alerts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bordin.errors import InstrumentError
from bordin.feedback.alerts import (
    ALERT_KINDS,
    Alert,
    alerted_colours,
    early_alliance_shown,
    unrepaired_shown,
)
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.content import detector_references, references_for, suggestions_for
from bordin.feedback.wording import (
    colour_meaning,
    format_date,
    format_score,
    instrument_label,
    risk_item_wording,
    scale_decimals,
)
from bordin.instruments import get_instrument

__all__ = ["build_alerts"]

_KIND_RANK = {kind: i for i, kind in enumerate(ALERT_KINDS)}
_MARKER_TEXT = {
    "withdrawal": " The client's answers point to withdrawal (holding back).",
    "confrontation": " The client's answers point to confrontation (tension or feeling "
    "misunderstood).",
}
_CURVE_TEXT = {
    "clinic": "The expected course is fitted on this clinic's clients.",
    "norms": "The expected course comes from bundled norms (this clinic has too few clients "
    "to fit its own).",
}
_EVENT_COLUMNS = (
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


def _values(column: Any, idx: np.ndarray) -> list[Any]:
    """Selected values of a column (array, categorical or series) as Python scalars; NaN
    and NA become None."""
    values = np.asarray(column)[idx]
    if values.dtype.kind == "f":
        return [None if v != v else v for v in values.tolist()]
    return [None if (v is None or v is pd.NA or v != v) else v for v in values.tolist()]


@dataclass(frozen=True)
class _Latest:
    """The sessions table at each client's latest session, with what every step needs."""

    frame: Mapping[str, Any]
    client_ids: list[Any]
    sessions: np.ndarray
    dates: list[str | None]

    @classmethod
    def of(cls, latest: Mapping[str, Any], dates: Sequence[Any] | None) -> _Latest:
        n = len(latest["session"])
        if dates is not None and len(dates) != n:
            raise ValueError(f"dates has {len(dates)} values for {n} clients")
        return cls(
            frame=latest,
            client_ids=_values(latest["client_id"], np.arange(n)),
            sessions=np.asarray(latest["session"]),
            dates=[None] * n if dates is None else [format_date(d) for d in dates],
        )

    def column(self, name: str, idx: np.ndarray) -> list[Any]:
        return _values(self.frame[name], idx)

    def array(self, name: str, dtype: Any = None) -> np.ndarray:
        """A whole column as a numpy array."""
        return np.asarray(self.frame[name], dtype=dtype)

    def when(self, i: int) -> str:
        """``on 2026-03-02 (session 7)``, or ``at session 7`` when the date is unknown."""
        session = int(self.sessions[i])
        day = self.dates[i]
        return f"on {day} (session {session})" if day else f"at session {session}"


class _Collector:
    """Alerts with their sort keys (priority, client order, kind, tie-break)."""

    def __init__(self, latest: _Latest) -> None:
        self.latest = latest
        self.alerts: list[Alert] = []
        self.keys: list[tuple[int, int, int, int]] = []

    def add(
        self,
        kind: str,
        row: int,
        *,
        title: str,
        explanation: str,
        evidence: dict[str, Any],
        suggestions: tuple[str, ...] | None = None,
        severity: str | None = None,
        priority: int | None = None,
        tiebreak: int = 0,
        references: tuple[str, ...] = (),
    ) -> None:
        default_severity, default_priority = ALERT_KINDS[kind]
        prio = default_priority if priority is None else priority
        self.alerts.append(
            Alert(
                client_id=self.latest.client_ids[row],
                session=int(self.latest.sessions[row]),
                kind=kind,
                severity=severity or default_severity,
                priority=prio,
                title=title,
                explanation=explanation,
                evidence=evidence,
                suggestions=suggestions_for(kind) if suggestions is None else suggestions,
                references=references_for(kind) + references,
            )
        )
        self.keys.append((-prio, row, _KIND_RANK[kind], tiebreak))

    def sorted(self) -> tuple[Alert, ...]:
        order = sorted(range(len(self.alerts)), key=self.keys.__getitem__)
        return tuple(self.alerts[i] for i in order)


def build_alerts(
    latest: Mapping[str, Any],
    events: pd.DataFrame,
    *,
    alliance: str,
    outcomes: tuple[str, ...],
    early_reference_source: str,
    config: FeedbackConfig,
    dates: Sequence[Any] | None = None,
) -> tuple[Alert, ...]:
    """Alerts for each client's latest session, highest priority first, then client order.

    ``latest`` holds one row per client in client order (the sessions table's columns at
    each client's last session: a data frame or a mapping of column arrays); ``events``
    are the leading detector's (``config.rupture_detector``) rupture events on the
    alliance total. ``config`` gives the
    colours that raise a not-on-track alert, how long unrepaired ruptures and weak early
    alliance stay alerts, and the level of the prediction limit the colours refer to.
    ``dates`` (optional) is the date of each client's latest session, in the same order,
    so that a risk alert says when the form was answered.
    """
    rows = _Latest.of(latest, dates)
    out = _Collector(rows)
    _risk(out, rows)
    for oid in outcomes:
        _not_on_track(out, rows, oid, config=config)
        _reliable_deterioration(out, rows, oid)
    _ruptures(out, rows, events, alliance=alliance, config=config)
    _weak_early_alliance(out, rows, alliance=alliance, config=config, source=early_reference_source)
    _uninformative(out, rows, alliance=alliance)
    return out.sorted()


def _risk(out: _Collector, rows: _Latest) -> None:
    """A risk item endorsed at the latest session: the item's wording and the answer."""
    idx = np.flatnonzero(rows.array("risk", bool))
    for i, item, value in zip(
        idx.tolist(), rows.column("risk_item", idx), rows.column("risk_value", idx), strict=True
    ):
        said = risk_item_wording(item, value)
        quoted = f' ("{said.text}")' if said.text else ""
        answer = f'"{said.answer}"' if said.text else f"{said.answer}"
        out.add(
            "risk",
            i,
            title=f"Risk item endorsed: {said.item}",
            explanation=(
                f"{rows.when(i).capitalize()} the client answered {answer} to {said.item}"
                f"{quoted}. An answer of {said.threshold} raises this alert. Review risk with "
                "the client per your clinic's protocol."
            ),
            evidence={
                "item": item,
                "value": value,
                "answer": said.answer,
                "item_text": said.text,
                "date": rows.dates[i],
            },
        )


def _outcome_cols(
    rows: _Latest, oid: str, idx: np.ndarray, names: Sequence[str]
) -> dict[str, list[Any]]:
    return {name: rows.column(f"{oid}_{name}", idx) for name in names}


def _not_on_track(out: _Collector, rows: _Latest, oid: str, *, config: FeedbackConfig) -> None:
    """Red (and yellow, if the clinic counts it) against the expected recovery curve (Finch
    et al., 2001)."""
    level = config.not_on_track_level
    colour = rows.array(f"{oid}_colour", object)
    idx = np.flatnonzero(np.isin(colour, alerted_colours(config)))
    if not len(idx):
        return
    cols = _outcome_cols(rows, oid, idx, ("intake", "score", "expected", "limit", "curve_source"))
    name, dec = instrument_label(oid), scale_decimals(oid)
    worse_is_higher = get_instrument(oid).direction == "higher_is_worse"
    pct = f"{100 * level:g}"
    meaning = {c: colour_meaning(c, level=level).capitalize() for c in ("red", "yellow")}
    for k, i in enumerate(idx.tolist()):
        red = colour[i] == "red"
        intake, score = cols["intake"][k], cols["score"][k]
        expected = intake + cols["expected"][k]
        limit = intake + cols["limit"][k]
        bound, side = _on_track_bound(limit, dec, worse_is_higher)
        s = int(rows.sessions[i])
        text = (
            f"{name} went from {format_score(intake, dec)} at intake to "
            f"{format_score(score, dec)} at session {s}. Clients who started at "
            f"{format_score(intake, dec)} are expected to be at about "
            f"{format_score(expected, dec)} by session {s}, and {pct}% of them at "
            f"{format_score(bound, dec)} or {side}. "
            f"{meaning[colour[i]]}. "
            f"{_CURVE_TEXT.get(cols['curve_source'][k], '')}"
        )
        out.add(
            "not_on_track",
            i,
            severity="high" if red else "moderate",
            priority=80 if red else 50,
            title=(
                f"Not on track on {name} (red)"
                if red
                else f"Less progress than expected on {name} (yellow)"
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
        )


def _on_track_bound(limit: float | None, decimals: int, worse_is_higher: bool) -> tuple[Any, str]:
    """The last score the scale can show that is still within the limit, and its side."""
    if limit is None:
        return None, "less" if worse_is_higher else "more"
    factor = 10.0**decimals
    if worse_is_higher:
        return math.floor(limit * factor + 1e-9) / factor, "less"
    return math.ceil(limit * factor - 1e-9) / factor, "more"


def _reliable_deterioration(out: _Collector, rows: _Latest, oid: str) -> None:
    """A change from intake at least the reliable-change threshold, for the worse."""
    status = rows.array(f"{oid}_status", object)
    idx = np.flatnonzero(status == "reliably_deteriorated")
    if not len(idx):
        return
    cols = _outcome_cols(rows, oid, idx, ("intake", "score", "change", "rc"))
    name, dec = instrument_label(oid), scale_decimals(oid)
    for k, i in enumerate(idx.tolist()):
        out.add(
            "reliable_deterioration",
            i,
            title=f"Reliable deterioration on {name}",
            explanation=(
                f"{name} went from {format_score(cols['intake'][k], dec)} at intake to "
                f"{format_score(cols['score'][k], dec)} at session {int(rows.sessions[i])}, "
                f"a change of {format_score(cols['change'][k], dec)} points, at least the "
                f"reliable-change threshold of {format_score(cols['rc'][k], dec)} points "
                "(Jacobson & Truax, 1991)."
            ),
            evidence={
                "instrument": oid,
                "intake": cols["intake"][k],
                "score": cols["score"][k],
                "change": cols["change"][k],
                "reliable_change": cols["rc"][k],
            },
        )


def _alliance_name(alliance: str) -> str:
    try:
        return f"{get_instrument(alliance).name} total"
    except InstrumentError:  # an alliance measure outside the registry: its id
        return f"{alliance} total"


def _ruptures(
    out: _Collector, rows: _Latest, events: pd.DataFrame, *, alliance: str, config: FeedbackConfig
) -> None:
    """Open ruptures, and unrepaired ones for ``config.unrepaired_alert_sessions`` sessions
    (the leading detector's events). The adaptive detector's evidence is the posterior
    probability of a rupture, said in words and cited (its method's references follow the
    clinical ones); the fixed-constant detector's is an evidence score."""
    if not len(events):
        return
    repair_window = config.repair_window
    position = pd.Index(rows.array("client_id")).get_indexer(events["client_id"])
    last = rows.sessions[position]
    status = events["status"].to_numpy(dtype=object)
    status_session = events["status_session"].to_numpy()
    keep = (status == "open") | (
        (status == "unrepaired") & unrepaired_shown(last, status_session, config)
    )
    idx = np.flatnonzero(keep)
    ev = {name: _values(events[name], idx) for name in _EVENT_COLUMNS}
    scale, dec = _alliance_name(alliance), scale_decimals(alliance)

    def fmt(value: float | None) -> str:
        return format_score(value, dec)

    adaptive = config.rupture_detector == "adaptive"
    method = detector_references(config.rupture_detector)

    for k, j in enumerate(idx.tolist()):
        i = int(position[j])
        onset, component, marker = ev["onset"][k], ev["component"][k], ev["marker"][k]
        pre = ev["pre_level"][k]
        if ev["status"][k] == "open":
            kind = "rupture_open"
            title = f"Possible rupture ({component}) at session {onset}, not yet repaired"
            tail = (
                f" It counts as repaired if alliance returns to {fmt(pre)} or above by "
                f"session {onset + repair_window}."
            )
        else:
            kind = "rupture_unrepaired"
            title = f"Unrepaired rupture ({component}) from session {onset}"
            tail = f" Alliance had not returned to {fmt(pre)} by session {ev['status_session'][k]}."
        out.add(
            kind,
            i,
            tiebreak=int(onset),
            title=title,
            explanation=(
                f"Alliance ({scale}) fell from about {fmt(pre)} to {fmt(ev['value'][k])} at "
                f"session {onset} (a drop of {fmt(ev['depth'][k])}); the {component} "
                f"component dropped most.{_MARKER_TEXT.get(marker, '')}"
                f"{_probability_text(ev['evidence'][k], config) if adaptive else ''}{tail}"
            ),
            evidence={
                "onset": onset,
                "pre_level": pre,
                "value": ev["value"][k],
                "depth": ev["depth"][k],
                ("rupture_probability" if adaptive else "evidence_score"): ev["evidence"][k],
                "component": component,
                "marker": marker,
                "status": ev["status"][k],
                "status_session": ev["status_session"][k],
            },
            suggestions=suggestions_for(kind, component, marker),
            references=method,
        )


def _probability_text(posterior: float | None, config: FeedbackConfig) -> str:
    """The adaptive detector's evidence in words: the posterior probability that the drop
    belongs to the ruptures of a mixture fitted on the clinic's ratings (EM: Dempster et
    al., 1977; t null: Peel & McLachlan, 2000; empirical null: Efron, 2004); where the
    clinic has too few ratings at that session number for the mixture, the fallback rule
    (a drop of ``sd_k_strict`` typical prediction errors, or, before the clinic has a
    residual scale there, ``sd_k_strict`` within-client SDs; Stiles et al., 2004)."""
    if posterior is None or not math.isfinite(posterior):
        return (
            " This clinic has too few ratings at this session number for Bordin's rupture "
            f"model: the drop was at least {config.sd_k_strict:g} standard deviations of "
            "session-to-session change, the published criterion it falls back on (Stiles et "
            "al., 2004)."
        )
    shown = "above 99%" if posterior >= 0.995 else f"{posterior:.0%}"
    return (
        " Fitted on this clinic's ratings, Bordin's rupture model puts the probability that "
        f"a drop like this is a rupture rather than chance variation at {shown}."
    )


def _weak_early_alliance(
    out: _Collector, rows: _Latest, *, alliance: str, config: FeedbackConfig, source: str
) -> None:
    """Low or falling alliance over the first sessions (shown until
    ``config.early_alert_until()``)."""
    early_session = config.early_session
    weak = early_alliance_shown(rows.array("weak_early_alliance", bool), rows.sessions, config)
    idx = np.flatnonzero(weak)
    if not len(idx):
        return
    cols = {
        name: rows.column(f"early_alliance_{name}", idx)
        for name in ("low", "falling", "mean", "slope", "reference")
    }
    scale, dec = _alliance_name(alliance), scale_decimals(alliance)
    for k, i in enumerate(idx.tolist()):
        reasons = []
        if cols["low"][k]:
            reasons.append(
                f"mean alliance ({scale}) over sessions 1-{early_session} was "
                f"{format_score(cols['mean'][k], dec)}, below "
                f"{format_score(cols['reference'][k], dec)} ({source})"
            )
        if cols["falling"][k]:
            slope = cols["slope"][k]
            reasons.append(
                f"alliance fell by {format_score(None if slope is None else -slope, dec + 1)} "
                f"points per session over sessions 1-{early_session}"
            )
        out.add(
            "weak_early_alliance",
            i,
            title="Weak early alliance",
            explanation="Early alliance predicts outcome; here the " + " and ".join(reasons) + ".",
            evidence={
                "early_mean": cols["mean"][k],
                "early_slope": cols["slope"][k],
                "reference": cols["reference"][k],
                "reference_source": source,
            },
        )


def _uninformative(out: _Collector, rows: _Latest, *, alliance: str) -> None:
    """Alliance ratings at the scale maximum or unchanged: a rupture could not show."""
    idx = np.flatnonzero(rows.array("uninformative", bool))
    at_max = rows.column("alliance_at_maximum_run", idx)
    constant = rows.column("alliance_constant_run", idx)
    scale = _alliance_name(alliance)
    for k, i in enumerate(idx.tolist()):
        out.add(
            "uninformative_ratings",
            i,
            title="Alliance ratings cannot show ruptures",
            explanation=(
                f"The alliance ({scale}) has been at the scale maximum for {at_max[k]} "
                f"session(s) and unchanged for {constant[k]} session(s) in a row, so a "
                "rupture would not show in the ratings."
            ),
            evidence={"at_maximum_run": at_max[k], "constant_run": constant[k]},
        )
