"""Generators of session-by-session alliance with known ruptures, independent of
:mod:`bordin.simulate`.

Each generator is a function ``(n_clients, *, seed, prevalence, depth, **params) ->
GeneratedClinic`` with its own generating process (the family below). They share only how
rupture onsets are placed and how the output is written (:mod:`bordin.validation._clinic`);
none imports or copies the project's simulator, so a detector tuned on that simulator
meets data it has not seen.

Common conventions
------------------
* ``prevalence`` is the share of observed sessions at which a rupture starts (onsets are
  placed so that the count matches it; a rupture can start once a client has two observed
  sessions and no sooner than 4 sessions after the previous onset).
* ``depth`` is the mean rupture depth in **within-client SDs**: the pooled within-client SD
  (each client's sessions around that client's own mean, pooled over clients) of the same
  clinic generated without ruptures (same seed, same draws, ruptures switched off), on the
  reported scale after any clipping and rounding. It is the SD the published criteria
  (Strauss et al., 2006; Stiles et al., 2004) measure drops in. The generator records it in
  :attr:`GeneratedClinic.within_sd`; each rupture's depth in scale points is its depth in
  SDs times that value.
* ``repaired`` in the truth means the generating process brings the alliance level back to
  its pre-rupture level within 3 sessions of onset; ``censored`` that the client's last
  session comes before that could be seen.
* Scores are WAI-SR item means on its 1-5 metric (``wai_sr_total``, with ``wai_sr_bond``,
  ``wai_sr_goal`` and ``wai_sr_task`` where the generator has subscales).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import pandas as pd

from bordin.errors import InputError
from bordin.instruments import get_instrument
from bordin.validation._clinic import (
    REPAIR_WINDOW,
    Ruptures,
    check_common,
    decay_shapes,
    draw_onsets,
    draw_ruptures,
    layout,
    pooled_within_sd,
    rupture_effects,
    scores_frame,
    truth_frame,
)

__all__ = [
    "FAMILY",
    "FamilySetting",
    "GeneratedClinic",
    "Generator",
    "ar1_trait",
    "ceiling_items",
    "heavy_tailed",
    "random_walk",
    "sparse_ar1",
    "trait_blocks",
]

INSTRUMENT: Final = "wai_sr"
TRUTH_COLUMNS: Final = (
    "client_id",
    "onset_session",
    "depth_points",
    "depth_sd",
    "repaired",
    "censored",
)


def _scale_range(instrument: str = INSTRUMENT, scale: str = "total") -> tuple[float, float]:
    """Lowest and highest item response of a scale (its score range: scales are means)."""
    definition = get_instrument(instrument)
    items = [definition.item(n) for n in definition.scale(scale).items]
    return float(min(i.min_value for i in items)), float(max(i.max_value for i in items))


@dataclass(frozen=True)
class GeneratedClinic:
    """A generated clinic and its ground truth.

    Attributes
    ----------
    scores
        Wide session scores (DESIGN.md): ``client_id``, ``therapist_id``, ``session``
        (1-based session number; gaps where a session was not rated), ``wai_sr_total`` and,
        where the generator has them, ``wai_sr_bond``, ``wai_sr_goal``, ``wai_sr_task``.
    truth
        One row per rupture: ``client_id``, ``onset_session``, ``depth_points`` (scale
        points), ``depth_sd`` (within-client SDs), ``repaired``, ``censored``.
    alliance
        The alliance instrument id of the scores (``wai_sr``).
    within_sd
        The within-client SD the depths are measured in (see the module notes).
    description
        One line on the generating process and its settings.
    """

    scores: pd.DataFrame
    truth: pd.DataFrame
    alliance: str
    within_sd: float
    description: str


Generator = Callable[..., GeneratedClinic]


def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float, sd: float) -> np.ndarray:
    """Stationary Gaussian AR(1) paths along the rows: marginal SD ``sd``."""
    if not -1.0 < phi < 1.0:
        raise InputError(f"phi must be in (-1, 1), got {phi}")
    shocks = rng.normal(0.0, sd * np.sqrt(1.0 - phi**2), size=shape)
    state = np.empty(shape)
    state[:, 0] = rng.normal(0.0, sd, size=shape[0])
    for t in range(1, shape[1]):
        state[:, t] = phi * state[:, t - 1] + shocks[:, t]
    return state


def _finish(
    columns: dict[str, np.ndarray],
    observed: np.ndarray,
    session: np.ndarray,
    ruptures: Ruptures,
    recovery: np.ndarray,
    within_sd: float,
    description: str,
    alliance: str = INSTRUMENT,
) -> GeneratedClinic:
    return GeneratedClinic(
        scores=scores_frame(columns, observed, session),
        truth=truth_frame(ruptures, observed, session, recovery),
        alliance=alliance,
        within_sd=within_sd,
        description=description,
    )


def _sessions(observed: np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.arange(1, observed.shape[1] + 1), observed.shape)


# ---- (a) AR(1) state around a trait, V-shaped ruptures, subscales


def ar1_trait(
    n_clients: int,
    *,
    seed: int,
    prevalence: float = 0.08,
    depth: float = 2.5,
    phi: float = 0.5,
    state_sd: float = 0.2,
    noise_sd: float = 0.15,
    subscale_sd: float = 0.2,
    trait_mean: float = 3.8,
    trait_sd: float = 0.5,
    spread: float = 0.5,
    main_share: float = 0.6,
    repair_probability: float = 0.6,
    unrepaired_decay: float = 0.85,
    rupture_items: bool = False,
    item_signal: float = 3.0,
    item_noise: float = 0.8,
    min_sessions: int = 8,
    max_sessions: int = 24,
) -> GeneratedClinic:
    """(a) An AR(1) alliance state around each client's trait level, with decaying ruptures.

    Each subscale (bond, goal, task) is trait + state + session noise + its own noise,
    clipped to 1-5; the total is their mean. A rupture lowers the level by a depth drawn
    uniformly within ``depth`` x (1 +- ``spread``) SDs, a share ``main_share`` of it on one
    subscale drawn at random (the rest split over the others, the total dropping by the
    depth). A repaired rupture climbs back linearly in 1-3 sessions (a V); an unrepaired one
    decays by ``unrepaired_decay`` per session.

    With ``rupture_items`` the scores are the session alliance check's (``sac_total``,
    ``sac_bond``, ``sac_goal``, ``sac_task``) with its rupture items (``sac_tension``,
    ``sac_misunderstood``, ``sac_withdrawal``, 0-4): each item is a latent -1 + Gaussian
    noise (``item_noise``), plus ``item_signal`` times the rupture's current path on the
    items of its marker (confrontation: tension and feeling misunderstood; withdrawal; half
    each), rounded and clipped to 0-4. Most sessions without a rupture report 0; a few report
    1 or more by chance.
    """
    check_common(n_clients, prevalence, depth)
    instrument = "sac" if rupture_items else INSTRUMENT
    low, high = _scale_range(instrument)
    rng = np.random.default_rng(seed)
    _, observed = layout(rng, n_clients, min_sessions, max_sessions)
    shape = observed.shape
    level = (
        rng.normal(trait_mean, trait_sd, size=n_clients)[:, None]
        + _ar1(rng, shape, phi, state_sd)
        + rng.normal(0.0, noise_sd, size=shape)
    )
    own = rng.normal(0.0, subscale_sd, size=(3, *shape))

    def observe(effect: np.ndarray) -> np.ndarray:
        subs = np.clip(level[None] + own + effect, low, high)
        return subs

    free = observe(np.zeros((3, *shape))).mean(axis=0)
    within = pooled_within_sd(free, observed)
    onset = draw_onsets(rng, observed, prevalence)
    ruptures = draw_ruptures(
        rng,
        onset,
        depth=depth,
        spread=spread,
        within_sd=within,
        repair_probability=repair_probability,
    )
    shapes, recovery = decay_shapes(rng, ruptures, shape[1], unrepaired_decay)
    main = rng.integers(0, 3, size=ruptures.n)
    subs_effect = np.empty((3, *shape))
    for k in range(3):
        share = np.where(main == k, main_share, (1.0 - main_share) / 2.0) * 3.0
        scaled = replace(ruptures, depth_points=ruptures.depth_points * share)
        subs_effect[k] = rupture_effects(scaled, shapes, shape)
    subs = observe(subs_effect)
    columns = {
        f"{instrument}_total": subs.mean(axis=0),
        f"{instrument}_bond": subs[0],
        f"{instrument}_goal": subs[1],
        f"{instrument}_task": subs[2],
    }
    if rupture_items:
        columns.update(_rupture_items(rng, ruptures, shapes, shape, item_signal, item_noise))
    text = (
        f"AR(1) state (phi {phi}) around a trait, subscales"
        f"{', rupture items' if rupture_items else ''}; V-shaped ruptures, depth "
        f"{depth} SD +-{spread:.0%}, prevalence {prevalence:.0%}"
    )
    return _finish(
        columns, observed, _sessions(observed), ruptures, recovery, within, text, instrument
    )


def _rupture_items(
    rng: np.random.Generator,
    ruptures: Ruptures,
    shapes: np.ndarray,
    shape: tuple[int, int],
    signal: float,
    noise: float,
) -> dict[str, np.ndarray]:
    """The session alliance check's rupture items (0-4) for ruptures with these paths."""
    confrontation = rng.random(ruptures.n) < 0.5
    paths = {
        marker: -rupture_effects(
            replace(ruptures, depth_points=(confrontation == (marker == "confrontation")) * 1.0),
            shapes,
            shape,
        )
        for marker in ("confrontation", "withdrawal")
    }
    items = {}
    for name, marker in (
        ("tension", "confrontation"),
        ("misunderstood", "confrontation"),
        ("withdrawal", "withdrawal"),
    ):
        low, high = _scale_range("sac", name)
        latent = -1.0 + rng.normal(0.0, noise, size=shape) + signal * paths[marker]
        items[f"sac_{name}"] = np.clip(np.rint(latent), low, high) + 0.0  # no -0.0
    return items


