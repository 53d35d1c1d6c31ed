"""Input checks shared by the meta-analysis functions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from bordin.errors import InputError

__all__ = ["as_studies", "check_level"]


def as_studies(
    yi: Sequence[float] | NDArray[np.floating], vi: Sequence[float] | NDArray[np.floating]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return yi, vi as float arrays, or raise InputError naming the first bad study."""
    y = np.asarray(yi, dtype=float).reshape(-1)
    v = np.asarray(vi, dtype=float).reshape(-1)
    if y.shape != v.shape:
        raise InputError(f"yi has {y.size} values but vi has {v.size}")
    if y.size < 2:
        raise InputError(f"a meta-analysis needs at least 2 studies; got {y.size}")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise InputError(f"yi of study {bad[0] + 1} is not a finite number")
    bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
    if bad.size:
        raise InputError(f"vi of study {bad[0] + 1} is not a positive finite number")
    return y, v


def check_level(level: float) -> float:
    """Return the confidence level as a fraction, or raise InputError."""
    if not 0.0 < level < 1.0:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95); got {level!r}")
    return float(level)
