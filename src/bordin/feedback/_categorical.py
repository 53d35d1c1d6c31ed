"""Categorical columns from integer codes, with one cached dtype per set of labels.

``pd.Categorical.from_codes(codes, categories=...)`` builds and checks a new categories
index on every call (tens of microseconds each); a client's recompute in the service makes
a dozen such columns for a few rows, so the dtype is made once per label set and reused.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import numpy as np
import pandas as pd

__all__ = ["category_dtype", "from_codes"]


@cache
def _dtype(labels: tuple[str, ...]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(labels))


def category_dtype(labels: Iterable[str]) -> pd.CategoricalDtype:
    """The (unordered) categorical dtype with these labels, made once per label set."""
    return _dtype(tuple(labels))


def from_codes(codes: np.ndarray, labels: Iterable[str]) -> pd.Categorical:
    """``pd.Categorical.from_codes(codes, categories=list(labels))`` with a cached dtype
    (code -1 is missing)."""
    return pd.Categorical.from_codes(codes, dtype=category_dtype(labels))