# ---- (b) random walk with step ruptures, partly repaired


def random_walk(
    n_clients: int,
    *,
    seed: int,
    prevalence: float = 0.08,
    depth: float = 2.5,
    step_sd: float = 0.12,
    noise_sd: float = 0.15,
    trait_mean: float = 3.8,
    trait_sd: float = 0.45,
    spread: float = 0.25,
    partial_max: float = 0.6,
    repair_probability: float = 0.5,
    min_sessions: int = 8,
    max_sessions: int = 24,
) -> GeneratedClinic:
    """(b) A random-walk alliance (unit root) with step ruptures that are partly repaired.

    The level starts at the client's trait and takes a Gaussian step (``step_sd``) every
    session; each session adds measurement noise; the total is clipped to 1-5. A rupture
    steps the level down; 1-3 sessions later a share of the step is restored: all of it for
    a repaired rupture, a share uniform on 0-``partial_max`` for an unrepaired one, and the
    rest stays for the rest of treatment.
    """
    check_common(n_clients, prevalence, depth)
    low, high = _scale_range()
    rng = np.random.default_rng(seed)
    _, observed = layout(rng, n_clients, min_sessions, max_sessions)
    shape = observed.shape
    steps = rng.normal(0.0, step_sd, size=shape)
    steps[:, 0] = 0.0
    level = rng.normal(trait_mean, trait_sd, size=n_clients)[:, None] + np.cumsum(steps, axis=1)
    noise = rng.normal(0.0, noise_sd, size=shape)
    free = np.clip(level + noise, low, high)
    within = pooled_within_sd(free, observed)
    onset = draw_onsets(rng, observed, prevalence)
    ruptures = draw_ruptures(
        rng,
        onset,
        depth=depth,
        spread=spread,
        within_sd=within,
        repair_probability=repair_probability,
    )
    back = rng.integers(1, REPAIR_WINDOW + 1, size=ruptures.n)
    restored = np.where(ruptures.repaired, 1.0, rng.uniform(0.0, partial_max, size=ruptures.n))
    k = np.arange(shape[1])[None, :]
    shapes = np.where(k < back[:, None], 1.0, 1.0 - restored[:, None])
    recovery = np.where(ruptures.repaired, back, REPAIR_WINDOW)
    total = np.clip(level + noise + rupture_effects(ruptures, shapes, shape), low, high)
    text = (
        f"random walk (step SD {step_sd}) with step ruptures, depth {depth} SD, "
        f"{repair_probability:.0%} fully restored, prevalence {prevalence:.0%}"
    )
    return _finish(
        {f"{INSTRUMENT}_total": total},
        observed,
        _sessions(observed),
        ruptures,
        recovery,
        within,
        text,
    )


