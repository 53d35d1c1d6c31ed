"""``compute_feedback`` and ``detect_ruptures``: every feedback signal for a whole clinic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bordin.errors import InputError
from bordin.feedback import _threads
from bordin.feedback._alert_rules import build_alerts
from bordin.feedback._categorical import from_codes
from bordin.feedback._groups import FloatArray
from bordin.feedback._prepare import Prepared, prepare_scores
from bordin.feedback.alerts import (
    ALERT_KINDS,
    Alert,
    alerted_colours,
    early_alliance_shown,
    unrepaired_shown,
)
from bordin.feedback.ceiling import CeilingSignals, detect_uninformative
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.early import EarlySignals, assess_early_alliance
from bordin.feedback.norms import (
    ClinicNorms,
    fit_norms,
    fit_rupture_model,
    rupture_item_levels,
    scores_date_range,
)
from bordin.feedback.outcomes import OutcomeSignals, assess_outcome
from bordin.feedback.repairs import (
    STATUSES,
    RuptureCounts,
    classify_repairs,
    classify_repairs_counted,
    client_rupture_code,
)
from bordin.feedback.result import FeedbackResult
from bordin.feedback.risk import RiskSignals, assess_risk
from bordin.feedback.ruptures import (
    COMPONENTS,
    MARKERS,
    Detection,
    Detector,
    RuptureInputs,
    run_detector,
)
from bordin.feedback.trajectories import (
    COLOURS,
    CurveNorm,
    TrajectorySignals,
    assess_trajectory,
)

__all__ = ["compute_feedback", "detect_ruptures"]

#: The detector x scale runs ``compute_feedback`` reports after the leading detector's run
#: on the total (:func:`_reported`), in this order.
_REPORTED: tuple[tuple[Detector, str], ...] = (
    ("adaptive", "total"),
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


def _reported(config: FeedbackConfig) -> list[tuple[Detector, str]]:
    """The runs ``compute_feedback`` reports: the leading detector on the total first (its
    events lead the table and are what a therapist sees), then the other detectors; the
    adaptive detector only when ``config.reports_adaptive()``."""
    lead: tuple[Detector, str] = (config.rupture_detector, "total")
    rest = [
        run
        for run in _REPORTED
        if run != lead and (run[0] != "adaptive" or config.reports_adaptive())
    ]
    return [lead, *rest]


def detect_ruptures(
    scores: pd.DataFrame,
    *,
    alliance: str = "sac",
    detector: Detector | None = None,
    scale: str = "total",
    config: FeedbackConfig | None = None,
    norms: ClinicNorms | None = None,
) -> pd.DataFrame:
    """Rupture events found by one detector on one alliance scale, with repair status.

    Parameters
    ----------
    scores
        Wide session scores (``client_id, session, <alliance>_total, ...``), any row order.
    alliance
        Alliance instrument id (``sac``, ``wai_sr``).
    detector
        ``adaptive``, ``bordin``, ``sd_k1``, ``sd_k2``, ``reliable_change`` or ``items``;
        see :func:`bordin.feedback.ruptures.run_detector` for each rule and its source.
        None (default): the leading detector, ``config.rupture_detector``.
    scale
        ``total``, ``bond``, ``goal`` or ``task``.
    norms
        The clinic norms (:class:`bordin.feedback.ClinicNorms`): the clinic's within-client SD
        and the adaptive detector's parameters. Without them both are fitted on ``scores``.

    Returns
    -------
    pandas.DataFrame
        One row per rupture event, columns :data:`bordin.feedback.RUPTURE_COLUMNS`.

    Raises
    ------
    InputError
        Missing columns, bad session numbers, no reliable-change threshold for the scale,
        or norms fitted for another alliance instrument.
    """
    config = config or FeedbackConfig()
    detector = config.rupture_detector if detector is None else detector
    prepared = prepare_scores(scores, alliance=alliance)
    rc = _alliance_rc(prepared, config) if scale == "total" else None
    inputs = None
    if norms is not None:
        _checked_norms(norms, prepared, config)
        inputs = _inputs_with_norms(prepared, config, norms)
    detection = run_detector(
        prepared, detector=detector, config=config, scale=scale, reliable_change=rc, inputs=inputs
    )
    events, _ = classify_repairs(detection, prepared, config, counts=False)
    return events


def _inputs_with_norms(
    prepared: Prepared, config: FeedbackConfig, norms: ClinicNorms
) -> RuptureInputs:
    """The detectors' inputs with the clinic references taken from ``norms``."""

    def clinic_sd(scale: str, top: int) -> FloatArray:
        return norms.clinic_sd(scale, top, min_df=config.clinic_sd_min_df)

    return RuptureInputs(
        prepared, config, clinic_sd=clinic_sd, adaptive_params=norms.rupture_model.get
    )


