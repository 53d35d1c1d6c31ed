"""Effect sizes from correlations and sample sizes, as metafor's ``escalc``.

Two measures (Viechtbauer, 2010; Borenstein et al., 2009):

* ``COR``: the raw correlation, :math:`y_i = r_i`, with the large-sample variance
  :math:`v_i = (1 - r_i^2)^2 / (n_i - 1)` (metafor's ``vtype = "LS"``).
* ``ZCOR``: Fisher's z, :math:`y_i = \\tfrac12 \\ln\\frac{1 + r_i}{1 - r_i}`, with
  :math:`v_i = 1 / (n_i - 3)`.

Rows with a missing r or n are dropped and counted; every other problem is an
:class:`~bordin.errors.InputError` that names the row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from bordin.errors import InputError

__all__ = ["EffectSizes", "Measure", "compute_effect_sizes", "z_to_r"]

Measure = Literal["ZCOR", "COR"]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class EffectSizes:
    """Study-level effect sizes ready for :func:`random_effects_meta`.

    Attributes
    ----------
    measure
        ``"ZCOR"`` (Fisher z) or ``"COR"`` (raw r).
    yi
        Effect size of each kept study.
    vi
        Sampling variance of each kept study.
    ri, ni
        The correlation and sample size each effect size was computed from.
    rows
        1-based position in the input of each kept study (data rows, header not counted).
    labels
        Study labels of the kept studies (the row number as text when none were given).
    n_dropped
        Rows dropped because r or n was missing.
    dropped_rows
        1-based positions of the dropped rows.
    """

    measure: Measure
    yi: FloatArray = field(repr=False)
    vi: FloatArray = field(repr=False)
    ri: FloatArray = field(repr=False)
    ni: FloatArray = field(repr=False)
    rows: tuple[int, ...] = field(repr=False)
    labels: tuple[str, ...] = field(repr=False)
    n_dropped: int = 0
    dropped_rows: tuple[int, ...] = ()

    @property
    def k(self) -> int:
        """Number of studies kept."""
        return int(self.yi.shape[0])


def z_to_r(z: float) -> float:
    """Back-transform Fisher's z to a correlation (metafor's ``transf.ztor``)."""
    return math.tanh(z)


def _as_number(value: object, *, column: str, row: int, file: str | None) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise InputError(f"{value!r} is not a number", file=file, row=row, column=column)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = str(value).strip()
    if text == "" or text.upper() in {"NA", "NAN", "NULL"}:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number", file=file, row=row, column=column) from None


def compute_effect_sizes(
    r: Sequence[object] | NDArray[np.generic],
    n: Sequence[object] | NDArray[np.generic],
    *,
    measure: Measure = "ZCOR",
    labels: Sequence[str] | None = None,
    file: str | None = None,
    r_column: str = "r",
    n_column: str = "n",
    first_row: int = 1,
) -> EffectSizes:
    """Compute effect sizes and sampling variances from correlations and sample sizes.

    Parameters
    ----------
    r
        Correlation of each study; text cells are parsed, empty or ``NA`` is missing.
    n
        Sample size of each study.
    measure
        ``"ZCOR"`` for Fisher's z (the default; the pooled result is back-transformed to r)
        or ``"COR"`` for the raw correlation.
    labels
        Optional study labels (same length as ``r``).
    file, r_column, n_column, first_row
        Used in error messages only: the file name, the column names and the row number of
        the first value (2 for a CSV file with a header line).

    Returns
    -------
    EffectSizes
        ``yi``, ``vi`` of the complete rows, and how many rows were dropped as missing.

    Raises
    ------
    InputError
        r or n lengths differ, a cell is not a number, r is outside [-1, 1], n is not a
        whole number, n <= 3 for ZCOR (n <= 1 for COR), or |r| = 1 (infinite z, or zero
        variance for COR). The message names the row and column.

    Notes
    -----
    ZCOR: :math:`y_i = \\operatorname{artanh}(r_i)`, :math:`v_i = 1/(n_i - 3)`.
    COR: :math:`y_i = r_i`, :math:`v_i = (1 - r_i^2)^2/(n_i - 1)`.

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: ``escalc(measure = "ZCOR" | "COR", ri = r, ni = n)``; checked
    through every model in ``tests/reference/data/meta/molloy2014.json`` (rtol 1e-9).

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03

    Examples
    --------
    >>> es = compute_effect_sizes([0.3, 0.5], [10, 20], measure="COR")  # escalc("COR", ...)
    >>> [round(float(v), 4) for v in es.vi]
    [0.092, 0.0296]
    """
    if measure not in ("ZCOR", "COR"):
        raise InputError(f"unknown measure {measure!r}; choose ZCOR or COR")
    if len(r) != len(n):
        raise InputError(f"r has {len(r)} values but n has {len(n)}", file=file)
    if labels is not None and len(labels) != len(r):
        raise InputError(f"{len(labels)} labels for {len(r)} studies", file=file)
    min_n = 3 if measure == "ZCOR" else 1
    ys: list[float] = []
    vs: list[float] = []
    rs: list[float] = []
    ns: list[float] = []
    rows: list[int] = []
    kept_labels: list[str] = []
    dropped: list[int] = []
    for i, (r_raw, n_raw) in enumerate(zip(r, n, strict=True)):
        row = first_row + i
        ri = _as_number(r_raw, column=r_column, row=row, file=file)
        ni = _as_number(n_raw, column=n_column, row=row, file=file)
        if math.isnan(ri) or math.isnan(ni):
            dropped.append(row)
            continue
        if not math.isfinite(ri) or not -1.0 <= ri <= 1.0:
            raise InputError(f"r = {ri:g} is outside [-1, 1]", file=file, row=row, column=r_column)
        if not math.isfinite(ni) or ni != math.floor(ni):
            raise InputError(
                f"n = {ni:g} is not a whole number", file=file, row=row, column=n_column
            )
        if ni <= min_n:
            raise InputError(
                f"n = {ni:g}, but {measure} needs n > {min_n}",
                file=file,
                row=row,
                column=n_column,
            )
        if abs(ri) == 1.0:
            what = "an infinite Fisher z" if measure == "ZCOR" else "a sampling variance of 0"
            raise InputError(f"r = {ri:g} gives {what}", file=file, row=row, column=r_column)
        if measure == "ZCOR":
            ys.append(math.atanh(ri))
            vs.append(1.0 / (ni - 3.0))
        else:
            ys.append(ri)
            vs.append((1.0 - ri * ri) ** 2 / (ni - 1.0))
        rs.append(ri)
        ns.append(ni)
        rows.append(row)
        kept_labels.append(str(labels[i]) if labels is not None else str(row))
    return EffectSizes(
        measure=measure,
        yi=np.asarray(ys, dtype=float),
        vi=np.asarray(vs, dtype=float),
        ri=np.asarray(rs, dtype=float),
        ni=np.asarray(ns, dtype=float),
        rows=tuple(rows),
        labels=tuple(kept_labels),
        n_dropped=len(dropped),
        dropped_rows=tuple(dropped),
    )
