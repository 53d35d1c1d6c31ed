"""The latent processes of the synthetic clinic, vectorised over clients.

Arrays are ``clients x sessions`` (``C x S``, ``S = sessions_max``); the only loop is over the
session index, because alliance, ruptures, adherence and dropout at session ``t`` depend on
session ``t - 1`` (and severity at ``t + 1`` on session ``t``). Components are indexed
bond = 0, goal = 1, task = 2.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from bordin.simulate._config import SimulationConfig

__all__ = ["COMPONENTS", "LatentClinic", "simulate_latent"]

COMPONENTS = ("bond", "goal", "task")
ARM_NONE, ARM_FEEDBACK, ARM_NO_FEEDBACK = 0, 1, 2

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_T = TypeVar("_T", bound=np.generic)


@dataclasses.dataclass(frozen=True)
class LatentClinic:
    """Every latent quantity of one simulated clinic (private; frames are built from it)."""

    # therapists (T)
    therapist_alliance: FloatArray
    therapist_rupture: FloatArray
    therapist_responsiveness: FloatArray
    therapist_adherence: FloatArray
    # clients (C)
    therapist: IntArray
    insecurity: FloatArray
    planned: IntArray
    attended: IntArray
    dropped_out: BoolArray
    arm: IntArray
    intake: FloatArray
    improvement: FloatArray
    within_slope: FloatArray
    trait: FloatArray  # C x 3
    gap1: FloatArray
    rate: FloatArray
    gad7_offset: FloatArray
    # client x session (C x S)
    mask: BoolArray
    day: IntArray
    state: FloatArray  # C x S x 3
    gap: FloatArray
    drop: FloatArray  # C x S x 3
    alliance: FloatArray  # C x S x 3
    severity: FloatArray
    alliance_centre: float  # clinic means used to centre the moderation term
    adherence_centre: float
    anxiety: FloatArray
    adherence: FloatArray
    rupture_open: BoolArray
    rupture_onset: BoolArray
    repair_now: BoolArray
    signal: FloatArray
    confrontation: BoolArray
    rupture_hazard: FloatArray
    dropout_hazard: FloatArray
    # rupture events (E)
    event_client: IntArray
    event_onset: IntArray
    event_component: IntArray
    event_confrontation: BoolArray
    event_depth: FloatArray
    event_pre_level: FloatArray
    event_repair_planned: IntArray  # session of the repair, 0 when it is not to be repaired
    event_repair_probability: FloatArray


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _expit(x: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return out


def _client_major(a: npt.NDArray[_T]) -> npt.NDArray[_T]:
    """A session-major array (sessions first) as a contiguous client-major one."""
    return np.ascontiguousarray(np.swapaxes(a, 0, 1))


def _correlated(rng: np.random.Generator, n: int, rho: float) -> FloatArray:
    """Standard normals for the three components with equal correlation ``rho``."""
    common = rng.standard_normal(n)
    specific = rng.standard_normal((n, 3))
    out: FloatArray = np.sqrt(rho) * common[:, None] + np.sqrt(1.0 - rho) * specific
    return out


def _severity(
    cfg: SimulationConfig,
    *,
    intake: FloatArray,
    target: FloatArray,
    within_slope: FloatArray,
    trait_total: FloatArray,
    total: FloatArray,
    adherence: FloatArray,
    alliance_centre: float,
    adherence_centre: float,
    noise: FloatArray,
) -> FloatArray:
    """Latent severity (PHQ-9 total scale), stepped forward one session at a time."""
    severity = np.empty_like(total)
    severity[:, 0] = intake
    between = cfg.between_effect * (trait_total - cfg.alliance_mean)
    for t in range(total.shape[1] - 1):
        adh = adherence[:, t] - adherence_centre
        severity[:, t + 1] = (
            cfg.severity_ar * severity[:, t]
            + (1.0 - cfg.severity_ar) * target
            + within_slope * (total[:, t] - trait_total)
            + between
            + cfg.adherence_effect * adh
            + cfg.adherence_alliance_interaction * adh * (total[:, t] - alliance_centre)
            + noise[:, t]
        )
    return severity


def simulate_latent(config: SimulationConfig, rng: np.random.Generator) -> LatentClinic:
    """Draw therapists, clients and the session-by-session latent processes."""
    cfg = config
    n, s_max, n_t = cfg.n_clients, cfg.sessions_max, cfg.n_therapists

    # Therapists.
    t_alliance = cfg.therapist_alliance_sd * rng.standard_normal(n_t)
    t_rupture = cfg.therapist_rupture_sd * rng.standard_normal(n_t)
    t_respons = cfg.therapist_responsiveness_sd * rng.standard_normal(n_t)
    t_adherence = cfg.therapist_adherence_sd * rng.standard_normal(n_t)

    # Clients.
    therapist = np.empty(n, dtype=np.int64)
    therapist[rng.permutation(n)] = np.arange(n) % n_t
    insecurity = rng.standard_normal(n)
    planned = rng.integers(cfg.sessions_min, cfg.sessions_max + 1, size=n)
    if cfg.feedback_trial:
        arm = np.where(rng.random(n) < cfg.feedback_fraction, ARM_FEEDBACK, ARM_NO_FEEDBACK)
    else:
        arm = np.full(n, ARM_NONE, dtype=np.int64)
    intake = rng.normal(cfg.intake_severity_mean, cfg.intake_severity_sd, n)
    intake = np.clip(intake, 5.0, 27.0)
    improvement = rng.normal(cfg.improvement_mean, cfg.improvement_sd, n)
    within_slope = cfg.within_effect + cfg.within_effect_sd * rng.standard_normal(n)
    trait = (
        cfg.alliance_mean
        + t_alliance[therapist][:, None]
        + cfg.attachment_trait_effect * insecurity[:, None]
        + cfg.client_alliance_sd * _correlated(rng, n, cfg.component_correlation)
    )
    trait_total = trait.mean(axis=1)
    gap1 = np.maximum(cfg.early_alliance_gap + cfg.attachment_gap_effect * insecurity, 0.0)
    rate = cfg.formation_rate / (1.0 + cfg.attachment_slowing * np.maximum(insecurity, 0.0))
    gad7_offset = cfg.gad7_client_sd * rng.standard_normal(n)
    intake_day = rng.integers(0, cfg.intake_spread_days + 1, size=n)
    gaps = 7 + 7 * (rng.random((n, s_max)) < cfg.missed_week_probability)
    gaps[:, 0] = 0
    day = intake_day[:, None] + np.cumsum(gaps, axis=1)

    repair_base = (
        _logit(cfg.repair_probability)
        + t_respons[therapist]
        + np.where(arm == ARM_FEEDBACK, cfg.feedback_repair_log_odds, 0.0)
    )
    repair_p = _expit(repair_base)
    p_rupture = _expit(
        _logit(cfg.rupture_rate)
        + cfg.rupture_attachment_log_odds * insecurity
        + t_rupture[therapist]
    )
    adherence_client = (
        _logit(cfg.adherence_mean)
        + t_adherence[therapist]
        + cfg.adherence_alliance_log_odds * (trait_total - cfg.alliance_mean)
    )
    # The ruptured component drops by d, the other two by spillover * d, so that the
    # component mean (the sac total) drops by the rupture's depth.
    component_share = 3.0 / (1.0 + 2.0 * cfg.rupture_spillover)

    # Outputs.
    # Filled session by session, so stored session-major (each write is contiguous) and
    # turned client-major once at the end.
    shape = (s_max, n)
    mask = np.zeros(shape, dtype=bool)
    state_out = np.zeros((s_max, n, 3))
    gap_out = np.zeros(shape)
    drop_out = np.zeros((s_max, n, 3))
    alliance_out = np.zeros((s_max, n, 3))
    adherence = np.zeros(shape)
    open_out = np.zeros(shape, dtype=bool)
    onset_out = np.zeros(shape, dtype=bool)
    repair_out = np.zeros(shape, dtype=bool)
    signal = np.zeros(shape)
    confront_out = np.zeros(shape, dtype=bool)
    rupture_hazard = np.full(shape, np.nan)
    dropout_hazard = np.full(shape, np.nan)

    # Per-client state carried from session to session.
    active = np.ones(n, dtype=bool)
    state = np.zeros((n, 3))
    open_drop = np.zeros((n, 3))
    residual = np.zeros((n, 3))
    open_onset = np.zeros(n, dtype=np.int64)  # 0: no rupture open
    open_repair = np.zeros(n, dtype=np.int64)  # 0: not to be repaired
    open_depth = np.zeros(n)
    open_conf = np.zeros(n, dtype=bool)
    open_pre = np.zeros(n)
    previous_total = np.zeros(n)

    events: dict[str, list[npt.NDArray[np.generic]]] = {
        k: [] for k in ("client", "onset", "component", "conf", "depth", "pre", "repair", "p")
    }
    innovation_sd = cfg.state_sd * np.sqrt(1.0 - cfg.state_ar**2)
    dropout_base = _logit(cfg.dropout_hazard)
    rows = np.arange(n)

    for t in range(s_max):
        session = t + 1
        alive = active & (session <= planned)
        mask[t] = alive

        # State-like alliance: stationary AR(1) per component.
        shocks = _correlated(rng, n, cfg.component_correlation)
        # (session 1 draws from the stationary distribution).
        persistence, scale = (0.0, cfg.state_sd) if t == 0 else (cfg.state_ar, innovation_sd)
        state = persistence * state + scale * shocks
        gap = gap1 * np.exp(-rate * t)

        # Transitions of the rupture that is open.
        repair_now = (open_onset > 0) & (open_repair == session)
        open_drop[repair_now] = 0.0
        window_over = (
            (open_onset > 0) & (open_repair == 0) & (session > open_onset + cfg.repair_window)
        )
        residual *= cfg.unrepaired_recovery
        residual[window_over] += cfg.unrepaired_recovery * open_drop[window_over]
        open_drop[window_over] = 0.0
        open_onset[repair_now | window_over] = 0

        # Onsets.
        u_onset = rng.random(n)
        u_component = rng.random(n)
        u_marker = rng.random(n)
        depth = rng.gamma(
            cfg.rupture_depth_shape, cfg.rupture_depth_mean / cfg.rupture_depth_shape, n
        )
        u_repair = rng.random(n)
        delay = rng.integers(1, cfg.repair_window + 1, size=n)
        # A repair session starts no new rupture: its rating shows the repair.
        at_risk = alive & (session >= 2) & (open_onset == 0) & ~repair_now
        rupture_hazard[t, at_risk] = p_rupture[at_risk]
        onset = at_risk & (u_onset < p_rupture)
        component = np.where(
            u_component < cfg.rupture_bond_probability,
            0,
            np.where(u_component < (1.0 + cfg.rupture_bond_probability) / 2.0, 1, 2),
        )
        confrontation = u_marker >= cfg.rupture_withdrawal_probability
        will_repair = u_repair < repair_p
        drop_vec = np.full((n, 3), cfg.rupture_spillover)
        drop_vec[rows, component] = 1.0
        drop_vec *= (component_share * depth)[:, None]
        open_drop[onset] = drop_vec[onset]
        open_onset[onset] = session
        open_repair[onset] = np.where(will_repair[onset], session + delay[onset], 0)
        open_depth[onset] = depth[onset]
        open_conf[onset] = confrontation[onset]
        open_pre[onset] = previous_total[onset]
        idx = np.flatnonzero(onset)
        events["client"].append(idx)
        events["onset"].append(np.full(idx.size, session))
        events["component"].append(component[idx])
        events["conf"].append(confrontation[idx])
        events["depth"].append(depth[idx])
        events["pre"].append(previous_total[idx])
        events["repair"].append(open_repair[idx])
        events["p"].append(repair_p[idx])

        # Alliance per component; a repair lifts the state to the pre-rupture level + gain.
        alliance = trait + state - gap[:, None] - open_drop - residual
        total = alliance.mean(axis=1)
        lift = np.where(repair_now, np.maximum(open_pre + cfg.repair_gain - total, 0.0), 0.0)
        state = state + lift[:, None]
        alliance = alliance + lift[:, None]
        total = total + lift

        is_open = open_onset > 0
        strength = open_depth / cfg.rupture_depth_mean
        signal[t] = np.where(onset, strength, np.where(is_open, 0.5 * strength, 0.0))
        confront_out[t] = is_open & open_conf
        state_out[t] = state
        gap_out[t] = gap
        drop_out[t] = open_drop + residual
        alliance_out[t] = alliance
        open_out[t] = is_open
        onset_out[t] = onset
        repair_out[t] = repair_now
        previous_total = total

        # Adherence (0-1): the therapist, the client's trait alliance, and the session.
        adherence[t] = _expit(adherence_client + cfg.adherence_session_sd * rng.standard_normal(n))

        # Dropout after this session (not after the planned last one).
        early = cfg.dropout_early_alliance_log_odds if session <= cfg.early_sessions else 0.0
        h = _expit(
            dropout_base
            + (cfg.dropout_alliance_log_odds + early) * (total - cfg.alliance_mean)
            + cfg.dropout_open_rupture_log_odds * is_open
        )
        can_drop = alive & (session < planned)
        dropout_hazard[t, can_drop] = h[can_drop]
        leave = can_drop & (rng.random(n) < h)
        active &= ~leave

    mask, adherence, gap_out, signal = (
        _client_major(a) for a in (mask, adherence, gap_out, signal)
    )
    open_out, onset_out, repair_out, confront_out = (
        _client_major(a) for a in (open_out, onset_out, repair_out, confront_out)
    )
    rupture_hazard, dropout_hazard = _client_major(rupture_hazard), _client_major(dropout_hazard)
    state_out, drop_out, alliance_out = (
        _client_major(a) for a in (state_out, drop_out, alliance_out)
    )
    attended = mask.sum(axis=1)

    # Severity comes last: nothing above depends on it. The moderation term is centred on
    # the clinic's own means of adherence and alliance (over attended sessions), as a
    # centred moderation model would be, so that it adds nothing on average to the alliance
    # slopes of a model that leaves adherence out (such as the lagged panel model).
    total = alliance_out.mean(axis=2)
    alliance_centre = float(total[mask].mean()) if mask.any() else cfg.alliance_mean
    adherence_centre = float(adherence[mask].mean()) if mask.any() else cfg.adherence_mean
    severity = _severity(
        cfg,
        intake=intake,
        target=intake - improvement,
        within_slope=within_slope,
        trait_total=trait_total,
        total=total,
        adherence=adherence,
        alliance_centre=alliance_centre,
        adherence_centre=adherence_centre,
        noise=cfg.severity_noise_sd * rng.standard_normal((n, s_max)),
    )
    anxiety = (
        cfg.gad7_loading * severity * (21.0 / 27.0)
        + gad7_offset[:, None]
        + cfg.gad7_noise_sd * rng.standard_normal((n, s_max))
    )
    return LatentClinic(
        therapist_alliance=t_alliance,
        therapist_rupture=t_rupture,
        therapist_responsiveness=t_respons,
        therapist_adherence=t_adherence,
        therapist=therapist,
        insecurity=insecurity,
        planned=planned,
        attended=attended,
        dropped_out=attended < planned,
        arm=arm,
        intake=intake,
        improvement=improvement,
        within_slope=within_slope,
        trait=trait,
        gap1=gap1,
        rate=rate,
        gad7_offset=gad7_offset,
        mask=mask,
        day=day,
        state=state_out,
        gap=gap_out,
        drop=drop_out,
        alliance=alliance_out,
        severity=severity,
        alliance_centre=alliance_centre,
        adherence_centre=adherence_centre,
        anxiety=anxiety,
        adherence=adherence,
        rupture_open=open_out,
        rupture_onset=onset_out,
        repair_now=repair_out,
        signal=signal,
        confrontation=confront_out,
        rupture_hazard=rupture_hazard,
        dropout_hazard=dropout_hazard,
        event_client=np.concatenate(events["client"]).astype(np.int64),
        event_onset=np.concatenate(events["onset"]).astype(np.int64),
        event_component=np.concatenate(events["component"]).astype(np.int64),
        event_confrontation=np.concatenate(events["conf"]).astype(bool),
        event_depth=np.concatenate(events["depth"]).astype(np.float64),
        event_pre_level=np.concatenate(events["pre"]).astype(np.float64),
        event_repair_planned=np.concatenate(events["repair"]).astype(np.int64),
        event_repair_probability=np.concatenate(events["p"]).astype(np.float64),
    )