def _alliance_rc(prepared: Prepared, config: FeedbackConfig) -> float | None:
    if config.alliance_reliable_change is not None:
        return float(config.alliance_reliable_change)
    return prepared.alliance_facts.reliable_change


def _codes_where(codes: np.ndarray, mask: np.ndarray, labels: tuple[str, ...]) -> pd.Categorical:
    return from_codes(np.where(mask, codes, -1), labels)


def _rupture_side(
    prepared: Prepared,
    config: FeedbackConfig,
    inputs: RuptureInputs,
    pool: Executor,
) -> _Ruptures:
    """Every reported detector x scale run and one repair classification of their events.

    Two subscales' drops in SD units (memoised in ``inputs`` under their own keys) are made
    in the pool while this thread makes the total's and the first subscale's; the detectors
    read them only after they are done.
    """
    subscales = [s for s in ("bond", "goal", "task") if s in prepared.alliance]
    warm = [pool.submit(inputs.z, s) for s in subscales[1:]]
    inputs.z("total", blended=True)
    inputs.z("total")
    for s in subscales[:1]:
        inputs.z(s)
    for done in warm:
        done.result()
    runs = _reported(config)
    adaptive_scales = ["total", *subscales]
    adaptive_made: list[Future[Any]] = []
    if ("adaptive", "total") in runs and subscales:
        # the adaptive detector on the total and its subscales (their evidence joins the
        # total's) in the pool while this thread runs the other detectors; it runs last
        # here, when they are done
        inputs.item_levels()  # read by every scale: made before the pool starts
        adaptive_made = [pool.submit(inputs.adaptive_scale, s) for s in adaptive_scales]
        runs = [run for run in runs if run != ("adaptive", "total")] + [("adaptive", "total")]
    notes: list[str] = []
    found: dict[tuple[str, str], Detection] = {}
    rc = _alliance_rc(prepared, config)
    for detector, scale in runs:
        if scale not in prepared.alliance:
            continue
        if detector == "reliable_change" and rc is None:
            notes.append(
                f"The reliable-change rupture criterion was skipped: {prepared.alliance_id} "
                "has no published reliable-change threshold, so the other rupture criteria "
                "were used (nothing is missing from the scores; a clinic with its own "
                "reliability data can set a threshold in the Python API, "
                "FeedbackConfig.alliance_reliable_change)."
            )
            continue
        if detector == "items" and not prepared.items:
            continue
        if detector == "adaptive":
            # the scales no worker has started yet (the pool's other worker may be on the
            # outcome side) are made here rather than waited for
            for made, done in reversed(list(zip(adaptive_scales, adaptive_made, strict=False))):
                if done.cancel():
                    inputs.adaptive_scale(made)
            for done in adaptive_made:
                if not done.cancelled():
                    done.result()
        found[(detector, scale)] = run_detector(
            prepared,
            detector=detector,
            config=config,
            scale=scale,
            reliable_change=rc,
            inputs=inputs,
        )
    # in the reported order: the leading detector's events first
    detections: dict[tuple[str, str], Detection] = {
        run: found[run] for run in _reported(config) if run in found
    }
    main = detections[(config.rupture_detector, "total")]  # first: its events lead the table
    ruptures, main_events, main_counts = classify_repairs_counted(
        list(detections.values()), prepared, config, pool
    )
    return _Ruptures(ruptures, main, main_counts, main_events, detections, notes)


@dataclass(frozen=True)
class _Ruptures:
    """What the rupture side of the pipeline hands on."""

    table: pd.DataFrame
    main: Detection  # the leading detector's run on the total (config.rupture_detector)
    counts: RuptureCounts
    main_events: pd.DataFrame
    detections: dict[tuple[str, str], Detection]
    notes: list[str]


