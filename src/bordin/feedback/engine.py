"""``compute_feedback`` and ``detect_ruptures``: every feedback signal for a whole clinic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bordin.feedback._alert_rules import build_alerts
from bordin.feedback._prepare import Prepared, prepare_scores
from bordin.feedback.ceiling import detect_uninformative
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.early import assess_early_alliance
from bordin.feedback.outcomes import assess_outcome
from bordin.feedback.repairs import (
    RUPTURE_COLUMNS,
    classify_repairs,
    client_rupture_code,
)
from bordin.feedback.result import FeedbackResult
from bordin.feedback.risk import assess_risk
from bordin.feedback.ruptures import COMPONENTS, MARKERS, Detector, run_detector
from bordin.feedback.trajectories import CurveNorm, assess_trajectory, load_norms

__all__ = ["compute_feedback", "detect_ruptures"]

_REPORTED: tuple[tuple[Detector, str], ...] = (
    ("bordin", "total"),
    ("sd_k1", "total"),
    ("sd_k2", "total"),
    ("reliable_change", "total"),
    ("items", "total"),
    ("sd_k1", "bond"),
    ("sd_k1", "goal"),
    ("sd_k1", "task"),
    ("sd_k2", "bond"),
    ("sd_k2", "goal"),
    ("sd_k2", "task"),
)


def detect_ruptures(
    scores: pd.DataFrame,
    *,
    alliance: str = "sac",
    detector: Detector = "bordin",
    scale: str = "total",
    config: FeedbackConfig | None = None,
) -> pd.DataFrame:
    """Rupture events found by one detector on one alliance scale, with repair status.

    Parameters
    ----------
    scores
        Wide session scores (``client_id, session, <alliance>_total, ...``), any row order.
    alliance
        Alliance instrument id (``sac``, ``wai_sr``).
    detector
        ``bordin`` (default), ``sd_k1``, ``sd_k2``, ``reliable_change`` or ``items``; see
        :func:`bordin.feedback.ruptures.run_detector` for each rule and its source.
    scale
        ``total``, ``bond``, ``goal`` or ``task``.

    Returns
    -------
    pandas.DataFrame
        One row per rupture event, columns :data:`bordin.feedback.RUPTURE_COLUMNS`.

    Raises
    ------
    InputError
        Missing columns, bad session numbers, or no reliable-change threshold for the scale.
    """
    config = config or FeedbackConfig()
    prepared = prepare_scores(scores, alliance=alliance)
    rc = _alliance_rc(prepared, config) if scale == "total" else None
    detection = run_detector(
        prepared, detector=detector, config=config, scale=scale, reliable_change=rc
    )
    events, _ = classify_repairs(detection, prepared, config)
    return events


def _alliance_rc(prepared: Prepared, config: FeedbackConfig) -> float | None:
    if config.alliance_reliable_change is not None:
        return float(config.alliance_reliable_change)
    return prepared.alliance_facts.reliable_change


def _text_as_object(frame: pd.DataFrame) -> pd.DataFrame:
    """Give text columns one dtype (object, None for missing) whatever pandas infers.

    pandas 3 infers its string dtype for all-text columns but not for all-None ones, so
    without this the dtype of a column would depend on the data.
    """
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.StringDtype) or dtype is np.dtype(object):
            values = frame[column].to_numpy(dtype=object)
            frame[column] = pd.Series(
                np.where(pd.isna(values), None, values), index=frame.index, dtype=object
            )
    return frame


def _label(codes: np.ndarray, labels: tuple[str, ...], mask: np.ndarray) -> np.ndarray:
    out = np.asarray(labels, dtype=object)[codes]
    out[~mask] = None
    return out


def compute_feedback(
    scores: pd.DataFrame,
    *,
    alliance: str = "sac",
    outcomes: Sequence[str] = ("phq9",),
    config: FeedbackConfig | None = None,
    norms: Mapping[str, CurveNorm] | None = None,
) -> FeedbackResult:
    """Every feedback signal for a whole clinic: ruptures and repairs, ceiling, early
    alliance, outcome status, not-on-track, risk, and alerts with suggestions.

    Parameters
    ----------
    scores
        Wide session scores, one row per client and session, any row order.
    alliance
        Alliance instrument id (``sac``, ``wai_sr``).
    outcomes
        Outcome instrument ids (``phq9``, ``gad7``, ``core10``); the first one drives the
        client's not-on-track colour.
    config
        Thresholds; :class:`FeedbackConfig` defaults follow the cited sources.
    norms
        Expected-recovery norms by outcome id, used when the clinic has too few clients to
        fit its own; defaults to the bundled norms.

    Returns
    -------
    FeedbackResult

    Notes
    -----
    The signal at session *t* uses only sessions up to *t* (clinic-level references such as
    the within-client SD, the early-alliance percentile and the expected curves are built
    from sessions numbered up to *t*); repair status is the only value later sessions
    change, and it records the session at which it changed. The result does not depend on
    the row order of ``scores``.
    """
    config = config or FeedbackConfig()
    outcomes = tuple(outcomes)
    prepared = prepare_scores(scores, alliance=alliance, outcomes=outcomes)
    if norms is None:
        norms = load_norms()
    notes: list[str] = []
    frame = prepared.frame
    groups = prepared.groups

    # ---- ruptures and repairs
    event_frames = []
    detections = {}
    counts_by: dict[tuple[str, str], Any] = {}
    rc = _alliance_rc(prepared, config)
    for detector, scale in _REPORTED:
        if scale not in prepared.alliance:
            continue
        if detector == "reliable_change" and rc is None:
            notes.append(
                f"The reliable-change rupture criterion was skipped: {prepared.alliance_id} "
                "has no reliable-change threshold (set FeedbackConfig.alliance_reliable_change "
                "to use it)."
            )
            continue
        if detector == "items" and not prepared.items:
            continue
        det = run_detector(
            prepared, detector=detector, config=config, scale=scale, reliable_change=rc
        )
        ev, counts = classify_repairs(det, prepared, config)
        detections[(detector, scale)] = det
        counts_by[(detector, scale)] = counts
        event_frames.append(ev)
    ruptures = _text_as_object(
        pd.concat(event_frames, ignore_index=True)
        if event_frames
        else pd.DataFrame(columns=list(RUPTURE_COLUMNS))
    )
    main = detections[("bordin", "total")]
    main_counts = counts_by[("bordin", "total")]

    # ---- other signals
    ceiling = detect_uninformative(prepared, config)
    early = assess_early_alliance(prepared, config)
    risk = assess_risk(prepared)
    if not prepared.risk:
        notes.append(
            "No risk-item columns (such as phq9_item9 or core10_item6) in the scores: risk "
            "alerts are not possible."
        )

    data: dict[str, Any] = {
        "client_id": frame["client_id"].to_numpy(),
    }
    if "therapist_id" in frame.columns:
        data["therapist_id"] = frame["therapist_id"].to_numpy()
    data["session"] = frame["session"].to_numpy()
    data["alliance"] = prepared.alliance["total"]
    data["alliance_baseline"] = main.pre_level
    data["alliance_evidence"] = main.evidence
    for (detector, scale), det in detections.items():
        if scale == "total":
            data[f"rupture_{detector}"] = det.flag
    data["rupture_onset"] = main.onset
    data["rupture_component"] = _label(main.component, COMPONENTS, main.onset)
    data["rupture_marker"] = _label(main.marker, MARKERS, main.onset)
    data["ruptures_open"] = main_counts.open.astype(np.int64)
    data["ruptures_repaired"] = main_counts.repaired.astype(np.int64)
    data["ruptures_unrepaired"] = main_counts.unrepaired.astype(np.int64)
    data["alliance_at_maximum_run"] = ceiling.at_maximum_run.astype(np.int64)
    data["alliance_constant_run"] = ceiling.constant_run.astype(np.int64)
    data["uninformative"] = ceiling.uninformative
    data["early_alliance_mean"] = early.early_mean
    data["early_alliance_slope"] = early.early_slope
    data["early_alliance_reference"] = early.reference
    data["early_alliance_low"] = early.low
    data["early_alliance_falling"] = early.falling
    data["weak_early_alliance"] = early.weak
    curve_sources: dict[str, str] = {}
    for oid in outcomes:
        out = assess_outcome(prepared, oid, config)
        facts = prepared.outcome_facts[oid]
        norm = norms.get(oid)
        traj = assess_trajectory(prepared, out, config, norm)
        data[f"{oid}_score"] = out.score
        data[f"{oid}_intake"] = out.intake
        data[f"{oid}_change"] = out.change
        data[f"{oid}_rc"] = np.full(
            groups.n_rows, np.nan if facts.reliable_change is None else facts.reliable_change
        )
        data[f"{oid}_status"] = out.status
        data[f"{oid}_response"] = out.response
        data[f"{oid}_remission"] = out.remission
        data[f"{oid}_expected"] = traj.expected
        data[f"{oid}_limit"] = traj.upper
        data[f"{oid}_colour"] = traj.colour
        data[f"{oid}_curve_source"] = traj.source
        used = pd.Series(traj.source).value_counts()
        parts = []
        if used.get("clinic", 0):
            parts.append(f"fitted on this clinic's data for {int(used['clinic'])} session(s)")
        if used.get("norms", 0) and norm is not None:
            parts.append(
                f"bundled norms for {int(used['norms'])} session(s) "
                f"(too few clients here; {norm.source})"
            )
        if used.get("none", 0):
            parts.append(f"not available for {int(used['none'])} session(s): too few clients")
        curve_sources[oid] = "; ".join(parts) if parts else "no follow-up sessions yet"
    data["risk"] = risk.flag
    data["risk_item"] = np.where(risk.flag, risk.item, np.asarray(None, dtype=object))
    data["risk_value"] = risk.value
    sessions = _text_as_object(pd.DataFrame(data))

    # ---- clients
    last = groups.last_row()
    latest = sessions.iloc[last].reset_index(drop=True)
    bordin_events = ruptures[
        (ruptures["detector"] == "bordin") & (ruptures["scale"] == "total")
    ].reset_index(drop=True)
    alerts = build_alerts(
        latest,
        bordin_events,
        alliance=prepared.alliance_id,
        outcomes=outcomes,
        early_reference_source=early.reference_source,
        early_session=config.early_session,
        repair_window=config.repair_window,
    )
    clients = _client_table(prepared, latest, main_counts, outcomes, alerts)
    clients = _text_as_object(
        clients.assign(rupture_code=client_rupture_code(main_counts, prepared))
    )
    return FeedbackResult(
        sessions=sessions,
        ruptures=ruptures,
        clients=clients,
        alerts=alerts,
        config=config,
        alliance=prepared.alliance_id,
        outcomes=outcomes,
        curve_sources=curve_sources,
        notes=tuple(dict.fromkeys(notes)),
    )


def _client_table(
    prepared: Prepared,
    latest: pd.DataFrame,
    counts: Any,
    outcomes: tuple[str, ...],
    alerts: tuple[Any, ...],
) -> pd.DataFrame:
    groups = prepared.groups
    last = groups.last_row()
    table: dict[str, Any] = {"client_id": latest["client_id"].to_numpy()}
    if "therapist_id" in latest.columns:
        table["therapist_id"] = latest["therapist_id"].to_numpy()
    table["first_session"] = prepared.session[groups.start].astype(np.int64)
    table["last_session"] = latest["session"].to_numpy()
    table["n_sessions"] = groups.size
    table["rupture_code"] = None
    table["ruptures"] = counts.onsets[last].astype(np.int64)
    table["ruptures_repaired"] = counts.repaired[last].astype(np.int64)
    table["ruptures_unrepaired"] = counts.unrepaired[last].astype(np.int64)
    table["ruptures_open"] = counts.open[last].astype(np.int64)
    table["weak_early_alliance"] = latest["weak_early_alliance"].to_numpy()
    table["uninformative"] = latest["uninformative"].to_numpy()
    for oid in outcomes:
        table[f"{oid}_status"] = latest[f"{oid}_status"].to_numpy()
        table[f"{oid}_colour"] = latest[f"{oid}_colour"].to_numpy()
    table["colour"] = latest[f"{outcomes[0]}_colour"].to_numpy() if outcomes else None
    table["risk"] = latest["risk"].to_numpy()
    clients = pd.DataFrame(table)
    if alerts:
        af = pd.DataFrame(
            {
                "client_id": [a.client_id for a in alerts],
                "priority": [a.priority for a in alerts],
                "kind": [a.kind for a in alerts],
            }
        )
        top = af.sort_values("priority", ascending=False, kind="stable").drop_duplicates(
            "client_id"
        )
        n_alerts = af.groupby("client_id").size()
        prio = clients["client_id"].map(dict(zip(top["client_id"], top["priority"], strict=True)))
        kind = clients["client_id"].map(dict(zip(top["client_id"], top["kind"], strict=True)))
        clients["n_alerts"] = clients["client_id"].map(n_alerts).fillna(0).astype(np.int64)
        clients["priority"] = prio.fillna(0).astype(np.int64)
        clients["top_alert"] = kind.astype(object).where(kind.notna(), None)
    else:
        clients["n_alerts"] = 0
        clients["priority"] = 0
        clients["top_alert"] = None
    return clients