# ---- (c) trait plus white noise, block ruptures


def trait_blocks(
    n_clients: int,
    *,
    seed: int,
    prevalence: float = 0.08,
    depth: float = 2.5,
    noise_sd: float = 0.3,
    trait_mean: float = 3.8,
    trait_sd: float = 0.5,
    spread: float = 0.25,
    repair_probability: float = 0.6,
    min_sessions: int = 8,
    max_sessions: int = 24,
) -> GeneratedClinic:
    """(c) A constant trait plus white noise, with block ruptures.

    A rupture lowers the level by its full depth for a block of sessions and then stops at
    once: 1-3 sessions for a repaired rupture, 4-6 for an unrepaired one.
    """
    check_common(n_clients, prevalence, depth)
    low, high = _scale_range()
    rng = np.random.default_rng(seed)
    _, observed = layout(rng, n_clients, min_sessions, max_sessions)
    shape = observed.shape
    level = rng.normal(trait_mean, trait_sd, size=n_clients)[:, None] + rng.normal(
        0.0, noise_sd, size=shape
    )
    within = pooled_within_sd(np.clip(level, low, high), observed)
    onset = draw_onsets(rng, observed, prevalence)
    ruptures = draw_ruptures(
        rng,
        onset,
        depth=depth,
        spread=spread,
        within_sd=within,
        repair_probability=repair_probability,
    )
    block = np.where(
        ruptures.repaired,
        rng.integers(1, REPAIR_WINDOW + 1, size=ruptures.n),
        rng.integers(REPAIR_WINDOW + 1, 2 * REPAIR_WINDOW + 1, size=ruptures.n),
    )
    k = np.arange(shape[1])[None, :]
    shapes = (k < block[:, None]).astype(np.float64)
    total = np.clip(level + rupture_effects(ruptures, shapes, shape), low, high)
    text = (
        f"trait + white noise (SD {noise_sd}) with block ruptures, depth {depth} SD, "
        f"prevalence {prevalence:.0%}"
    )
    return _finish(
        {f"{INSTRUMENT}_total": total},
        observed,
        _sessions(observed),
        ruptures,
        block,
        within,
        text,
    )


