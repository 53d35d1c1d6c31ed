"""Shared machinery of the generators: session layout, rupture onsets, effects, frames.

Every generator works on client x session matrices (rows are clients, columns scheduled
sessions 1..T); a boolean ``observed`` matrix says which sessions were attended and rated.
Nothing here knows how a generator makes its alliance: it draws where ruptures start,
adds their effect paths and writes the wide scores frame and the truth table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bordin.errors import InputError

__all__ = [
    "REFRACTORY",
    "REPAIR_WINDOW",
    "Ruptures",
    "check_common",
    "decay_shapes",
    "draw_onsets",
    "draw_ruptures",
    "layout",
    "pooled_within_sd",
    "rupture_effects",
    "scores_frame",
    "truth_frame",
]

#: Sessions after an onset within which the alliance must be back at its pre-rupture level
#: for the rupture to count as repaired (the project's repair window).
REPAIR_WINDOW = 3
#: A new rupture may start no sooner than this many sessions after the previous onset.
REFRACTORY = 4
CLIENTS_PER_THERAPIST = 12

Matrix = np.ndarray


def check_common(n_clients: int, prevalence: float, depth: float) -> None:
    """Refuse sizes and rupture settings outside what the generators can produce."""
    if n_clients < 1:
        raise InputError(f"n_clients must be at least 1, got {n_clients}")
    if not 0.0 <= prevalence <= 0.2:
        raise InputError(f"prevalence must be between 0 and 0.2 of sessions, got {prevalence}")
    if not depth > 0.0:
        raise InputError(f"depth must be positive (within-client SDs), got {depth}")


def layout(
    rng: np.random.Generator, n_clients: int, min_sessions: int, max_sessions: int
) -> tuple[np.ndarray, Matrix]:
    """Each client's number of scheduled sessions and the client x session mask of them."""
    if not 3 <= min_sessions <= max_sessions:
        raise InputError(
            f"sessions must satisfy 3 <= min_sessions <= max_sessions, got "
            f"{min_sessions}, {max_sessions}"
        )
    lengths = rng.integers(min_sessions, max_sessions + 1, size=n_clients)
    mask = np.arange(max_sessions)[None, :] < lengths[:, None]
    return lengths, mask


def pooled_within_sd(values: Matrix, observed: Matrix) -> float:
    """Pooled within-client SD: each client's observed sessions around that client's own
    mean, sums of squares and degrees of freedom pooled over clients."""
    x = np.where(observed, values, 0.0)
    n = observed.sum(axis=1)
    has = n >= 2
    mean = x.sum(axis=1) / np.maximum(n, 1)
    ss = (np.where(observed, values - mean[:, None], 0.0) ** 2).sum(axis=1)
    df = (n - 1)[has].sum()
    if df <= 0:
        raise InputError("too few sessions to measure the within-client SD")
    return float(np.sqrt(ss[has].sum() / df))


def _onsets_for(u: Matrix, eligible: Matrix, q: float, refractory: int) -> Matrix:
    n, t_max = eligible.shape
    onset = np.zeros_like(eligible)
    free_from = np.zeros(n, dtype=np.int64)
    for t in range(t_max):
        on = eligible[:, t] & (t >= free_from) & (u[:, t] < q)
        onset[:, t] = on
        free_from[on] = t + refractory
    return onset


def draw_onsets(
    rng: np.random.Generator,
    observed: Matrix,
    prevalence: float,
    *,
    refractory: int = REFRACTORY,
) -> Matrix:
    """Rupture onsets: a share ``prevalence`` of the observed sessions.

    A rupture can start at an observed session with at least two observed sessions before
    it (so there is a level to fall from) and at least ``refractory`` sessions after the
    previous onset. Each eligible session starts one with the same probability; that
    probability is set by bisection on the drawn uniforms so that the count of onsets is
    as close as it can be to ``prevalence`` x observed sessions.
    """
    u = rng.random(observed.shape)
    before = np.cumsum(observed, axis=1) - observed
    eligible = observed & (before >= 2)
    target = prevalence * observed.sum()
    if target <= 0:
        return np.zeros_like(observed)
    highest = _onsets_for(u, eligible, 1.0, refractory)
    if highest.sum() < target:
        raise InputError(
            f"prevalence {prevalence} is not reachable: at most "
            f"{highest.sum() / observed.sum():.3f} of these sessions can start a rupture"
        )
    low, high = 0.0, 1.0
    best = highest
    for _ in range(40):
        mid = (low + high) / 2
        onset = _onsets_for(u, eligible, mid, refractory)
        if abs(onset.sum() - target) < abs(best.sum() - target):
            best = onset
        if onset.sum() < target:
            low = mid
        else:
            high = mid
    return best


