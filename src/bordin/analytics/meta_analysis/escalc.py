"""Two-group effect sizes as metafor's ``escalc``: SMD, MD, ROM from means, RR and OR from counts.

Continuous outcomes (group means ``m1i, m2i``, standard deviations ``sd1i, sd2i``, sizes
``n1i, n2i``; Borenstein et al., 2009; Hedges, 1981; Hedges et al., 1999):

* ``SMD``: Hedges' g with the exact bias correction and metafor's default large-sample
  variance (``vtype = "LS"``).
* ``MD``: the raw mean difference with the heteroscedastic variance.
* ``ROM``: the log ratio of means.

Binary outcomes (a 2x2 table per study: events ``ai`` and non-events ``bi`` in group 1,
``ci`` and ``di`` in group 2): ``RR`` (log risk ratio) and ``OR`` (log odds ratio), with
metafor's default zero-cell handling (``add = 1/2, to = "only0", drop00 = FALSE``).

``GEN`` takes effect sizes ``yi`` and sampling variances ``vi`` computed elsewhere (as
``rma(yi, vi)`` does), with the same checks and row bookkeeping.

Rows with a missing value are dropped and counted (``escalc`` gives NA there and ``rma``
omits them); every other problem is an :class:`~bordin.errors.InputError` naming the row
and column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from bordin.analytics.meta_analysis.effect_sizes import _as_number
from bordin.errors import InputError

__all__ = [
    "BINARY_MEASURES",
    "CONTINUOUS_MEASURES",
    "GroupEffectSizes",
    "GroupMeasure",
    "ZeroCellRule",
    "compute_group_effect_sizes",
    "hedges_correction",
]

GroupMeasure = Literal["SMD", "MD", "ROM", "RR", "OR", "GEN"]
ZeroCellRule = Literal["only0", "all", "if0all", "none"]
FloatArray = NDArray[np.float64]
CONTINUOUS_MEASURES: Final = ("SMD", "MD", "ROM")
BINARY_MEASURES: Final = ("RR", "OR")
_CONTINUOUS_ARGS: Final = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
_BINARY_ARGS: Final = ("ai", "bi", "ci", "di")
_GENERIC_ARGS: Final = ("yi", "vi")


@dataclass(frozen=True, eq=False)
class GroupEffectSizes:
    """Study-level two-group effect sizes ready for :func:`random_effects_meta`.

    Attributes
    ----------
    measure
        ``SMD``, ``MD``, ``ROM``, ``RR``, ``OR`` (metafor's names) or ``GEN`` (given).
    yi
        Effect size of each kept study (log scale for ``ROM``, ``RR``, ``OR``).
    vi
        Sampling variance of each kept study.
    rows
        1-based position in the input of each kept study (or the file's row numbers).
    labels
        Study labels of the kept studies (the row number as text when none were given).
    n_dropped
        Rows dropped because a value was missing.
    dropped_rows
        Positions of the dropped rows.
    n_corrected
        Studies to whose cells ``add`` was added (binary measures; 0 otherwise).
    """

    measure: GroupMeasure
    yi: FloatArray = field(repr=False)
    vi: FloatArray = field(repr=False)
    rows: tuple[int, ...] = field(repr=False)
    labels: tuple[str, ...] = field(repr=False)
    n_dropped: int = 0
    dropped_rows: tuple[int, ...] = ()
    n_corrected: int = 0

    @property
    def k(self) -> int:
        """Number of studies kept."""
        return int(self.yi.shape[0])


def hedges_correction(m: float) -> float:
    """metafor's exact small-sample correction :math:`c(m) = \\Gamma(m/2) /
    (\\sqrt{m/2}\\,\\Gamma((m-1)/2))` for ``m = n1 + n2 - 2`` degrees of freedom (m > 1)."""
    return math.exp(special.gammaln(m / 2) - 0.5 * math.log(m / 2) - special.gammaln((m - 1) / 2))


def _columns(
    data: Mapping[str, Sequence[object]], names: tuple[str, ...], file: str | None
) -> tuple[list[Sequence[object]], int]:
    missing = [n for n in names if n not in data]
    if missing:
        raise InputError(f"missing {', '.join(missing)} (needs {', '.join(names)})", file=file)
    cols = [data[n] for n in names]
    size = len(cols[0])
    for name, col in zip(names, cols, strict=True):
        if len(col) != size:
            raise InputError(f"{name} has {len(col)} values but {names[0]} has {size}", file=file)
    return cols, size


def _continuous(
    measure: str, values: list[float], row: int, file: str | None, cols: Mapping[str, str]
) -> tuple[float, float]:
    m1, sd1, n1, m2, sd2, n2 = values
    for name, sd in (("sd1i", sd1), ("sd2i", sd2)):
        if sd < 0:
            raise InputError(f"{name} = {sd:g} is negative", file=file, row=row, column=cols[name])
    for name, n in (("n1i", n1), ("n2i", n2)):
        if n <= 0:
            raise InputError(
                f"{name} = {n:g} is not positive", file=file, row=row, column=cols[name]
            )
    if measure == "MD":
        return m1 - m2, sd1**2 / n1 + sd2**2 / n2
    if measure == "ROM":
        if m1 == 0 or m2 == 0 or (m1 > 0) != (m2 > 0):
            raise InputError(
                f"ROM needs two means of the same sign, not {m1:g} and {m2:g}",
                file=file,
                row=row,
                column=cols["m1i"],
            )
        return math.log(m1 / m2), sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
    df = n1 + n2 - 2
    if df <= 1:
        raise InputError(
            f"SMD needs n1i + n2i > 3; got {n1:g} + {n2:g}", file=file, row=row, column=cols["n1i"]
        )
    sdp = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df)
    if sdp == 0:
        raise InputError(
            "both standard deviations are 0 (the SMD is undefined)",
            file=file,
            row=row,
            column=cols["sd1i"],
        )
    g = hedges_correction(df) * (m1 - m2) / sdp
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))


def _binary(
    measure: str,
    values: list[float],
    row: int,
    file: str | None,
    cols: Mapping[str, str],
    add: float,
    to: ZeroCellRule,
    any_zero: bool,
) -> tuple[float, float, bool]:
    for name, count in zip(_BINARY_ARGS, values, strict=True):
        if count < 0:
            raise InputError(
                f"{name} = {count:g} is negative", file=file, row=row, column=cols[name]
            )
    a, b, c, d = values
    if a + b <= 0 or c + d <= 0:
        which = "ai + bi" if a + b <= 0 else "ci + di"
        raise InputError(f"{which} = 0: an empty group", file=file, row=row, column=cols["ai"])
    has_zero = 0 in (a, b, c, d)
    corrected = to == "all" or (to == "only0" and has_zero) or (to == "if0all" and any_zero)
    if corrected:
        a, b, c, d = a + add, b + add, c + add, d + add
    if measure == "RR":
        if a == 0 or c == 0:
            raise InputError(
                "a zero event count gives an infinite log risk ratio (use add > 0)",
                file=file,
                row=row,
                column=cols["ai" if a == 0 else "ci"],
            )
        n1, n2 = a + b, c + d
        return math.log(a / n1) - math.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2, corrected
    if 0 in (a, b, c, d):
        raise InputError(
            "a zero cell gives an infinite log odds ratio (use add > 0)",
            file=file,
            row=row,
            column=cols[_BINARY_ARGS[(a, b, c, d).index(0)]],
        )
    return math.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d, corrected


def compute_group_effect_sizes(
    data: Mapping[str, Sequence[object]] | pd.DataFrame,
    *,
    measure: GroupMeasure,
    columns: Mapping[str, str] | None = None,
    add: float = 0.5,
    to: ZeroCellRule = "only0",
    labels: Sequence[str] | None = None,
    file: str | None = None,
    first_row: int = 1,
) -> GroupEffectSizes:
    """Compute two-group effect sizes and sampling variances as metafor's ``escalc``.

    Parameters
    ----------
    data
        A table (mapping or DataFrame) with escalc's argument names as columns:
        ``m1i, sd1i, n1i, m2i, sd2i, n2i`` for SMD, MD, ROM; ``ai, bi, ci, di`` for RR, OR;
        ``yi, vi`` for GEN. Text cells are parsed; empty or ``NA`` is missing.
    measure
        ``"SMD"``, ``"MD"``, ``"ROM"``, ``"RR"``, ``"OR"``, or ``"GEN"`` for given effect
        sizes and variances.
    columns
        Optional map from escalc's argument name to the column of ``data`` holding it
        (``{"ai": "tpos"}``); the argument names are the defaults.
    add, to
        Zero-cell handling of the binary measures (metafor's ``add`` and ``to``): ``add`` is
        added to every cell of studies with a zero cell (``"only0"``, the default), of all
        studies (``"all"``), of all studies when any has a zero (``"if0all"``) or never
        (``"none"``).
    labels
        Optional study labels (one per row).
    file, first_row
        For error messages: the file name and the row number of the first row (2 for a CSV
        with a header line).

    Returns
    -------
    GroupEffectSizes

    Raises
    ------
    InputError
        A missing column, a cell that is not a number, a negative SD or count, a group size
        that is not positive, SMD with n1i + n2i <= 3 or both SDs 0, ROM with means of
        different sign, a zero cell left uncorrected (``to="none"``), or a GEN variance that
        is not positive. The message names
        the row and the column.

    Notes
    -----
    With :math:`m = n_1 + n_2 - 2` and the pooled SD
    :math:`s_p = \\sqrt{((n_1-1)s_1^2 + (n_2-1)s_2^2)/m}`:

    * SMD: :math:`g = c(m)(\\bar x_1 - \\bar x_2)/s_p`, :math:`c(m) = \\Gamma(m/2) /
      (\\sqrt{m/2}\\,\\Gamma((m-1)/2))` (exact; Hedges, 1981), :math:`v = 1/n_1 + 1/n_2 +
      g^2/(2(n_1+n_2))`.
    * MD: :math:`\\bar x_1 - \\bar x_2`, :math:`v = s_1^2/n_1 + s_2^2/n_2`.
    * ROM: :math:`\\ln(\\bar x_1/\\bar x_2)`, :math:`v = s_1^2/(n_1\\bar x_1^2) +
      s_2^2/(n_2\\bar x_2^2)` (Hedges et al., 1999).
    * RR: :math:`\\ln\\frac{a/(a+b)}{c/(c+d)}`, :math:`v = 1/a - 1/(a+b) + 1/c - 1/(c+d)`.
    * OR: :math:`\\ln\\frac{ad}{bc}`, :math:`v = 1/a + 1/b + 1/c + 1/d`.

    A study with no events in both groups is kept (metafor's ``drop00 = FALSE``).

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: ``escalc(measure = M, m1i, sd1i, n1i, m2i, sd2i, n2i)`` and
    ``escalc(measure = M, ai, bi, ci, di)`` on ``dat.normand1999``, ``dat.curtis1998``,
    ``dat.gibson2002``, ``dat.bcg``, ``dat.hine1989``, ``dat.nielweise2007``,
    ``dat.collins1985a``, ``dat.yusuf1985`` and hand-made cases in
    ``tests/reference/data/meta/escalc/`` (``tests/reference/r/make_meta_escalc.R``),
    rtol 1e-9.

    References
    ----------
    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and
    related estimators. Journal of Educational Statistics, 6(2), 107-128.
    https://doi.org/10.3102/10769986006002107

    Hedges, L. V., Gurevitch, J., & Curtis, P. S. (1999). The meta-analysis of response
    ratios in experimental ecology. Ecology, 80(4), 1150-1156.
    https://doi.org/10.1890/0012-9658(1999)080[1150:TMAORR]2.0.CO;2

    Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009).
    Introduction to meta-analysis. Wiley. https://doi.org/10.1002/9780470743386

    Examples
    --------
    >>> es = compute_group_effect_sizes(  # escalc("OR", ai=0, bi=20, ci=3, di=17)
    ...     {"ai": [0], "bi": [20], "ci": [3], "di": [17]}, measure="OR")
    >>> round(float(es.yi[0]), 4), es.n_corrected
    (-2.1041, 1)
    """
    if measure not in (*CONTINUOUS_MEASURES, *BINARY_MEASURES, "GEN"):
        raise InputError(f"unknown measure {measure!r}; choose SMD, MD, ROM, RR, OR or GEN")
    if to not in ("only0", "all", "if0all", "none"):
        raise InputError(f"to must be only0, all, if0all or none, not {to!r}")
    if not (math.isfinite(add) and add >= 0):
        raise InputError(f"add must be a non-negative number, not {add!r}")
    args: tuple[str, ...]
    if measure == "GEN":
        args = _GENERIC_ARGS
    else:
        args = _CONTINUOUS_ARGS if measure in CONTINUOUS_MEASURES else _BINARY_ARGS
    cols = {a: (columns or {}).get(a, a) for a in args}
    table: Mapping[str, Sequence[object]]
    table = (
        {str(c): list(data[c]) for c in data.columns} if isinstance(data, pd.DataFrame) else data
    )
    raw, size = _columns(table, tuple(cols[a] for a in args), file)
    if labels is not None and len(labels) != size:
        raise InputError(f"{len(labels)} labels for {size} studies", file=file)
    parsed: list[list[float]] = []
    for i in range(size):
        row = first_row + i
        parsed.append(
            [
                _as_number(col[i], column=cols[a], row=row, file=file)
                for a, col in zip(args, raw, strict=True)
            ]
        )
    complete = [not any(math.isnan(x) for x in vals) for vals in parsed]
    any_zero = measure in BINARY_MEASURES and any(
        ok and 0.0 in vals for ok, vals in zip(complete, parsed, strict=True)
    )
    ys: list[float] = []
    vs: list[float] = []
    rows: list[int] = []
    kept: list[str] = []
    dropped: list[int] = []
    n_corrected = 0
    for i, (ok, vals) in enumerate(zip(complete, parsed, strict=True)):
        row = first_row + i
        if not ok:
            dropped.append(row)
            continue
        for name, value in zip(args, vals, strict=True):
            if not math.isfinite(value):
                raise InputError(f"{value} is not finite", file=file, row=row, column=cols[name])
        if measure == "GEN":
            y, v = vals
            if v <= 0:
                raise InputError(
                    f"vi = {v:g} is not positive", file=file, row=row, column=cols["vi"]
                )
        elif measure in CONTINUOUS_MEASURES:
            y, v = _continuous(measure, vals, row, file, cols)
        else:
            y, v, corrected = _binary(measure, vals, row, file, cols, add, to, any_zero)
            n_corrected += corrected
        ys.append(y)
        vs.append(v)
        rows.append(row)
        kept.append(str(labels[i]) if labels is not None else str(row))
    return GroupEffectSizes(
        measure=measure,
        yi=np.asarray(ys, dtype=float),
        vi=np.asarray(vs, dtype=float),
        rows=tuple(rows),
        labels=tuple(kept),
        n_dropped=len(dropped),
        dropped_rows=tuple(dropped),
        n_corrected=n_corrected,
    )