@dataclass(frozen=True)
class _Outcomes:
    """What the outcome side of the pipeline hands on."""

    ceiling: CeilingSignals
    early: EarlySignals
    risk: RiskSignals
    assessed: list[tuple[OutcomeSignals, TrajectorySignals]]


def _scale_sums(inputs: RuptureInputs, scales: list[str], pool: Executor) -> dict[str, FloatArray]:
    """Each alliance scale's pooled within-client sums (:meth:`RuptureInputs.stats`, the
    total's with Bordin's baseline), the second half of the scales in the pool while this
    thread makes the first half (each writes only its own scale's statistics)."""

    def sums(scale: str) -> FloatArray:
        return inputs.stats(scale, baseline=scale == "total").clinic_sums

    half = (len(scales) + 1) // 2
    later = {scale: pool.submit(sums, scale) for scale in scales[half:]}
    made = {scale: sums(scale) for scale in scales[:half]}
    return {scale: made[scale] if scale in made else later[scale].result() for scale in scales}


def _assess_outcomes(prepared: Prepared, config: FeedbackConfig) -> dict[str, OutcomeSignals]:
    return {oid: assess_outcome(prepared, oid, config) for oid in prepared.outcomes}


def _outcome_side(
    prepared: Prepared,
    config: FeedbackConfig,
    norms: ClinicNorms,
    outcomes: dict[str, OutcomeSignals] | None,
) -> _Outcomes:
    """Ceiling, early alliance (against the norms' reference), risk, and for each outcome
    its status (``outcomes`` when already assessed) and its place on the norms'
    expected-recovery curve."""
    top = int(prepared.session_int.max()) + 1 if prepared.groups.n_rows else 1
    outcomes = outcomes if outcomes is not None else _assess_outcomes(prepared, config)
    assessed = []
    for oid in prepared.outcomes:
        out = outcomes[oid]
        traj = assess_trajectory(prepared, out, norms.expected_curves(oid, top, config))
        assessed.append((out, traj))
    return _Outcomes(
        ceiling=detect_uninformative(prepared, config),
        early=assess_early_alliance(
            prepared, config, (norms.early_reference, norms.early_reference_source)
        ),
        risk=assess_risk(prepared),
        assessed=assessed,
    )


def _checked_norms(norms: ClinicNorms, prepared: Prepared, config: FeedbackConfig) -> None:
    if norms.alliance != prepared.alliance_id:
        raise InputError(
            f"the clinic norms were fitted for alliance {norms.alliance!r}, not "
            f"{prepared.alliance_id!r}"
        )
    missing = [oid for oid in prepared.outcomes if oid not in norms.outcomes]
    if missing:
        raise InputError(
            f"the clinic norms have no expected-recovery data for {', '.join(missing)} "
            f"(fitted for: {', '.join(norms.outcomes) or 'no outcome'}); refit them"
        )
    norms.check_config(config)


