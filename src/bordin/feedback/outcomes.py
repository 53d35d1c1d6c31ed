"""Outcome status per outcome instrument: reliable change, recovery, response, remission.

Change is measured from the client's first rated session (intake) to each session.
*Reliable improvement* and *reliable deterioration*: a change of at least the instrument's
reliable-change threshold (Jacobson & Truax, 1991). *Recovery*: reliable improvement and a
move from the clinical to the non-clinical side of the caseness cutoff (Jacobson & Truax,
1991). *Response*: a reduction of at least 50% from intake, and *remission*: a score below
the instrument's remission threshold, where the instrument defines them (PHQ-9: Kroenke et
al., 2001; GAD-7 by analogy, as in routine-outcome programmes).

References
----------
Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to
defining meaningful change in psychotherapy research. doi:10.1037/0022-006X.59.1.12
Kroenke, K., Spitzer, R. L., & Williams, J. B. W. (2001). The PHQ-9.
doi:10.1046/j.1525-1497.2001.016009606.x
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numba
import numpy as np
import pandas as pd

from bordin.feedback._categorical import from_codes
from bordin.feedback._groups import BoolArray, FloatArray
from bordin.feedback._jit import JIT, NAN
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig
from bordin.scoring import reliable_change_threshold

__all__ = ["OUTCOME_STATUSES", "OutcomeSignals", "assess_outcome"]

OUTCOME_STATUSES: Final = (
    "recovered",
    "reliably_improved",
    "no_reliable_change",
    "reliably_deteriorated",
    "not_assessed",
)


@dataclass(frozen=True)
class OutcomeSignals:
    """Per-row outcome signals for one instrument, relative to the client's intake score."""

    instrument: str
    score: FloatArray
    intake: FloatArray
    change: FloatArray
    improved: BoolArray
    deteriorated: BoolArray
    recovered: BoolArray
    response: BoolArray
    remission: BoolArray
    caseness: BoolArray
    status: pd.Categorical


_CASE_OPS: Final = (">=", ">", "<=", "<")  # the order of outcome_rows' case_op


def assess_outcome(prepared: Prepared, instrument: str, config: FeedbackConfig) -> OutcomeSignals:
    """Outcome status at each session of ``instrument`` (an id such as ``"phq9"``)."""
    facts = prepared.outcome_facts[instrument]
    y = prepared.outcomes[instrument]
    # Reliable change and recovery by the rule of the scoring foundation,
    # :func:`bordin.scoring.reliable_change` (Jacobson & Truax, 1991), without its per-row
    # category objects.
    threshold = (
        reliable_change_threshold(instrument).value if facts.reliable_change is not None else np.nan
    )
    (
        intake,
        change,
        improved,
        deteriorated,
        recovered,
        response,
        remission,
        case_now,
        code,
    ) = outcome_rows(
        y,
        prepared.groups.first,
        float(threshold),
        bool(facts.higher_is_better),
        float(facts.cutoff) if facts.cutoff is not None else np.nan,
        _CASE_OPS.index(facts.case_if) if facts.case_if in _CASE_OPS else 0,
        float(config.response_fraction),
        bool(facts.defines_response),
        float(facts.remission_below) if facts.remission_below is not None else np.nan,
    )
    status = from_codes(code, OUTCOME_STATUSES)
    return OutcomeSignals(
        instrument=instrument,
        score=y,
        intake=intake,
        change=change,
        improved=improved,
        deteriorated=deteriorated,
        recovered=recovered,
        response=response,
        remission=remission,
        caseness=case_now,
        status=status,
    )


# ---- compiled kernels (numba; shared options in bordin.feedback._jit) ----


def outcome_rows(
    y: np.ndarray,
    first: np.ndarray,
    threshold: float,
    higher_is_better: bool,
    cutoff: float,
    case_op: int,
    response_fraction: float,
    defines_response: bool,
    remission_below: float,
) -> tuple[np.ndarray, ...]:
    """Intake (the client's first score, carried forward), change from it, and per row
    whether change is a reliable improvement or deterioration (``threshold``, NaN for
    none), recovery, response, remission and caseness; ``status`` codes index
    :data:`bordin.feedback.outcomes.OUTCOME_STATUSES`.

    ``case_op`` says how a score compares with ``cutoff`` to be a case (0 ``>=``, 1 ``>``,
    2 ``<=``, 3 ``<``); a NaN cutoff makes no score a case.
    """
    n = y.shape[0]
    floats = np.empty((2, n))
    flags = np.zeros((6, n), dtype=bool)
    status = np.empty(n, dtype=np.int8)
    _outcome_rows(
        y,
        first,
        threshold,
        higher_is_better,
        cutoff,
        case_op,
        response_fraction,
        defines_response,
        remission_below,
        floats,
        flags,
        status,
    )
    return (floats[0], floats[1], *flags, status)


@numba.njit(**JIT)
def _outcome_rows(
    y: np.ndarray,
    first: np.ndarray,
    threshold: float,
    higher_is_better: bool,
    cutoff: float,
    case_op: int,
    response_fraction: float,
    defines_response: bool,
    remission_below: float,
    floats: np.ndarray,
    flags: np.ndarray,
    status: np.ndarray,
) -> None:
    # flags: improved, deteriorated, recovered, response, remission, caseness
    n = y.shape[0]
    tolerance = 1e-9 * max(1.0, threshold)
    base = NAN
    for r in range(n):
        v = y[r]
        ok = not math.isnan(v)
        is_intake = False
        if first[r]:
            base = NAN
        if ok and math.isnan(base):
            base = v
            is_intake = True
        floats[0, r] = base
        c = v - base
        floats[1, r] = c
        case_now = _is_case(v, cutoff, case_op)
        flags[5, r] = case_now
        code = 4  # not assessed
        if ok and not math.isnan(base) and not is_intake:
            code = 2  # no reliable change
            if not math.isnan(threshold) and abs(c) >= threshold - tolerance:
                gain = c if higher_is_better else -c
                if gain > 0:
                    flags[0, r] = True
                    code = 1
                    if _is_case(base, cutoff, case_op) and not case_now:
                        flags[2, r] = True
                        code = 0
                elif gain < 0:
                    flags[1, r] = True
                    code = 3
            if defines_response and base > 0 and (base - v) / base >= response_fraction:
                flags[3, r] = True
            if v < remission_below:
                flags[4, r] = True
        status[r] = code


@numba.njit(**JIT)
def _is_case(value: float, cutoff: float, op: int) -> bool:
    if op == 0:
        return value >= cutoff
    if op == 1:
        return value > cutoff
    if op == 2:
        return value <= cutoff
    return value < cutoff
