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
    from 0, ``start`` is the first row of each client and ``first`` marks those rows;
    ``row_start`` is each row's client's first row and ``remaining`` the number of rows of
    the same client after it.
    """

    code: IntArray
    position: IntArray
    start: IntArray
    size: IntArray
    first: BoolArray
    row_start: IntArray
    remaining: IntArray

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
    row_start = np.repeat(start, size)
    position = np.arange(n, dtype=np.int64) - row_start
    remaining = np.repeat(size, size) - position - 1
    return Groups(
        code=code,
        position=position,
        start=start,
        size=size,
        first=first,
        row_start=row_start,
        remaining=remaining,
    )


def shift(values: FloatArray, groups: Groups, lag: int = 1) -> FloatArray:
    """Value ``lag`` rows earlier (positive lag) or later (negative) in the same client."""
    n = values.shape[0]
    out = np.empty(n, dtype=np.float64)
    if lag > 0:
        out[:lag] = np.nan
        out[lag:] = values[: n - lag] if n > lag else values[:0]
        out[groups.position < lag] = np.nan
    elif lag < 0:
        k = -lag
        out[n - k :] = np.nan
        out[: max(n - k, 0)] = values[k:]
        out[groups.remaining < k] = np.nan
    else:
        out[:] = values
    return out


def cumulative_sum(values: NDArray[np.float64] | IntArray, groups: Groups) -> FloatArray:
    """Inclusive cumulative sum within each client."""
    total = np.cumsum(values, dtype=np.float64)
    shifted = np.empty(total.shape[0] + 1)
    shifted[0] = 0.0
    shifted[1:] = total
    result: FloatArray = total - shifted[groups.row_start]
    return result


def expanding_moments_previous(
    values: FloatArray, groups: Groups
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Count, mean and SD (ddof=1) of the client's non-missing values before each row."""
    ok = ~np.isnan(values)
    complete = bool(ok.all())
    centre = (
        float(np.mean(values)) if complete else (float(np.nanmean(values)) if ok.any() else 0.0)
    )
    v = values - centre
    if complete:
        n = groups.position.astype(np.float64)
    else:
        v[~ok] = 0.0
        n = cumulative_sum(ok.astype(np.float64), groups) - ok
    s1 = cumulative_sum(v, groups)
    s1 -= v
    v *= v
    s2 = cumulative_sum(v, groups)
    s2 -= v
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = (s2 - s1 * mean) / (n - 1)
    mean[n < 1] = np.nan
    var[n < 2] = np.nan
    np.clip(var, 0.0, None, out=var)
    mean += centre
    return n, mean, np.sqrt(var)


def ewm_previous(values: FloatArray, groups: Groups, halflife: float) -> FloatArray:
    """Exponentially weighted mean of the client's values before each row (NaN skipped).

    Computed with one linear filter over the whole column; the part carried over from the
    previous client is removed exactly, so clients never mix.
    """
    decay = 0.5 ** (1.0 / halflife)
    ok = ~np.isnan(values)
    complete = bool(ok.all())
    x = values if complete else np.where(ok, values, 0.0)
    # Inclusive sums S_t = decay * S_{t-1} + x_t over the whole column.
    s_all = lfilter([1.0], [1.0, -decay], x)
    top = int(groups.position.max()) + 2 if groups.position.size else 2
    factor = (decay ** np.arange(top, dtype=np.float64))[groups.position + 1]
    s = s_all - factor * np.concatenate(([0.0], s_all))[groups.row_start]
    if complete:  # the weights are known in closed form: sum of decay^i, i = 0..position
        ww = (1.0 - factor) / (1.0 - decay)
    else:
        w_all = lfilter([1.0], [1.0, -decay], ok.astype(np.float64))
        ww = w_all - factor * np.concatenate(([0.0], w_all))[groups.row_start]
    # Exclude the current row: the level before this session.
    s_prev = shift(s, groups, 1)
    w_prev = shift(ww, groups, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = s_prev / w_prev
    out[~(w_prev > 1e-12)] = np.nan
    return out


def run_length(flag: BoolArray, groups: Groups) -> FloatArray:
    """Length of the run of consecutive True rows ending at each row (0 where False)."""
    n = flag.shape[0]
    idx = np.arange(n, dtype=np.int64)
    # Last row index (within client) where the run was broken: a False row or before start.
    breaker = np.where(~flag, idx, -1)
    group_floor = groups.row_start - 1
    last_break = np.maximum(np.maximum.accumulate(breaker), group_floor)
    return np.where(flag, idx - last_break, 0).astype(np.float64)