def compute_feedback(
    scores: pd.DataFrame,
    *,
    alliance: str = "sac",
    outcomes: Sequence[str] = ("phq9",),
    config: FeedbackConfig | None = None,
    norms: ClinicNorms | None = None,
) -> FeedbackResult:
    """Every feedback signal for a whole clinic: ruptures and repairs, ceiling, early
    alliance, outcome status, not-on-track, risk, and alerts with suggestions.

    Parameters
    ----------
    scores
        Wide session scores, one row per client and session, any row order.
    alliance
        Alliance instrument id (``sac``, ``wai_sr``) or its total column.
    outcomes
        Outcome instrument ids (``phq9``, ``gad7``, ``core10``) or their total columns; the
        first one drives the client's not-on-track colour.
    config
        Thresholds; :class:`FeedbackConfig` defaults follow the cited sources.
    norms
        The clinic norms (:class:`bordin.feedback.ClinicNorms`): the clinic's within-client
        SDs, expected-recovery curves, early-alliance reference and the adaptive rupture
        detector's parameters (norms without them: the adaptive detector fits them on
        ``scores``, and ``notes`` says so). Without norms they are
        fitted on ``scores`` (:func:`bordin.feedback.fit_clinic_norms`). With them, each
        client's signals depend on that client's sessions alone.

    Returns
    -------
    FeedbackResult
        With the norms used in ``norms``.

    Raises
    ------
    InputError
        Bad scores (named by row and column), or norms fitted for another alliance
        instrument, without one of the outcomes, or with other early-alliance settings.

    Notes
    -----
    The leading rupture detector (``config.rupture_detector``: the adaptive detector by
    default, its parameters part of the clinic norms) gives the ruptures, repair status and
    rupture alerts a therapist sees; the other detectors are reported beside it.

    The engine is a pipeline: prepare the frame; fit or take the clinic norms; run the
    rupture side (every detector and scale, then repairs) and the outcome side (ceiling,
    early alliance, risk, outcome status and curves); assemble the sessions table, the
    client table and (on first access) the alerts.

    The signal at session *t* uses only sessions up to *t* (the clinic references fitted
    here accumulate the clinic's sessions numbered up to *t*); repair status is the only
    value later sessions change, and it records the session at which it changed. The
    result does not depend on the row order of ``scores``.

    The two sides run on two cores: the outcome side, the date range, half of the alliance
    scales' statistics, two alliance subscales' SD units, the adaptive detector on each
    alliance scale (those no worker has started when this thread needs them are made
    here) and about half of the rupture events are computed in a pool of two threads while
    the calling thread does the rest. The kernels release the GIL. Every task only reads
    the prepared arrays (values cached on first use are computed before the pool starts)
    and writes its own results, so the result is bit-identical to a sequential run.
    """
    config = config or FeedbackConfig()
    prepared = prepare_scores(scores, alliance=alliance, outcomes=tuple(outcomes))
    if norms is not None:
        _checked_norms(norms, prepared, config)
    notes: list[str] = []
    # Values computed on first use and cached on ``prepared`` are made here, before the
    # worker starts, so neither thread computes them while the other reads them.
    _ = prepared.session_int, prepared.rating_int
    with _threads.executor(prepared.groups.n_rows) as pool:
        if norms is None:
            # Fit the norms from the frame's own pooled sums: the rules' scale statistics
            # (whose clinic SD is then exactly the fitted norms') and the outcome signals
            # are computed once, for the norms and for the rules.
            pending = pool.submit(_assess_outcomes, prepared, config)
            date_range = pool.submit(scores_date_range, scores)
            # the adaptive detector's parameters, one scale per thread (the pool's and this)
            levels = rupture_item_levels(prepared, config) if config.adaptive_in_norms else None
            model = fit_rupture_model(prepared, config, pool, levels=levels)
            # the rules judge against the model just fitted (it is the norms'), not a second
            # fit of their own; the rows' item levels are the fit's
            inputs = RuptureInputs(prepared, config, adaptive_params=model.get, levels=levels)
            sums = _scale_sums(inputs, list(prepared.alliance), pool)
            assessed = pending.result()
            norms = fit_norms(
                prepared,
                config,
                dates=date_range.result(),
                rupture_model=model,
                scale_sums=sums,
                outcome_signals=assessed,
            )
        else:
            inputs = _inputs_with_norms(prepared, config, norms)
            assessed = None
            if config.reports_adaptive() and norms.lacks_rupture_model:
                notes.append(
                    "The clinic norms carry no adaptive rupture model (fitted before it was "
                    "stored, or without it): the adaptive detector's parameters were fitted "
                    "on these scores. Refit the norms to judge every client against the "
                    "clinic's."
                )
        outcome_side = pool.submit(_outcome_side, prepared, config, norms, assessed)
        ruptures = _rupture_side(prepared, config, inputs, pool)
        outcome = outcome_side.result()
    notes += ruptures.notes
    if not prepared.risk:
        notes.append(
            "No risk-item columns (such as phq9_item9 or core10_item6) in the scores: risk "
            "alerts are not possible."
        )
    data = _session_columns(prepared, ruptures, outcome)
    curve_sources = {
        oid: _curve_source(traj, norms.fallback.get(oid))
        for oid, (_, traj) in zip(prepared.outcomes, outcome.assessed, strict=True)
    }
    last = prepared.groups.last_row()

    def latest_rows(columns: Sequence[str]) -> dict[str, Any]:
        """The sessions table's columns at each client's latest session (given columns)."""
        return {k: _take(data[k], last) for k in columns}

    outcome_ids = tuple(prepared.outcomes)
    # the client table needs a few columns (as arrays: a small frame's cost is pandas'
    # per-column overhead); the alerts, built when first asked for, all
    needed = ["client_id", "therapist_id", "session", "weak_early_alliance", "uninformative"]
    needed += [f"{oid}_{what}" for oid in outcome_ids for what in ("status", "colour")]
    latest = latest_rows([c for c in (*needed, "risk") if c in data])
    clients = _client_table(prepared, latest, ruptures, outcome_ids, config)
    early_source = outcome.early.reference_source
    dates = prepared.date

    def make_alerts() -> tuple[Alert, ...]:
        return build_alerts(
            latest_rows(list(data)),
            ruptures.main_events,
            alliance=prepared.alliance_id,
            outcomes=outcome_ids,
            early_reference_source=early_source,
            config=config,
            dates=_take(dates, last) if dates is not None else None,
        )

    return FeedbackResult(
        ruptures=ruptures.table,
        config=config,
        alliance=prepared.alliance_id,
        outcomes=outcome_ids,
        curve_sources=curve_sources,
        notes=tuple(dict.fromkeys(notes)),
        norms=norms,
        session_columns=data,  # fresh arrays, owned by the result alone
        client_columns=clients,
        alert_builder=make_alerts,
    )


