"""The row layout of a frame sorted by client and session.

The rules themselves run in compiled kernels, each beside its rule, which
walk the rows in this order and reset their state at each client's first row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from bordin.feedback._jit import JIT

__all__ = ["Groups", "make_groups"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Groups:
    """Row layout of a client-sorted frame.

    ``code`` numbers clients 0..n-1 in row order, ``start`` is the first row of each client
    and ``size`` its number of rows, ``first`` marks each client's first row and
    ``remaining`` is the number of rows of the same client after each row.
    """

    code: IntArray
    start: IntArray
    size: IntArray
    first: BoolArray
    remaining: IntArray

    @property
    def n_rows(self) -> int:
        return int(self.code.shape[0])

    def last_row(self) -> IntArray:
        """Index of each client's last row."""
        return self.start + self.size - 1


def make_groups(first: BoolArray) -> Groups:
    """Describe the clients of a sorted frame from the mark on each client's first row."""
    n = first.shape[0]
    start = np.flatnonzero(first).astype(np.int64)
    size = np.diff(np.append(start, n)).astype(np.int64)
    code, remaining = group_layout(first)
    return Groups(code=code, start=start, size=size, first=first, remaining=remaining)


# ---- compiled kernels (numba; shared options in bordin.feedback._jit) ----


def group_layout(first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's client number (0, 1, ... in row order) and the number of rows of its
    client after it, from the mark on each client's first row."""
    out = np.empty((2, first.shape[0]), dtype=np.int64)
    _group_layout(first, out)
    return out[0], out[1]


@numba.njit(**JIT)
def _group_layout(first: np.ndarray, out: np.ndarray) -> None:
    code = -1
    for r in range(first.shape[0]):
        if first[r]:
            code += 1
        out[0, r] = code
    after = 0
    for r in range(first.shape[0] - 1, -1, -1):
        out[1, r] = after
        after = 0 if first[r] else after + 1
