"""Vectorised within-client operations on a frame sorted by client and session.

Every function takes arrays aligned with the sorted frame and a :class:`Groups` describing
where each client's rows start; none loops over clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

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
    the same client after it; ``pm_*`` describe the position-major layout of
    :meth:`running`.

    Within-client running sums are computed position by position, so each client's sums are
    added in the same order as a loop over that client alone would: they never depend, even
    in the last bit, on other clients' data. That is what makes "a session added later never
    changes an earlier signal" hold exactly, not just up to rounding.
    """

    code: IntArray
    position: IntArray
    start: IntArray
    size: IntArray
    first: BoolArray
    row_start: IntArray
    remaining: IntArray
    pm_start: IntArray
    pm_count: IntArray
    pad_index: IntArray | None = None

    def running(self, values: FloatArray, decay: float = 1.0) -> FloatArray:
        """Inclusive running sum within each client, :math:`S_t = d\\,S_{t-1} + x_t`.

        Works in a position-major layout (all clients' first rows, then all second rows...),
        so each step is one vector addition over the clients. When the clients' sizes are
        similar the layout is padded (position *p* of client *c* at ``p * n_clients + c``):
        rows map to it in nearly sequential order, which is much faster to gather and scatter
        than the dense layout (clients ordered by decreasing size, the clients present at
        position *p* a prefix of those at *p - 1*) used otherwise. Either way each client's
        sums are added in its own session order.
        """
        if values.ndim == 2:  # row by row: fancy indexing along the last axis is slow
            return np.vstack([self.running(row, decay) for row in values])
        if self.pad_index is not None:
            n_clients = self.start.shape[0]
            width = self.pm_start.shape[0]
            padded = np.zeros(width * n_clients)
            padded[self.pad_index] = values
            grid = padded.reshape(width, n_clients)
            for p in range(1, width):
                if decay == 1.0:
                    grid[p] += grid[p - 1]
                else:
                    grid[p] += decay * grid[p - 1]
            result: FloatArray = padded[self.pad_index]
            return result
        y = values[self.pm_order]
        for p in range(1, self.pm_start.shape[0]):
            start, k = int(self.pm_start[p]), int(self.pm_count[p])
            prev = int(self.pm_start[p - 1])
            if decay == 1.0:
                y[start : start + k] += y[prev : prev + k]
            else:
                y[start : start + k] += decay * y[prev : prev + k]
        out = np.empty_like(y)
        out[self.pm_order] = y
        return out

    def count(self, values: NDArray[np.bool_] | IntArray) -> FloatArray:
        """Inclusive running count within each client of a boolean or integer column.

        Integer sums are exact in any order, so one cumulative sum over the whole frame,
        less its value before each client's first row, gives every client's own count.
        """
        total = np.cumsum(values, dtype=np.int64)
        before = np.empty(self.start.shape[0], dtype=np.int64)
        if before.shape[0]:
            before[0] = 0
            before[1:] = total[self.start[1:] - 1]
        result: FloatArray = (total - before[self.code]).astype(np.float64)
        return result

    @cached_property
    def pm_order(self) -> IntArray:
        """Rows in the dense position-major layout: clients by decreasing size (ties in client
        order), so the clients present at position *p* are a prefix of those at *p - 1*."""
        n = self.code.shape[0]
        rank_of_client = np.empty(self.size.shape[0], dtype=np.int64)
        rank_of_client[np.argsort(-self.size, kind="stable")] = np.arange(self.size.shape[0])
        # The clients present at position p are the pm_count[p] largest, so a row's place in
        # its position block is its client's rank: no sort needed.
        order = np.empty(n, dtype=np.int64)
        order[self.pm_start[self.position] + rank_of_client[self.code]] = np.arange(n)
        return order

    @cached_property
    def position_float(self) -> FloatArray:
        """``position`` as floats (the count of earlier rows of the client); do not modify."""
        result: FloatArray = self.position.astype(np.float64)
        return result

    @cached_property
    def position_float_minus_one(self) -> FloatArray:
        """``position_float - 1``; do not modify."""
        result: FloatArray = self.position_float - 1
        return result

    @cached_property
    def position_float_plus_one(self) -> FloatArray:
        """``position_float + 1.0``; do not modify."""
        result: FloatArray = self.position_float + 1.0
        return result

    @cached_property
    def _below(self) -> dict[int, BoolArray]:
        return {}

    def position_below(self, k: int) -> BoolArray:
        """Rows with fewer than ``k`` earlier rows of the same client; do not modify."""
        if k not in self._below:
            self._below[k] = self.position < k
        return self._below[k]

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
    # position-major layout (the row order ``pm_order`` is made when first needed)
    pm_count = np.bincount(position).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
    pm_start = np.concatenate(([0], np.cumsum(pm_count)[:-1])).astype(np.int64)
    # padded position-major layout, unless padding would more than quadruple the size
    n_clients = start.shape[0]
    width = pm_count.shape[0]
    pad_index = position * n_clients + code if width * n_clients <= 4 * n + 64 else None
    return Groups(
        code=code,
        position=position,
        start=start,
        size=size,
        first=first,
        row_start=row_start,
        remaining=remaining,
        pm_start=pm_start,
        pm_count=pm_count,
        pad_index=pad_index,
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
    """Inclusive cumulative sum within each client (exact per client; see :class:`Groups`)."""
    return groups.running(np.asarray(values, dtype=np.float64))


def expanding_moments_previous(
    values: FloatArray, groups: Groups
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Count, mean and SD (ddof=1) of the client's non-missing values before each row.

    Sums are taken around each client's first value (a client-local centre, for accuracy
    without any dependence on other clients).
    """
    ok = ~np.isnan(values)
    complete = bool(ok.all())
    centre = values[groups.row_start]
    if not complete:
        centre = np.where(np.isnan(centre), 0.0, centre)
    v = values - centre
    if complete:
        n = groups.position_float
    else:
        v[~ok] = 0.0
        n = groups.count(ok) - ok
    s1 = groups.running(v)
    s1 -= v
    v2 = v * v
    s2 = groups.running(v2)
    s2 -= v2
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = s2 - s1 * mean
        var /= groups.position_float_minus_one if complete else n - 1
    if complete:  # n is the position
        mean[groups.first] = np.nan
        var[groups.position_below(2)] = np.nan
    else:
        mean[n < 1] = np.nan
        var[n < 2] = np.nan
    np.clip(var, 0.0, None, out=var)
    mean += centre
    return n, mean, np.sqrt(var)


def ewm_previous(values: FloatArray, groups: Groups, halflife: float) -> FloatArray:
    """Exponentially weighted mean of the client's values before each row (NaN skipped).

    The recursion :math:`S_t = \\delta S_{t-1} + x_t` (and the same for the weights) runs
    position by position over all clients at once, so each client's sums are exact.
    """
    decay = 0.5 ** (1.0 / halflife)
    ok = ~np.isnan(values)
    if ok.all():
        s = groups.running(values, decay)
        # Every client's weights are the same function of the position: 1, 1 + d, ...
        width = int(groups.position.max()) + 1 if values.shape[0] else 0
        by_position = np.empty(width + 1)
        by_position[0] = np.nan  # before the first row
        total = 0.0
        for p in range(width):
            total = 1.0 + decay * total if p else 1.0
            by_position[p + 1] = total
        w_prev = by_position[groups.position]
    else:
        s = groups.running(np.where(ok, values, 0.0), decay)
        w_prev = shift(groups.running(ok.astype(np.float64), decay), groups, 1)
    # Exclude the current row: the level before this session.
    s_prev = shift(s, groups, 1)
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