def _session_columns(prepared: Prepared, ruptures: _Ruptures, outcome: _Outcomes) -> dict[str, Any]:
    """The columns of the sessions table, one row per client and session."""
    main, counts = ruptures.main, ruptures.counts
    ceiling, early, risk = outcome.ceiling, outcome.early, outcome.risk
    data: dict[str, Any] = {"client_id": prepared.client_id}
    if prepared.therapist_id is not None:
        data["therapist_id"] = prepared.therapist_id
    session = prepared.session_int.copy()
    session.flags.writeable = False  # like the identifying columns: not for writing
    data["session"] = session
    # prepared columns may be views of the caller's frame: the output gets its own copies
    data["alliance"] = prepared.alliance["total"].copy()
    data["alliance_baseline"] = main.pre_level
    data["alliance_evidence"] = main.evidence
    for (detector, scale), det in ruptures.detections.items():
        if scale == "total":
            data[f"rupture_{detector}"] = det.flag
    data["rupture_onset"] = main.onset
    data["rupture_component"] = _codes_where(main.component, main.onset, COMPONENTS)
    data["rupture_marker"] = _codes_where(main.marker, main.onset, MARKERS)
    data["ruptures_open"] = counts.open
    data["ruptures_repaired"] = counts.repaired
    data["ruptures_unrepaired"] = counts.unrepaired
    data["alliance_at_maximum_run"] = ceiling.at_maximum_run
    data["alliance_constant_run"] = ceiling.constant_run
    data["uninformative"] = ceiling.uninformative
    data["early_alliance_mean"] = early.early_mean
    data["early_alliance_slope"] = early.early_slope
    data["early_alliance_reference"] = early.reference
    data["early_alliance_low"] = early.low
    data["early_alliance_falling"] = early.falling
    data["weak_early_alliance"] = early.weak
    n = prepared.groups.n_rows
    for oid, (out, traj) in zip(prepared.outcomes, outcome.assessed, strict=True):
        rc = prepared.outcome_facts[oid].reliable_change
        data[f"{oid}_score"] = out.score.copy()
        data[f"{oid}_intake"] = out.intake
        data[f"{oid}_change"] = out.change
        data[f"{oid}_rc"] = np.full(n, np.nan if rc is None else rc)
        data[f"{oid}_status"] = out.status
        data[f"{oid}_response"] = out.response
        data[f"{oid}_remission"] = out.remission
        data[f"{oid}_expected"] = traj.expected
        data[f"{oid}_limit"] = traj.upper
        data[f"{oid}_colour"] = traj.colour
        data[f"{oid}_curve_source"] = traj.source
    data["risk"] = risk.flag
    data["risk_item"] = risk.item
    data["risk_value"] = risk.value
    return data


def _curve_source(traj: TrajectorySignals, norm: CurveNorm | None) -> str:
    """Where one outcome's expected curves came from, in words, with session counts."""
    codes = traj.source.codes  # one pass per count: cheaper than masking and bincount
    n_clinic, n_norms, n_none = (int(np.count_nonzero(codes == k)) for k in range(3))
    parts = []
    if n_clinic:
        parts.append(f"fitted on this clinic's data for {n_clinic} session(s)")
    if n_norms and norm is not None:
        parts.append(
            f"bundled norms for {n_norms} session(s) (too few clients here; {norm.source})"
        )
    if n_none:
        parts.append(f"not available for {n_none} session(s): too few clients")
    return "; ".join(parts) if parts else "no follow-up sessions yet"