# ---- (d) strong ceiling, integer items


def _ceiling_scale(
    score: Callable[[float], np.ndarray], free: np.ndarray, ruptures: Ruptures
) -> float:
    """The factor on the latent rupture effects that makes the mean drop they cause in the
    score at onset (rounded, clipped) equal to the asked mean depth (bisection on 1-8)."""
    if ruptures.n == 0:
        return 1.0
    at = (ruptures.client, ruptures.column)
    target = float(ruptures.depth_points.mean())
    low, high = 1.0, 8.0
    for _ in range(30):
        mid = (low + high) / 2
        if float((free - score(mid))[at].mean()) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def ceiling_items(
    n_clients: int,
    *,
    seed: int,
    prevalence: float = 0.08,
    depth: float = 2.5,
    n_items: int = 12,
    phi: float = 0.3,
    state_sd: float = 0.25,
    item_sd: float = 0.5,
    item_bias_sd: float = 0.3,
    trait_mean: float = 4.9,
    trait_sd: float = 0.4,
    spread: float = 0.25,
    repair_probability: float = 0.6,
    unrepaired_decay: float = 0.85,
    min_sessions: int = 8,
    max_sessions: int = 24,
) -> GeneratedClinic:
    """(d) Integer 1-5 item responses with a strong ceiling, scored as item means.

    A latent level (trait near the top of the scale + AR(1) state) plus a fixed per-item
    bias and per-response noise is rounded to the nearest whole response and clipped to
    1-5; the score is the mean of ``n_items`` items (12: the WAI-SR total, with bond, goal
    and task as the means of its 4-item subscales; 4: a 4-item mean on the same metric).
    Most clients answer most items at the top. Ruptures are V-shaped as in (a) and lower
    every item's latent value; because the ceiling and the rounding swallow part of a latent
    drop, the latent effects are scaled up so that the drops they cause *in the score* at
    onset have the asked mean depth, and the truth records each rupture's drop in the score
    (what the session scored minus what it would have scored without ruptures).
    """
    check_common(n_clients, prevalence, depth)
    if n_items not in (4, 12):
        raise InputError(f"n_items must be 4 or 12, got {n_items}")
    low, high = _scale_range()
    rng = np.random.default_rng(seed)
    _, observed = layout(rng, n_clients, min_sessions, max_sessions)
    shape = observed.shape
    level = rng.normal(trait_mean, trait_sd, size=n_clients)[:, None] + _ar1(
        rng, shape, phi, state_sd
    )
    bias = rng.normal(0.0, item_bias_sd, size=(n_items, n_clients, 1))
    noise = rng.normal(0.0, item_sd, size=(n_items, *shape))

    def items(effect: np.ndarray) -> np.ndarray:
        result: np.ndarray = np.clip(np.rint(level[None] + effect[None] + bias + noise), low, high)
        return result

    free = items(np.zeros(shape)).mean(axis=0)
    within = pooled_within_sd(free, observed)
    onset = draw_onsets(rng, observed, prevalence)
    ruptures = draw_ruptures(
        rng,
        onset,
        depth=depth,
        spread=spread,
        within_sd=within,
        repair_probability=repair_probability,
    )
    shapes, recovery = decay_shapes(rng, ruptures, shape[1], unrepaired_decay)
    effect = rupture_effects(ruptures, shapes, shape)
    scale = _ceiling_scale(lambda c: items(c * effect).mean(axis=0), free, ruptures)
    answers = items(scale * effect)
    # Depth as seen on the score: the drop at onset from what the session would have scored.
    seen = (free - answers.mean(axis=0))[ruptures.client, ruptures.column]
    ruptures = replace(ruptures, depth_points=seen, depth_sd=seen / within)
    columns = {f"{INSTRUMENT}_total": answers.mean(axis=0)}
    if n_items == 12:
        definition = get_instrument(INSTRUMENT)
        for name in ("bond", "goal", "task"):
            numbers = np.array(definition.scale(name).items) - 1
            columns[f"{INSTRUMENT}_{name}"] = answers[numbers].mean(axis=0)
    text = (
        f"{n_items} integer 1-5 items near the ceiling (trait mean {trait_mean}), "
        f"V-shaped ruptures, depth {depth} SD, prevalence {prevalence:.0%}"
    )
    return _finish(columns, observed, _sessions(observed), ruptures, recovery, within, text)


