"""Input checks and the model matrix of the three-level model (internal)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bordin.errors import InputError

__all__ = ["MultilevelData", "prepare_multilevel"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MultilevelData:
    """Checked effect sizes, their clusters and the model matrix (rows with data only)."""

    yi: FloatArray
    vi: FloatArray
    x: FloatArray
    terms: tuple[str, ...]
    cluster: NDArray[np.intp]
    cluster_labels: tuple[str, ...]
    n_dropped: int


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _design(mods: pd.DataFrame, keep: NDArray[np.bool_]) -> tuple[FloatArray, tuple[str, ...]]:
    cols: list[FloatArray] = [np.ones(int(np.sum(keep)))]
    terms = ["intrcpt"]
    for name in mods.columns:
        col = mods[name][keep]
        numeric = pd.to_numeric(col, errors="coerce")
        if pd.api.types.is_bool_dtype(col) or numeric.isna().any():
            # Categorical: dummies for every level but the first in sorted order (R's
            # default for character columns), named <column><level> as metafor.
            text = col.astype(str)
            levels = sorted(set(text))
            if len(levels) < 2:
                raise InputError(f"the moderator has only one level ({levels[0]!r})", column=name)
            for lvl in levels[1:]:
                cols.append((text == lvl).to_numpy(dtype=np.float64))
                terms.append(f"{name}{lvl}")
        else:
            cols.append(numeric.to_numpy(dtype=np.float64))
            terms.append(str(name))
    return np.column_stack(cols), tuple(terms)


def prepare_multilevel(
    yi: Sequence[float] | FloatArray,
    vi: Sequence[float] | FloatArray,
    cluster: Sequence[object],
    effect: Sequence[object] | None,
    mods: pd.DataFrame | None,
    *,
    first_row: int = 1,
    columns: tuple[str, str, str, str] = ("yi", "vi", "cluster", "effect"),
) -> MultilevelData:
    """Check the inputs (errors name the 1-based row) and build the model matrix.

    Rows with a missing moderator value are left out (metafor's default ``na.omit``) and
    counted; a missing yi, vi or cluster is an error. ``first_row`` is the row number of
    the first effect in messages (2 for a CSV with a header line); ``columns`` names the
    yi, vi, cluster and effect columns in messages.
    """
    yi_col, vi_col, cluster_col, effect_col = columns
    y = np.asarray(yi, dtype=float).reshape(-1)
    v = np.asarray(vi, dtype=float).reshape(-1)
    n = y.size
    if v.size != n or len(cluster) != n or (effect is not None and len(effect) != n):
        raise InputError("yi, vi, cluster (and effect) must have the same length")
    if mods is not None and len(mods) != n:
        raise InputError(f"{len(mods)} rows of moderators for {n} effect sizes")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise InputError("not a finite number", row=int(bad[0]) + first_row, column=yi_col)
    bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
    if bad.size:
        raise InputError(
            "the sampling variance must be a positive number",
            row=int(bad[0]) + first_row,
            column=vi_col,
        )
    for i, c in enumerate(cluster):
        if _missing(c):
            raise InputError("the cluster is missing", row=i + first_row, column=cluster_col)
    keep = np.ones(n, dtype=bool)
    if mods is not None:
        for name in mods.columns:
            keep &= ~np.array([_missing(val) for val in mods[name]], dtype=bool)
    labels = [str(c) for c in cluster]
    if effect is not None:
        seen: dict[tuple[str, str], int] = {}
        for i, (c, e) in enumerate(zip(labels, effect, strict=True)):
            if not keep[i]:
                continue
            key = (c, str(e))
            if key in seen:
                raise InputError(
                    f"effect {e!r} occurs twice in cluster {c!r} (also row "
                    f"{seen[key] + first_row}); the effect identifier must be unique within "
                    "its cluster",
                    row=i + first_row,
                    column=effect_col,
                )
            seen[key] = i
    if mods is None or len(mods.columns) == 0:
        x = np.ones((int(np.sum(keep)), 1))
        terms: tuple[str, ...] = ("intrcpt",)
    else:
        x, terms = _design(mods.reset_index(drop=True), keep)
    kept_labels = [lab for lab, k in zip(labels, keep, strict=True) if k]
    codes, uniques = pd.factorize(pd.Series(kept_labels), sort=False)
    n_kept = int(np.sum(keep))
    if uniques.size < 2:
        raise InputError("a three-level model needs at least 2 clusters")
    if n_kept <= x.shape[1]:
        raise InputError(f"{n_kept} effect sizes cannot estimate {x.shape[1]} coefficients")
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise InputError(
            "the moderators are collinear (a column is a combination of the others): "
            + ", ".join(terms)
        )
    return MultilevelData(
        yi=y[keep],
        vi=v[keep],
        x=x,
        terms=terms,
        cluster=np.asarray(codes, dtype=np.intp),
        cluster_labels=tuple(str(u) for u in uniques),
        n_dropped=n - n_kept,
    )
