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

from dataclasses import dataclass

from bordin.feedback import _kernels
from bordin.feedback._groups import BoolArray, IntArray
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
    max_run, const_run, flag = _kernels.ceiling_runs(
        prepared.alliance["total"],
        prepared.groups.first,
        float(prepared.alliance_facts.maximum),
        config.ceiling_sessions,
    )
    return CeilingSignals(at_maximum_run=max_run, constant_run=const_run, uninformative=flag)