def _take(values: Any, rows: np.ndarray) -> Any:
    """The given rows of a column of the sessions table (array, categorical or series)."""
    if isinstance(values, pd.Categorical):
        return pd.Categorical.from_codes(values.codes[rows], dtype=values.dtype)
    if isinstance(values, pd.Series):
        return values.array.take(rows)
    return values[rows]


def _client_table(
    prepared: Prepared,
    latest: Mapping[str, Any],
    ruptures: _Ruptures,
    outcomes: tuple[str, ...],
    config: FeedbackConfig,
) -> dict[str, Any]:
    """The client table's columns, one row per client; ``priority``, ``n_alerts`` and
    ``top_alert`` follow the alert rules of :func:`bordin.feedback._alert_rules.build_alerts`
    (computed here column-wise)."""
    groups = prepared.groups
    last = groups.last_row()
    counts, events = ruptures.counts, ruptures.main_events
    event_client = groups.code[np.flatnonzero(ruptures.main.onset)]  # client of each event
    n = len(last)
    table: dict[str, Any] = {"client_id": latest["client_id"]}
    if "therapist_id" in latest:
        table["therapist_id"] = latest["therapist_id"]
    table["first_session"] = prepared.session[groups.start].astype(np.int64)
    session = np.asarray(latest["session"])
    table["last_session"] = session
    table["n_sessions"] = groups.size
    table["rupture_code"] = client_rupture_code(counts, prepared)
    table["ruptures"] = counts.onsets[last]
    table["ruptures_repaired"] = counts.repaired[last]
    table["ruptures_unrepaired"] = counts.unrepaired[last]
    table["ruptures_open"] = counts.open[last]
    table["weak_early_alliance"] = np.asarray(latest["weak_early_alliance"])
    table["uninformative"] = np.asarray(latest["uninformative"])
    for oid in outcomes:
        table[f"{oid}_status"] = latest[f"{oid}_status"]
        table[f"{oid}_colour"] = latest[f"{oid}_colour"]
    table["colour"] = (
        latest[f"{outcomes[0]}_colour"]
        if outcomes
        else from_codes(np.full(n, -1, dtype=np.int8), COLOURS)
    )
    table["risk"] = np.asarray(latest["risk"])

    # alert counts and priorities per client, kind by kind (same rules as build_alerts)
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
    add("risk", 100 * ones, np.asarray(latest["risk"], dtype=bool).astype(np.int64))
    for oid in outcomes:
        colour = np.asarray(latest[f"{oid}_colour"].codes)
        red = colour == COLOURS.index("red")
        alerted = np.zeros(n, dtype=bool)
        for alerting in alerted_colours(config):  # one or two colours: cheaper than np.isin
            alerted |= colour == COLOURS.index(alerting)
        add("not_on_track", np.where(red, 80, 50), alerted.astype(np.int64))
        worse = np.asarray(latest[f"{oid}_status"] == "reliably_deteriorated")
        add("reliable_deterioration", 70 * ones, worse.astype(np.int64))
    if len(events):
        position = event_client  # row of the event's client in ``latest``
        status = events["status"].cat.codes.to_numpy()
        recent = unrepaired_shown(session[position], events["status_session"].to_numpy(), config)
        for kind, mask in (
            ("rupture_open", status == STATUSES.index("open")),
            ("rupture_unrepaired", (status == STATUSES.index("unrepaired")) & recent),
        ):
            per_client = np.bincount(position[mask], minlength=n).astype(np.int64)
            add(kind, ALERT_KINDS[kind][1] * ones, per_client)
    weak = early_alliance_shown(latest["weak_early_alliance"], session, config)
    add("weak_early_alliance", 45 * ones, weak.astype(np.int64))
    add("uninformative_ratings", 20 * ones, np.asarray(latest["uninformative"], dtype=bool))
    table["n_alerts"] = count
    table["priority"] = top
    table["top_alert"] = from_codes(top_kind, kinds)
    return table