@dataclass(frozen=True)
class Ruptures:
    """The drawn ruptures: client row, scheduled-session column, depth (in within-client
    SDs and scale points) and whether the generating process repairs it."""

    client: np.ndarray
    column: np.ndarray
    depth_sd: np.ndarray
    depth_points: np.ndarray
    repaired: np.ndarray

    @property
    def n(self) -> int:
        return int(self.client.shape[0])


def draw_ruptures(
    rng: np.random.Generator,
    onset: Matrix,
    *,
    depth: float,
    spread: float,
    within_sd: float,
    repair_probability: float,
) -> Ruptures:
    """Depths uniform on ``depth`` x (1 - spread, 1 + spread) within-client SDs; each
    rupture repaired with probability ``repair_probability``."""
    if not 0.0 <= spread < 1.0:
        raise InputError(f"depth spread must be in [0, 1), got {spread}")
    if not 0.0 <= repair_probability <= 1.0:
        raise InputError(f"repair_probability must be in [0, 1], got {repair_probability}")
    client, column = np.nonzero(onset)
    k = client.shape[0]
    depth_sd = depth * rng.uniform(1.0 - spread, 1.0 + spread, size=k)
    repaired = rng.random(k) < repair_probability
    return Ruptures(client, column, depth_sd, depth_sd * within_sd, repaired)


def rupture_effects(ruptures: Ruptures, shapes: Matrix, shape: tuple[int, int]) -> Matrix:
    """The summed effect of every rupture on the alliance level: rupture j lowers the
    level by ``depth_points[j] * shapes[j, k]`` at ``k`` sessions after its onset."""
    effect = np.zeros(shape)
    n_rows, width = shapes.shape
    for k in range(width):
        col = ruptures.column + k
        inside = col < shape[1]
        np.add.at(
            effect,
            (ruptures.client[inside], col[inside]),
            -(ruptures.depth_points * shapes[:, k])[inside],
        )
    return effect


def decay_shapes(
    rng: np.random.Generator, ruptures: Ruptures, width: int, unrepaired_decay: float
) -> tuple[Matrix, np.ndarray]:
    """V-shaped paths: a repaired rupture climbs back linearly to its pre-rupture level in
    1-3 sessions; an unrepaired one decays geometrically (``unrepaired_decay`` per
    session) and is still below that level after the repair window. Returns the shapes
    and each rupture's recovery in sessions (the repair window for unrepaired ones)."""
    k = np.arange(width)[None, :]
    back = rng.integers(1, REPAIR_WINDOW + 1, size=ruptures.n)
    linear = np.clip(1.0 - k / back[:, None], 0.0, None)
    geometric = np.broadcast_to(unrepaired_decay**k, linear.shape)
    shapes = np.where(ruptures.repaired[:, None], linear, geometric)
    recovery = np.where(ruptures.repaired, back, REPAIR_WINDOW)
    return shapes, recovery


def _codes(prefix: str, index: np.ndarray, width: int) -> list[str]:
    """Text codes (``C00001``) for 0-based indices."""
    return [f"{prefix}{i + 1:0{width}d}" for i in index.tolist()]


def scores_frame(columns: Mapping[str, Matrix], observed: Matrix, session: Matrix) -> pd.DataFrame:
    """The wide session-scores frame (DESIGN.md): one row per client and observed session,
    sorted by client and session; client and therapist ids are text codes."""
    rows, cols = np.nonzero(observed)
    frame = pd.DataFrame(
        {
            "client_id": _codes("C", rows, 5),
            "therapist_id": _codes("T", rows // CLIENTS_PER_THERAPIST, 3),
            "session": session[rows, cols].astype(np.int64),
        }
    )
    for name, matrix in columns.items():
        frame[name] = matrix[rows, cols]
    return frame


def truth_frame(
    ruptures: Ruptures, observed: Matrix, session: Matrix, recovery: np.ndarray
) -> pd.DataFrame:
    """One row per rupture: client, onset session, depth, repaired, censored.

    A rupture is censored when the client's last observed session comes before the
    session at which its status is settled (the recovery session for a repaired rupture,
    onset + repair window for an unrepaired one)."""
    last = np.max(np.where(observed, session, 0), axis=1)
    onset_session = session[ruptures.client, ruptures.column].astype(np.int64)
    settled_at = onset_session + np.where(ruptures.repaired, recovery, REPAIR_WINDOW)
    return pd.DataFrame(
        {
            "client_id": _codes("C", ruptures.client, 5),
            "onset_session": onset_session,
            "depth_points": ruptures.depth_points,
            "depth_sd": ruptures.depth_sd,
            "repaired": ruptures.repaired.astype(bool),
            "censored": last[ruptures.client] < settled_at,
        }
    )
