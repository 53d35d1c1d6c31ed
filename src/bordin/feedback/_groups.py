"""Vectorised within-client operations on a frame sorted by client and session.

Every function takes arrays aligned with the sorted frame and a :class:`Groups` describing
where each client's rows start; none loops over clients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

__all__ = [
    "Groups",
    "cumulative_sum",
    "ewm_previous",
    "expanding_moments_previous",
    "make_groups",
    "run_length",
    "shift",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Groups:
    """Row layout of a client-sorted frame.

    ``code`` numbers clients 0..n-1 in row order, ``position`` counts rows within a client
    from 0, ``start`` is the first row of each client and ``first`` marks those rows.
    """

    code: IntArray
    position: IntArray
    start: IntArray
    size: IntArray
    first: BoolArray

    @property
    def n_rows(self) -> int:
        return int(self.code.shape[0])

    def last_row(self) -> IntArray:
        """Index of each client's last row."""
        return self.start + self.size - 1


def make_groups(client_code: IntArray) -> Groups:
    """Describe the groups of a client code that is constant within runs (sorted frame)."""
    n = client_code.shape[0]
    first = np.ones(n, dtype=bool)
    if n:
        first[1:] = client_code[1:] != client_code[:-1]
    start = np.flatnonzero(first).astype(np.int64)
    size = np.diff(np.append(start, n)).astype(np.int64)
    code = np.cumsum(first).astype(np.int64) - 1
    position = np.arange(n, dtype=np.int64) - np.repeat(start, size)
    return Groups(code=code, position=position, start=start, size=size, first=first)


def shift(values: FloatArray, groups: Groups, lag: int = 1) -> FloatArray:
    """Value ``lag`` rows earlier (positive lag) or later (negative) in the same client."""
    out = np.full(values.shape[0], np.nan)
    n = values.shape[0]
    if lag > 0:
        ok = groups.position >= lag
        idx = np.flatnonzero(ok)
        out[idx] = values[idx - lag]
    elif lag < 0:
        ok = (groups.position - lag) < np.repeat(groups.size, groups.size)
        idx = np.flatnonzero(ok)
        idx = idx[idx - lag < n]
        out[idx] = values[idx - lag]
    else:
        out[:] = values
    return out


def cumulative_sum(values: NDArray[np.float64] | IntArray, groups: Groups) -> FloatArray:
    """Inclusive cumulative sum within each client."""
    total = np.cumsum(values, dtype=np.float64)
    before = np.zeros(groups.start.shape[0])
    nonzero = groups.start > 0
    before[nonzero] = total[groups.start[nonzero] - 1]
    result: FloatArray = total - np.repeat(before, groups.size)
    return result


def expanding_moments_previous(
    values: FloatArray, groups: Groups
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Count, mean and SD (ddof=1) of the client's non-missing values before each row."""
    ok = ~np.isnan(values)
    centre = float(np.nanmean(values)) if ok.any() else 0.0
    v = np.where(ok, values - centre, 0.0)
    n = cumulative_sum(ok.astype(np.float64), groups) - ok
    s1 = cumulative_sum(v, groups) - v
    s2 = cumulative_sum(v * v, groups) - v * v
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s1 / n, np.nan)
        var = np.where(n > 1, (s2 - s1 * s1 / np.where(n > 0, n, 1)) / (n - 1), np.nan)
    sd = np.sqrt(np.clip(var, 0.0, None))
    return n, mean + centre, sd


def ewm_previous(values: FloatArray, groups: Groups, halflife: float) -> FloatArray:
    """Exponentially weighted mean of the client's values before each row (NaN skipped).

    Computed with one linear filter over the whole column; the part carried over from the
    previous client is removed exactly, so clients never mix.
    """
    decay = 0.5 ** (1.0 / halflife)
    ok = ~np.isnan(values)
    x = np.where(ok, values, 0.0)
    w = ok.astype(np.float64)
    # Inclusive sums S_t = decay * S_{t-1} + x_t over the whole column.
    s_all = lfilter([1.0], [1.0, -decay], x)
    w_all = lfilter([1.0], [1.0, -decay], w)
    carry_s = np.zeros(groups.start.shape[0])
    carry_w = np.zeros(groups.start.shape[0])
    later = groups.start > 0
    carry_s[later] = s_all[groups.start[later] - 1]
    carry_w[later] = w_all[groups.start[later] - 1]
    factor = decay ** (groups.position + 1.0)
    s = s_all - factor * np.repeat(carry_s, groups.size)
    ww = w_all - factor * np.repeat(carry_w, groups.size)
    # Exclude the current row: the level before this session.
    s_prev = shift(s, groups, 1)
    w_prev = shift(ww, groups, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(w_prev > 1e-12, s_prev / w_prev, np.nan)
    return out


def run_length(flag: BoolArray, groups: Groups) -> FloatArray:
    """Length of the run of consecutive True rows ending at each row (0 where False)."""
    n = flag.shape[0]
    idx = np.arange(n, dtype=np.int64)
    # Last row index (within client) where the run was broken: a False row or before start.
    breaker = np.where(~flag, idx, -1)
    group_floor = np.repeat(groups.start - 1, groups.size)
    last_break = np.maximum(np.maximum.accumulate(breaker), group_floor)
    return np.where(flag, idx - last_break, 0).astype(np.float64)
