"""Uninformative alliance ratings: at the scale maximum, or unchanging, session after session.

Alliance ratings are strongly skewed towards the top of the scale; a client who rates the
maximum, or the same value, for several sessions in a row gives ratings in which a rupture
cannot show (Tryon, Blackwell & Hammel, 2008; Miller, Duncan & Hubble, 2005 ask therapists
to treat perfect scores as a prompt for a conversation rather than as reassurance).

References
----------
Tryon, G. S., Blackwell, S. C., & Hammel, E. F. (2008). The magnitude of client and therapist
working alliance ratings. Psychotherapy: Theory, Research, Practice, Training, 45(4), 546-551.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from bordin.feedback._groups import BoolArray, IntArray
from bordin.feedback._jit import JIT
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig

__all__ = ["CeilingSignals", "detect_uninformative"]


@dataclass(frozen=True)
class CeilingSignals:
    """Per-row: run of sessions at the maximum, run of identical ratings, and the flag."""

    at_maximum_run: IntArray
    constant_run: IntArray
    uninformative: BoolArray


def detect_uninformative(prepared: Prepared, config: FeedbackConfig) -> CeilingSignals:
    """Flag sessions ending a run of ``ceiling_sessions`` or more uninformative ratings.

    A session is at the ceiling when the alliance total equals the scale maximum; ratings are
    unchanging when the total equals the previous session's. The flag at session *t* uses
    sessions up to *t* only.
    """
    max_run, const_run, flag = ceiling_runs(
        prepared.alliance["total"],
        prepared.groups.first,
        float(prepared.alliance_facts.maximum),
        config.ceiling_sessions,
    )
    return CeilingSignals(at_maximum_run=max_run, constant_run=const_run, uninformative=flag)


# ---- compiled kernels (numba; shared options in bordin.feedback._jit) ----


def ceiling_runs(
    values: np.ndarray, first: np.ndarray, maximum: float, sessions: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of sessions at the scale maximum and of identical ratings ending at each row,
    and whether either run is ``sessions`` long or longer."""
    runs = np.empty((2, values.shape[0]), dtype=np.int64)
    flag = np.empty(values.shape[0], dtype=bool)
    _ceiling_runs(values, first, maximum, sessions, runs, flag)
    return runs[0], runs[1], flag


@numba.njit(**JIT)
def _ceiling_runs(
    values: np.ndarray,
    first: np.ndarray,
    maximum: float,
    sessions: int,
    runs: np.ndarray,
    flag: np.ndarray,
) -> None:
    n = values.shape[0]
    at_max = 0
    same = 0
    for r in range(n):
        v = values[r]
        if first[r]:
            at_max = 0
            same = 0
        at_max = at_max + 1 if v >= maximum - 1e-9 else 0
        if not first[r] and abs(v - values[r - 1]) < 1e-9:
            same += 1
        else:
            same = 0
        # a run of k identical ratings is k - 1 "same as before" sessions plus one
        c = 0 if math.isnan(v) else same + 1
        runs[0, r] = at_max
        runs[1, r] = c
        flag[r] = at_max >= sessions or c >= sessions