# ---- (e) sparse attendance


def _with_decaying_ruptures(
    rng: np.random.Generator,
    level: np.ndarray,
    observed: np.ndarray,
    *,
    bounds: tuple[float, float],
    prevalence: float,
    depth: float,
    spread: float,
    repair_probability: float,
    unrepaired_decay: float,
    description: str,
) -> GeneratedClinic:
    """Add V-shaped ruptures, decaying when unrepaired, to a rupture-free alliance level on
    the scale's ``bounds``; depth in the within-client SD of the rupture-free scores."""
    low, high = bounds
    shape = level.shape
    within = pooled_within_sd(np.clip(level, low, high), observed)
    onset = draw_onsets(rng, observed, prevalence)
    ruptures = draw_ruptures(
        rng,
        onset,
        depth=depth,
        spread=spread,
        within_sd=within,
        repair_probability=repair_probability,
    )
    shapes, recovery = decay_shapes(rng, ruptures, shape[1], unrepaired_decay)
    total = np.clip(level + rupture_effects(ruptures, shapes, shape), low, high)
    return _finish(
        {f"{INSTRUMENT}_total": total},
        observed,
        _sessions(observed),
        ruptures,
        recovery,
        within,
        description,
    )


def sparse_ar1(
    n_clients: int,
    *,
    seed: int,
    prevalence: float = 0.08,
    depth: float = 2.5,
    attendance: float = 0.65,
    phi: float = 0.6,
    state_sd: float = 0.25,
    noise_sd: float = 0.15,
    trait_mean: float = 3.8,
    trait_sd: float = 0.5,
    spread: float = 0.25,
    repair_probability: float = 0.6,
    unrepaired_decay: float = 0.85,
    min_sessions: int = 10,
    max_sessions: int = 32,
) -> GeneratedClinic:
    """(e) Sparse attendance: an AR(1) alliance over scheduled sessions, most rated.

    The state evolves every scheduled session as in (a) (total only); each session after
    the first is rated with probability ``attendance``, so session numbers have gaps and a
    drop is measured across missed sessions. Ruptures start at rated sessions; their
    V-shaped paths run over scheduled sessions.
    """
    check_common(n_clients, prevalence, depth)
    if not 0.0 < attendance <= 1.0:
        raise InputError(f"attendance must be in (0, 1], got {attendance}")
    low, high = _scale_range()
    rng = np.random.default_rng(seed)
    _, scheduled = layout(rng, n_clients, min_sessions, max_sessions)
    shape = scheduled.shape
    rated = rng.random(shape) < attendance
    rated[:, 0] = True
    observed = scheduled & rated
    level = (
        rng.normal(trait_mean, trait_sd, size=n_clients)[:, None]
        + _ar1(rng, shape, phi, state_sd)
        + rng.normal(0.0, noise_sd, size=shape)
    )
    return _with_decaying_ruptures(
        rng,
        level,
        observed,
        bounds=(low, high),
        prevalence=prevalence,
        depth=depth,
        spread=spread,
        repair_probability=repair_probability,
        unrepaired_decay=unrepaired_decay,
        description=(
            f"AR(1) (phi {phi}) with {attendance:.0%} of sessions rated (gaps), V-shaped "
            f"ruptures, depth {depth} SD, prevalence {prevalence:.0%}"
        ),
    )


