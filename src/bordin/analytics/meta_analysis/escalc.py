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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

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
    data: Mapping[str, Sequence[object]] | pd.DataFrame, names: tuple[str, ...], file: str | None
) -> tuple[list[Sequence[object]], int]:
    present = set(map(str, data.columns)) if isinstance(data, pd.DataFrame) else set(data)
    missing = [n for n in names if n not in present]
    if missing:
        raise InputError(f"missing {', '.join(missing)} (needs {', '.join(names)})", file=file)
    cols: list[Sequence[object]] = [data[n] for n in names]
    size = len(cols[0])
    for name, col in zip(names, cols, strict=True):
        if len(col) != size:
            raise InputError(f"{name} has {len(col)} values but {names[0]} has {size}", file=file)
    return cols, size


def _parse(
    values: Sequence[object], *, column: str, file: str | None, first_row: int
) -> FloatArray:
    """Values as floats, NaN where missing; numeric arrays skip the per-cell parser."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iuf":
        return arr.astype(float)
    return np.array(
        [_as_number(v, column=column, row=first_row + i, file=file) for i, v in enumerate(values)],
        dtype=float,
    )


Check: TypeAlias = tuple[NDArray[np.bool_], Callable[[int], str], str]


def _message(template: str, values: FloatArray) -> Callable[[int], str]:
    """A message for row i: ``template`` formatted with ``values[i]``."""
    return lambda i: template.format(values[i])


def _raise_first(checks: list[Check], rows: NDArray[np.int_], file: str | None) -> None:
    """Raise for the first row failing any check (the first check listed for that row)."""
    failing = [np.flatnonzero(mask) for mask, _, _ in checks]
    firsts = [int(f[0]) for f in failing if f.size]
    if not firsts:
        return
    i = min(firsts)
    for mask, message, column in checks:
        if mask[i]:
            raise InputError(message(i), file=file, row=int(rows[i]), column=column)


def _continuous(
    measure: str,
    v: Mapping[str, FloatArray],
    rows: NDArray[np.int_],
    file: str | None,
    cols: Mapping[str, str],
) -> tuple[FloatArray, FloatArray]:
    m1, sd1, n1, m2, sd2, n2 = (v[a] for a in _CONTINUOUS_ARGS)
    checks: list[Check] = [
        (sd1 < 0, lambda i: f"sd1i = {sd1[i]:g} is negative", cols["sd1i"]),
        (sd2 < 0, lambda i: f"sd2i = {sd2[i]:g} is negative", cols["sd2i"]),
        (n1 <= 0, lambda i: f"n1i = {n1[i]:g} is not positive", cols["n1i"]),
        (n2 <= 0, lambda i: f"n2i = {n2[i]:g} is not positive", cols["n2i"]),
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "MD":
            _raise_first(checks, rows, file)
            return m1 - m2, sd1**2 / n1 + sd2**2 / n2
        if measure == "ROM":
            checks.append(
                (
                    (m1 == 0) | (m2 == 0) | ((m1 > 0) != (m2 > 0)),
                    lambda i: f"ROM needs two means of the same sign, not {m1[i]:g} and {m2[i]:g}",
                    cols["m1i"],
                )
            )
            _raise_first(checks, rows, file)
            return np.log(m1 / m2), sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
        df = n1 + n2 - 2
        sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df)
        checks.append(
            (df <= 1, lambda i: f"SMD needs n1i + n2i > 3; got {n1[i]:g} + {n2[i]:g}", cols["n1i"])
        )
        checks.append(
            (
                sdp == 0,
                lambda i: "both standard deviations are 0 (the SMD is undefined)",
                cols["sd1i"],
            )
        )
        _raise_first(checks, rows, file)
        correction = np.exp(
            special.gammaln(df / 2) - 0.5 * np.log(df / 2) - special.gammaln((df - 1) / 2)
        )
        g = correction * (m1 - m2) / sdp
        return g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))


def _binary(
    measure: str,
    v: Mapping[str, FloatArray],
    rows: NDArray[np.int_],
    file: str | None,
    cols: Mapping[str, str],
    add: float,
    to: ZeroCellRule,
) -> tuple[FloatArray, FloatArray, int]:
    a, b, c, d = (v[x] for x in _BINARY_ARGS)
    checks: list[Check] = [
        (cell < 0, _message(f"{name} = {{:g}} is negative", cell), cols[name])
        for name, cell in zip(_BINARY_ARGS, (a, b, c, d), strict=True)
    ]
    checks.append((a + b <= 0, lambda i: "ai + bi = 0: an empty group", cols["ai"]))
    checks.append((c + d <= 0, lambda i: "ci + di = 0: an empty group", cols["ai"]))
    has_zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    if to == "all":
        corrected = np.ones_like(has_zero)
    elif to == "only0":
        corrected = has_zero
    elif to == "if0all":
        corrected = np.full_like(has_zero, bool(np.any(has_zero)))
    else:
        corrected = np.zeros_like(has_zero)
    extra = np.where(corrected, add, 0.0)
    a, b, c, d = a + extra, b + extra, c + extra, d + extra
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            checks.append(
                (
                    (a == 0) | (c == 0),
                    lambda i: "a zero event count gives an infinite log risk ratio (use add > 0)",
                    cols["ai"],
                )
            )
            _raise_first(checks, rows, file)
            n1, n2 = a + b, c + d
            return (
                np.log(a / n1) - np.log(c / n2),
                1 / a - 1 / n1 + 1 / c - 1 / n2,
                int(corrected.sum()),
            )
        for name, cell in zip(_BINARY_ARGS, (a, b, c, d), strict=True):
            checks.append(
                (
                    cell == 0,
                    lambda i: "a zero cell gives an infinite log odds ratio (use add > 0)",
                    cols[name],
                )
            )
        _raise_first(checks, rows, file)
        return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d, int(corrected.sum())


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
    raw, size = _columns(data, tuple(cols[a] for a in args), file)
    if labels is not None and len(labels) != size:
        raise InputError(f"{len(labels)} labels for {size} studies", file=file)
    parsed = {
        a: _parse(col, column=cols[a], file=file, first_row=first_row)
        for a, col in zip(args, raw, strict=True)
    }
    all_rows = np.arange(first_row, first_row + size)
    complete = (
        ~np.any(np.isnan(np.vstack(list(parsed.values()))), axis=0) if size else np.ones(0, bool)
    )
    values = {a: x[complete] for a, x in parsed.items()}
    rows = all_rows[complete]
    _raise_first(
        [(~np.isfinite(x), _message("{} is not finite", x), cols[a]) for a, x in values.items()],
        rows,
        file,
    )
    n_corrected = 0
    if measure == "GEN":
        yi, vi = values["yi"], values["vi"]
        _raise_first(
            [(vi <= 0, lambda i: f"vi = {vi[i]:g} is not positive", cols["vi"])], rows, file
        )
    elif measure in CONTINUOUS_MEASURES:
        yi, vi = _continuous(measure, values, rows, file, cols)
    else:
        yi, vi, n_corrected = _binary(measure, values, rows, file, cols, add, to)
    kept = np.flatnonzero(complete)
    dropped = all_rows[~complete]
    return GroupEffectSizes(
        measure=measure,
        yi=np.asarray(yi, dtype=float),
        vi=np.asarray(vi, dtype=float),
        rows=tuple(int(r) for r in rows),
        labels=tuple(str(labels[int(i)]) if labels is not None else str(all_rows[i]) for i in kept),
        n_dropped=int(dropped.size),
        dropped_rows=tuple(int(r) for r in dropped),
        n_corrected=n_corrected,
    )
