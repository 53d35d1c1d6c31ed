"""``compute_feedback`` and ``detect_ruptures``: every feedback signal for a whole clinic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from bordin.feedback._alert_rules import RUPTURE_LOOKBACK, build_alerts
from bordin.feedback._prepare import Prepared, prepare_scores
from bordin.feedback.alerts import ALERT_KINDS, Alert
from bordin.feedback.ceiling import detect_uninformative
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.early import assess_early_alliance
from bordin.feedback.outcomes import assess_outcome
from bordin.feedback.repairs import (
    STATUSES,
    RuptureCounts,
    classify_repairs,
    classify_repairs_counted,
    client_rupture_code,
)
from bordin.feedback.result import FeedbackResult
from bordin.feedback.risk import assess_risk
from bordin.feedback.ruptures import (
    COMPONENTS,
    MARKERS,
    Detection,
    Detector,
    RuptureInputs,
    run_detector,
)
from bordin.feedback.trajectories import COLOURS, CurveNorm, assess_trajectory, load_norms

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
    events, _ = classify_repairs(detection, prepared, config, counts=False)
    return events


def _alliance_rc(prepared: Prepared, config: FeedbackConfig) -> float | None:
    if config.alliance_reliable_change is not None:
        return float(config.alliance_reliable_change)
    return prepared.alliance_facts.reliable_change


def _codes_where(codes: np.ndarray, mask: np.ndarray, labels: tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(np.where(mask, codes, -1), categories=list(labels))


def _ruptures_side(
    prepared: Prepared,
    config: FeedbackConfig,
    notes: list[str],
    inputs: RuptureInputs,
    pool: Executor,
) -> tuple[pd.DataFrame, Detection, RuptureCounts, pd.DataFrame, dict[tuple[str, str], Detection]]:
    """Every reported detector x scale run and one repair classification of their events."""
    detections: dict[tuple[str, str], Detection] = {}
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
        detections[(detector, scale)] = run_detector(
            prepared,
            detector=detector,
            config=config,
            scale=scale,
            reliable_change=rc,
            inputs=inputs,
        )
    main = detections[("bordin", "total")]  # first: its events lead the table
    ruptures, bordin_events, main_counts = classify_repairs_counted(
        list(detections.values()), prepared, config, pool
    )
    return ruptures, main, main_counts, bordin_events, detections


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

    The work runs on two cores: the outcome side (ceiling, early alliance, risk, outcome
    status and curves), two alliance subscales' SD units and about half of the rupture
    events are computed in a pool of two threads while the calling thread does the rest.
    The kernels release the GIL (:mod:`bordin.feedback._kernels`). Every task only reads
    the prepared arrays (values cached on first use are computed before the pool starts)
    and writes its own results, and each computes exactly what it would alone, so the
    result is bit-identical to a sequential run.
    """
    config = config or FeedbackConfig()
    outcomes = tuple(outcomes)
    prepared = prepare_scores(scores, alliance=alliance, outcomes=outcomes)
    if norms is None:
        norms = load_norms()
    notes: list[str] = []
    frame = prepared.frame
    groups = prepared.groups

    # ---- outcome side (ceiling, early alliance, risk, outcome status and curves): it reads
    # ``prepared`` only, so it runs in a worker thread while this thread finds ruptures and
    # repairs (the kernels release the GIL).
    def outcome_side() -> tuple[Any, Any, Any, list[tuple[Any, Any]]]:
        ceiling = detect_uninformative(prepared, config)
        early = assess_early_alliance(prepared, config)
        risk = assess_risk(prepared)
        assessed = []
        for oid in outcomes:
            out = assess_outcome(prepared, oid, config)
            assessed.append((out, assess_trajectory(prepared, out, config, norms.get(oid))))
        return ceiling, early, risk, assessed

    # Values computed on first use and cached on ``prepared`` are made here, before the
    # worker starts, so neither thread computes them while the other reads them.
    _ = prepared.session_int
    inputs = RuptureInputs(prepared, config)
    subscales = [s for s in ("bond", "goal", "task") if s in prepared.alliance]
    with ThreadPoolExecutor(max_workers=2) as pool:
        other = pool.submit(outcome_side)
        # two subscales' drops in SD units (memoised in ``inputs`` under their own keys)
        # are made in the pool while this thread makes the total's and the first
        # subscale's; the detectors read them only after they are done
        warm = [pool.submit(inputs.z, s) for s in subscales[1:]]
        inputs.z("total", blended=True)
        inputs.z("total")
        for s in subscales[:1]:
            inputs.z(s)
        for done in warm:
            done.result()
        ruptures, main, main_counts, bordin_events, detections = _ruptures_side(
            prepared, config, notes, inputs, pool
        )
        ceiling, early, risk, assessed = other.result()
    if not prepared.risk:
        notes.append(
            "No risk-item columns (such as phq9_item9 or core10_item6) in the scores: risk "
            "alerts are not possible."
        )

    data: dict[str, Any] = {"client_id": frame["client_id"]}
    if "therapist_id" in frame.columns:
        data["therapist_id"] = frame["therapist_id"]
    data["session"] = frame["session"].to_numpy()
    # prepared columns may be views of the caller's frame: the output gets its own copies
    data["alliance"] = prepared.alliance["total"].copy()
    data["alliance_baseline"] = main.pre_level
    data["alliance_evidence"] = main.evidence
    for (detector, scale), det in detections.items():
        if scale == "total":
            data[f"rupture_{detector}"] = det.flag
    data["rupture_onset"] = main.onset
    data["rupture_component"] = _codes_where(main.component, main.onset, COMPONENTS)
    data["rupture_marker"] = _codes_where(main.marker, main.onset, MARKERS)
    data["ruptures_open"] = main_counts.open
    data["ruptures_repaired"] = main_counts.repaired
    data["ruptures_unrepaired"] = main_counts.unrepaired
    data["alliance_at_maximum_run"] = ceiling.at_maximum_run
    data["alliance_constant_run"] = ceiling.constant_run
    data["uninformative"] = ceiling.uninformative
    data["early_alliance_mean"] = early.early_mean
    data["early_alliance_slope"] = early.early_slope
    data["early_alliance_reference"] = early.reference
    data["early_alliance_low"] = early.low
    data["early_alliance_falling"] = early.falling
    data["weak_early_alliance"] = early.weak
    curve_sources: dict[str, str] = {}
    for oid, (out, traj) in zip(outcomes, assessed, strict=True):
        facts = prepared.outcome_facts[oid]
        norm = norms.get(oid)
        data[f"{oid}_score"] = out.score.copy()
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
        used = np.bincount(traj.source.codes[traj.source.codes >= 0], minlength=3)
        n_clinic, n_norms, n_none = (int(u) for u in used[:3])
        parts = []
        if n_clinic:
            parts.append(f"fitted on this clinic's data for {n_clinic} session(s)")
        if n_norms and norm is not None:
            parts.append(
                f"bundled norms for {n_norms} session(s) (too few clients here; {norm.source})"
            )
        if n_none:
            parts.append(f"not available for {n_none} session(s): too few clients")
        curve_sources[oid] = "; ".join(parts) if parts else "no follow-up sessions yet"
    data["risk"] = risk.flag
    data["risk_item"] = risk.item
    data["risk_value"] = risk.value
    # The columns are fresh arrays owned by this frame alone: no copy, no consolidation.
    sessions = pd.DataFrame(data, copy=False)

    # ---- clients and alerts
    last = groups.last_row()

    def latest_rows(columns: Sequence[str]) -> pd.DataFrame:
        """The sessions table at each client's latest session (the given columns)."""
        return pd.DataFrame({k: _take(data[k], last) for k in columns}, copy=False)

    # the client table needs a few columns; the alerts, built when first asked for, all
    needed = ["client_id", "therapist_id", "session", "weak_early_alliance", "uninformative"]
    needed += [f"{oid}_{what}" for oid in outcomes for what in ("status", "colour")]
    latest = latest_rows([c for c in (*needed, "risk") if c in data])
    event_client = groups.code[np.flatnonzero(main.onset)]  # client of each Bordin event
    clients = _client_table(
        prepared, latest, main_counts, outcomes, bordin_events, event_client, config
    )
    early_source = early.reference_source

    def make_alerts() -> tuple[Alert, ...]:
        return build_alerts(
            latest_rows(list(data)),
            bordin_events,
            alliance=prepared.alliance_id,
            outcomes=outcomes,
            early_reference_source=early_source,
            early_session=config.early_session,
            repair_window=config.repair_window,
        )

    return FeedbackResult(
        sessions=sessions,
        ruptures=ruptures,
        clients=clients,
        config=config,
        alliance=prepared.alliance_id,
        outcomes=outcomes,
        curve_sources=curve_sources,
        notes=tuple(dict.fromkeys(notes)),
        alert_builder=make_alerts,
    )