# ---- (f) heavy-tailed noise


def heavy_tailed(
    n_clients: int,
    *,
    seed: int,
    prevalence: float = 0.08,
    depth: float = 2.5,
    df: float = 3.0,
    phi: float = 0.4,
    state_scale: float = 0.12,
    noise_scale: float = 0.15,
    trait_mean: float = 3.8,
    trait_sd: float = 0.5,
    spread: float = 0.25,
    repair_probability: float = 0.6,
    unrepaired_decay: float = 0.85,
    min_sessions: int = 8,
    max_sessions: int = 24,
) -> GeneratedClinic:
    """(f) Heavy-tailed noise: an AR(1) state with Student-t (``df``) innovations and t
    measurement noise around the trait, total clipped to 1-5; V-shaped ruptures as in (a).
    Occasional large chance drops look like ruptures."""
    check_common(n_clients, prevalence, depth)
    if df <= 2.0:
        raise InputError(f"df must be above 2 (finite variance), got {df}")
    low, high = _scale_range()
    rng = np.random.default_rng(seed)
    _, observed = layout(rng, n_clients, min_sessions, max_sessions)
    shape = observed.shape
    shocks = state_scale * rng.standard_t(df, size=shape)
    state = np.empty(shape)
    state[:, 0] = shocks[:, 0] / np.sqrt(1.0 - phi**2)
    for t in range(1, shape[1]):
        state[:, t] = phi * state[:, t - 1] + shocks[:, t]
    level = (
        rng.normal(trait_mean, trait_sd, size=n_clients)[:, None]
        + state
        + noise_scale * rng.standard_t(df, size=shape)
    )
    return _with_decaying_ruptures(
        rng,
        level,
        observed,
        bounds=(low, high),
        prevalence=prevalence,
        depth=depth,
        spread=spread,
        repair_probability=repair_probability,
        unrepaired_decay=unrepaired_decay,
        description=(
            f"AR(1) with t({df:g}) innovations and noise, V-shaped ruptures, depth {depth} "
            f"SD, prevalence {prevalence:.0%}"
        ),
    )


# ---- the family


@dataclass(frozen=True)
class FamilySetting:
    """A named setting of the family: a generator and its parameters."""

    name: str
    generator: Generator
    prevalence: float
    depth: float
    params: dict[str, Any] = field(default_factory=dict)

    def generate(self, n_clients: int, *, seed: int) -> GeneratedClinic:
        """Generate a clinic of this setting."""
        return self.generator(
            n_clients, seed=seed, prevalence=self.prevalence, depth=self.depth, **self.params
        )


#: The validation family: rupture prevalence 2-15% of sessions, mean depth 1.25-4
#: within-client SDs (single ruptures from 1 SD), six generating processes; one setting
#: has the session alliance check's rupture items.
FAMILY: Final[tuple[FamilySetting, ...]] = (
    FamilySetting("AR(1) trait, V ruptures", ar1_trait, 0.08, 2.5),
    FamilySetting("AR(1) trait, rare deep", ar1_trait, 0.02, 3.5, {"phi": 0.7}),
    FamilySetting("AR(1) trait, shallow", ar1_trait, 0.05, 1.25, {"spread": 0.2}),
    FamilySetting(
        "AR(1) trait, rupture items (SAC)", ar1_trait, 0.08, 2.0, {"rupture_items": True}
    ),
    FamilySetting("random walk, steps", random_walk, 0.06, 2.5),
    FamilySetting("random walk, frequent shallow", random_walk, 0.15, 1.5),
    FamilySetting("trait + white noise, blocks", trait_blocks, 0.10, 2.0),
    FamilySetting("trait + white noise, rare deep blocks", trait_blocks, 0.03, 4.0),
    FamilySetting("ceiling, 12 items", ceiling_items, 0.08, 3.0, {"n_items": 12}),
    FamilySetting("ceiling, 4 items", ceiling_items, 0.05, 3.0, {"n_items": 4}),
    FamilySetting("sparse attendance", sparse_ar1, 0.08, 2.5),
    FamilySetting("sparse attendance, frequent", sparse_ar1, 0.12, 2.0, {"attendance": 0.5}),
    FamilySetting("heavy tails t(3)", heavy_tailed, 0.08, 2.5),
    FamilySetting("heavy tails t(3), rare", heavy_tailed, 0.02, 3.0),
)
