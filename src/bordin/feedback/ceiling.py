"""Uninformative alliance ratings: at the scale maximum, or unchanging, session after session.

Alliance ratings are strongly skewed towards the top of the scale; a client who rates the
maximum, or the same value, for several sessions in a row gives ratings in which a rupture
cannot show (Tryon, Blackwell & Hammel, 2008; Miller, Duncan & Hubble, 2005 ask therapists
to treat perfect scores as a prompt for a conversation rather than as reassurance).

References
----------
Tryon, G. S., Blackwell, S. C., & Hammel, E. F. (2008). The magnitude of client and therapist
working alliance ratings. doi:10.1037/a0013753
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bordin.feedback._groups import BoolArray, FloatArray, run_length, shift
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig

__all__ = ["CeilingSignals", "detect_uninformative"]


@dataclass(frozen=True)
class CeilingSignals:
    """Per-row: run of sessions at the maximum, run of identical ratings, and the flag."""

    at_maximum_run: FloatArray
    constant_run: FloatArray
    uninformative: BoolArray


def detect_uninformative(prepared: Prepared, config: FeedbackConfig) -> CeilingSignals:
    """Flag sessions ending a run of ``ceiling_sessions`` or more uninformative ratings.

    A session is at the ceiling when the alliance total equals the scale maximum; ratings are
    unchanging when the total equals the previous session's. The flag at session *t* uses
    sessions up to *t* only.
    """
    groups = prepared.groups
    x = prepared.alliance["total"]
    top = prepared.alliance_facts.maximum
    at_max = x >= top - 1e-9  # False for NaN
    prev = shift(x, groups, 1)
    same = np.abs(x - prev) < 1e-9
    max_run = run_length(at_max, groups)
    # A run of k identical ratings is k-1 consecutive "same as before" sessions plus one.
    same_run = run_length(same, groups)
    const_run = np.where(~np.isnan(x), same_run + 1.0, 0.0)
    flag = (max_run >= config.ceiling_sessions) | (const_run >= config.ceiling_sessions)
    return CeilingSignals(at_maximum_run=max_run, constant_run=const_run, uninformative=flag)
