"""Weak early alliance: low or falling alliance by the third session.

Early alliance predicts outcome (Flückiger et al., 2018), and clients with insecure
attachment find it harder to form; for them a bond-focused stance helps (Zilcha-Mano, 2017).
The rule judges the mean alliance over sessions 1..3 against the instrument's concern cutoff
where it has one, otherwise against the clinic's 25th percentile of the same mean; and the
least-squares slope over those sessions.

References
----------
Zilcha-Mano, S. (2017). Is the alliance really therapeutic? Revisiting this question in
light of recent methodological advances. doi:10.1037/a0040435
Flückiger, C., Del Re, A. C., Wampold, B. E., & Horvath, A. O. (2018). The alliance in adult
psychotherapy: A meta-analytic synthesis. doi:10.1037/pst0000172
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numba
import numpy as np

from bordin.feedback._groups import BoolArray, FloatArray
from bordin.feedback._jit import JIT, NAN
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig

__all__ = ["INSTRUMENT_CUTOFF", "EarlySignals", "assess_early_alliance", "early_reference"]


@dataclass(frozen=True)
class EarlySignals:
    """Per-row early-alliance signals, defined from the client's first row at or after the
    judging session onward (NaN/False before it).

    ``reference`` is the value the mean was compared with and ``reference_source`` says
    whether it is the instrument's concern cutoff or the clinic percentile.
    """

    early_mean: FloatArray
    early_slope: FloatArray
    reference: FloatArray
    reference_source: str
    low: BoolArray
    falling: BoolArray
    weak: BoolArray


INSTRUMENT_CUTOFF: Final = "instrument concern cutoff"


_Early = tuple[FloatArray, FloatArray, BoolArray, BoolArray]


def _early(prepared: Prepared, config: FeedbackConfig) -> _Early:
    """The early mean and slope per row, whether judged yet, and the judging rows."""
    # Sessions are numbered >= position + 1, so the judging row (the first numbered k or
    # later) is at position <= k - 1 and its sums run over that client's rows up to it.
    result: _Early = early_means(
        prepared.alliance["total"],
        prepared.groups.first,
        prepared.session_int,
        config.early_session,
    )
    return result


def early_reference(prepared: Prepared, config: FeedbackConfig) -> tuple[float, str]:
    """The value early alliance is judged against, and where it comes from.

    The instrument's concern cutoff where it has one; otherwise the clinic's
    ``early_percentile`` of the early means of the clients judged exactly at session
    ``early_session`` (a client judged later, because sessions were missed, is left out).
    This is a clinic-wide quantity: it is part of the clinic norms
    (:class:`bordin.feedback.ClinicNorms`).
    """
    facts = prepared.alliance_facts
    if facts.cutoff is not None:
        return float(facts.cutoff), INSTRUMENT_CUTOFF
    k = config.early_session
    early_mean, _, _, judge = _early(prepared, config)
    means = early_mean[judge & (prepared.session == k)]
    means = means[~np.isnan(means)]
    value = float(np.percentile(means, config.early_percentile)) if means.size else np.nan
    return value, (
        f"clinic {config.early_percentile:g}th percentile at session {k} ({means.size} clients)"
    )


def assess_early_alliance(
    prepared: Prepared, config: FeedbackConfig, reference: tuple[float, str]
) -> EarlySignals:
    """Judge early alliance at the first session numbered ``early_session`` or later
    against ``reference`` (value and source; see :func:`early_reference`).

    Only sessions up to that one enter the mean and slope, so no later session of the
    client changes the signal.
    """
    early_mean, early_slope, judged_yet, _ = _early(prepared, config)
    reference_value, source = reference
    low = judged_yet & (early_mean < reference_value)  # False for NaN
    falling = judged_yet & (early_slope <= config.early_slope_threshold)
    return EarlySignals(
        early_mean=early_mean,
        early_slope=early_slope,
        reference=np.where(judged_yet, reference_value, np.nan),
        reference_source=source,
        low=low,
        falling=falling,
        weak=low | falling,
    )


# ---- compiled kernels (numba; shared options in bordin.feedback._jit) ----


def early_means(
    values: np.ndarray, first: np.ndarray, session: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and least-squares slope of the alliance over sessions 1..k, judged at the
    client's first row numbered k or later and carried forward (NaN before it); whether the
    client has been judged by each row, and the judging rows."""
    floats = np.empty((2, values.shape[0]))
    flags = np.empty((2, values.shape[0]), dtype=bool)
    _early_means(values, first, session, k, floats, flags)
    return floats[0], floats[1], flags[0], flags[1]


@numba.njit(**JIT)
def _early_means(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    k: int,
    floats: np.ndarray,
    flags: np.ndarray,
) -> None:
    n = values.shape[0]
    start = 0
    done = False
    m = NAN
    b = NAN
    for r in range(n):
        if first[r]:
            start = r
            done = False
            m = NAN
            b = NAN
        flags[1, r] = not done and session[r] >= k
        if flags[1, r]:
            done = True
            cnt = 0.0
            sx = 0.0
            st = 0.0
            stt = 0.0
            stx = 0.0
            for q in range(r, start - 1, -1):  # from the judging row backwards
                x = values[q]
                t = session[q]
                if t <= k and not math.isnan(x):
                    cnt += 1.0
                    sx += x
                    st += t
                    stt += t * t
                    stx += t * x
            m = sx / cnt if cnt > 0 else NAN
            den = cnt * stt - st * st
            b = (cnt * stx - st * sx) / den if cnt >= 2 and den > 0 else NAN
        floats[0, r] = m
        floats[1, r] = b
        flags[0, r] = done