def _take(values: Any, rows: np.ndarray) -> Any:
    """The given rows of a column of the sessions table (array, categorical or series)."""
    if isinstance(values, pd.Categorical):
        return pd.Categorical.from_codes(values.codes[rows], dtype=values.dtype)
    if isinstance(values, pd.Series):
        return values.array.take(rows)
    return values[rows]


def _client_table(
    prepared: Prepared,
    latest: pd.DataFrame,
    counts: RuptureCounts,
    outcomes: tuple[str, ...],
    events: pd.DataFrame,
    event_client: np.ndarray,
    config: FeedbackConfig,
) -> pd.DataFrame:
    """One row per client; ``priority``, ``n_alerts`` and ``top_alert`` follow the alert
    rules of :func:`bordin.feedback._alert_rules.build_alerts` (computed here column-wise)."""
    groups = prepared.groups
    last = groups.last_row()
    n = len(latest)
    table: dict[str, Any] = {"client_id": latest["client_id"]}
    if "therapist_id" in latest.columns:
        table["therapist_id"] = latest["therapist_id"]
    table["first_session"] = prepared.session[groups.start].astype(np.int64)
    table["last_session"] = latest["session"].to_numpy()
    table["n_sessions"] = groups.size
    table["rupture_code"] = client_rupture_code(counts, prepared)
    table["ruptures"] = counts.onsets[last]
    table["ruptures_repaired"] = counts.repaired[last]
    table["ruptures_unrepaired"] = counts.unrepaired[last]
    table["ruptures_open"] = counts.open[last]
    table["weak_early_alliance"] = latest["weak_early_alliance"].to_numpy()
    table["uninformative"] = latest["uninformative"].to_numpy()
    for oid in outcomes:
        table[f"{oid}_status"] = latest[f"{oid}_status"]
        table[f"{oid}_colour"] = latest[f"{oid}_colour"]
    table["colour"] = (
        latest[f"{outcomes[0]}_colour"]
        if outcomes
        else pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=list(COLOURS))
    )
    table["risk"] = latest["risk"].to_numpy()

    # alert counts and priorities per client, kind by kind (same rules as build_alerts)
    session = latest["session"].to_numpy()
    kinds = list(ALERT_KINDS)
    top = np.zeros(n, dtype=np.int64)
    top_kind = np.full(n, -1, dtype=np.int8)
    count = np.zeros(n, dtype=np.int64)

    def add(kind: str, prio: np.ndarray, k: np.ndarray) -> None:
        # no two kinds share a priority, so the highest is the top alert's whatever the order
        higher = (k > 0) & (prio > top)
        top[higher] = prio[higher]
        top_kind[higher] = kinds.index(kind)
        np.add(count, k, out=count)

    ones = np.ones(n, dtype=np.int64)
    add("risk", 100 * ones, latest["risk"].to_numpy(dtype=bool).astype(np.int64))
    for oid in outcomes:
        colour = latest[f"{oid}_colour"].cat.codes.to_numpy()
        red, yellow = colour == COLOURS.index("red"), colour == COLOURS.index("yellow")
        add("not_on_track", np.where(red, 80, 50), (red | yellow).astype(np.int64))
        worse = (latest[f"{oid}_status"] == "reliably_deteriorated").to_numpy()
        add("reliable_deterioration", 70 * ones, worse.astype(np.int64))
    if len(events):
        position = event_client  # row of the event's client in ``latest``
        status = events["status"].cat.codes.to_numpy()
        recent = session[position] - events["status_session"].to_numpy() < RUPTURE_LOOKBACK
        for kind, mask in (
            ("rupture_open", status == STATUSES.index("open")),
            ("rupture_unrepaired", (status == STATUSES.index("unrepaired")) & recent),
        ):
            per_client = np.bincount(position[mask], minlength=n).astype(np.int64)
            add(kind, ALERT_KINDS[kind][1] * ones, per_client)
    weak = latest["weak_early_alliance"].to_numpy(dtype=bool) & (
        session <= 2 * config.early_session
    )
    add("weak_early_alliance", 45 * ones, weak.astype(np.int64))
    add("uninformative_ratings", 20 * ones, latest["uninformative"].to_numpy(dtype=bool))
    table["n_alerts"] = count
    table["priority"] = top
    table["top_alert"] = pd.Categorical.from_codes(top_kind, categories=kinds)
    return pd.DataFrame(table)
