"""Meta-regression on a categorical moderator (metafor's ``rma(yi, vi, mods = ~ factor)``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bordin.analytics.meta_analysis._checks import as_studies, check_level
from bordin.analytics.meta_analysis._fit import (
    FitControl,
    Method,
    Test,
    check_method_test,
    estimate_tau2,
    fit_rma,
)
from bordin.errors import InputError

__all__ = ["MetaRegressionResult", "fit_meta_regression"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class MetaRegressionResult:
    """A mixed-effects meta-regression on one categorical moderator.

    Attributes
    ----------
    moderator
        Name of the moderator.
    levels
        Its levels; the first is the reference (absorbed in the intercept).
    terms
        Coefficient names as metafor writes them: ``intrcpt``, then moderator name and
        level pasted together (``designprospective``).
    coef, se, statistic, p_value, ci_low, ci_high
        Coefficients (intercept: the reference level's mean effect; the others: difference
        from the reference level) and their inference.
    df
        Degrees of freedom of the t tests (``k - p``) with ``knha``; None for z tests.
    qm
        Omnibus test that all non-intercept coefficients are 0 (chi-squared with ``p - 1``
        df; with ``knha`` an F statistic with ``(p - 1, k - p)`` df).
    qm_df
        Its degrees of freedom ``(p - 1, None)`` or ``(p - 1, k - p)``.
    qm_p_value
        Its p-value.
    qe, qe_df, qe_p_value
        Test of residual heterogeneity (fixed-effect weights), its df ``k - p`` and p-value.
    tau2, se_tau2
        Residual between-study variance and its standard error.
    i2, h2
        Residual I^2 (percent) and H^2.
    r2
        Pseudo R^2 in percent: ``max(0, 100 (tau2_0 - tau2) / tau2_0)`` with ``tau2_0``
        from the model without the moderator (0 when ``tau2_0 == 0``); None for ``FE``.
    k
        Number of studies in the model.
    n_dropped
        Studies left out because their moderator value was missing.
    method, test, level
        Estimator, test and confidence level.
    """

    moderator: str
    levels: tuple[str, ...]
    terms: tuple[str, ...]
    coef: FloatArray
    se: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    df: int | None
    qm: float
    qm_df: tuple[int, int | None]
    qm_p_value: float
    qe: float
    qe_df: int
    qe_p_value: float
    tau2: float
    se_tau2: float | None
    i2: float
    h2: float
    r2: float | None
    k: int
    n_dropped: int
    method: Method
    test: Test
    level: float

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per coefficient."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.coef,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "statistic": self.statistic,
                "p_value": self.p_value,
                "df": [self.df] * len(self.terms),
                "k": self.k,
                "tau2": self.tau2,
                "level": self.level,
                "method": self.method,
            }
        )

    def summary(self) -> str:
        """A short plain-text report for the terminal."""
        lines = [f"meta-regression on {self.moderator} ({self.method}), k = {self.k}"]
        for i, term in enumerate(self.terms):
            lines.append(
                f"  {term:<28} {self.coef[i]:9.4f} (SE {self.se[i]:.4f}) "
                f"[{self.ci_low[i]:.4f}, {self.ci_high[i]:.4f}] p = {self.p_value[i]:.4f}"
            )
        stat = "QM" if self.qm_df[1] is None else "F"
        lines.append(
            f"{stat} = {self.qm:.3f}, p = {self.qm_p_value:.4f}; residual tau^2 "
            f"{self.tau2:.4f}, QE({self.qe_df}) = {self.qe:.2f}, p = {self.qe_p_value:.4f}"
            + ("" if self.r2 is None else f"; R^2 {self.r2:.1f}%")
        )
        return "\n".join(lines)


def fit_meta_regression(
    yi: Sequence[float] | FloatArray,
    vi: Sequence[float] | FloatArray,
    moderator: Sequence[object],
    *,
    name: str = "moderator",
    reference: str | None = None,
    method: Method = "REML",
    test: Test = "z",
    level: float = 0.95,
    control: FitControl | None = None,
) -> MetaRegressionResult:
    """Mixed-effects meta-regression on a categorical moderator.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    moderator
        Level of each study (converted to text). Studies with a missing level are left
        out and counted in ``n_dropped`` (metafor omits them the same way).
    name
        Moderator name, used in the coefficient names.
    reference
        Reference level; default the first in sorted order (R's default for character
        columns in the C locale).
    method, test, level, control
        As for :func:`random_effects_meta`.

    Returns
    -------
    MetaRegressionResult

    Raises
    ------
    InputError
        Fewer than 2 levels, as many coefficients as studies, an
        unknown reference level.

    Notes
    -----
    :math:`y_i = \\beta_0 + \\sum_{j} \\beta_j D_{ij} + u_i + e_i` with dummy variables
    :math:`D_{ij}` for the non-reference levels. :math:`Q_M = \\hat\\beta_{-0}^\\top
    V_{-0}^{-1} \\hat\\beta_{-0}` (divided by :math:`p - 1` and referred to
    :math:`F_{p-1, k-p}` with Knapp-Hartung); :math:`Q_E = y^\\top P y` with fixed-effect
    weights; pseudo :math:`R^2 = (\\hat\\tau^2_0 - \\hat\\tau^2)/\\hat\\tau^2_0`
    (Raudenbush, 2009), truncated at 0.

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: ``rma(yi, vi, mods = ~ design, method = "REML")`` etc.,
    ``<M>_REML_mods_<moderator>`` in ``tests/reference/data/meta/molloy2014.json`` and
    ``mcdaniel1994.json``, rtol 1e-6.

    References
    ----------
    Raudenbush, S. W. (2009). Analyzing effect sizes: Random-effects models. In H. Cooper,
    L. V. Hedges, & J. C. Valentine (Eds.), The handbook of research synthesis and
    meta-analysis (2nd ed., pp. 295-315). Russell Sage Foundation.
    https://doi.org/10.7758/9781610441384.19

    Examples
    --------
    >>> res = fit_meta_regression([0.1, 0.2, 0.4, 0.5], [0.01, 0.01, 0.02, 0.02],
    ...                           ["a", "a", "b", "b"], name="g")  # rma(yi, vi, mods = ~ g)
    >>> res.terms
    ('intrcpt', 'gb')
    """
    y, v = as_studies(yi, vi)
    check_method_test(method, test)
    level = check_level(level)
    if len(moderator) != y.size:
        raise InputError(f"{len(moderator)} moderator values for {y.size} studies")
    keep = np.ones(y.size, dtype=bool)
    values: list[str] = []
    for i, raw in enumerate(moderator):
        if raw is None or (isinstance(raw, float) and np.isnan(raw)) or str(raw).strip() == "":
            keep[i] = False
        else:
            values.append(str(raw))
    n_dropped = int(np.sum(~keep))
    y, v = y[keep], v[keep]
    if y.size < 2:
        raise InputError("fewer than 2 studies have a value of the moderator", column=name)
    levels = sorted(set(values))
    if reference is not None:
        if reference not in levels:
            raise InputError(f"reference level {reference!r} does not occur", column=name)
        levels.remove(reference)
        levels.insert(0, reference)
    if len(levels) < 2:
        raise InputError(f"the moderator has only one level ({levels[0]!r})", column=name)
    codes = np.array([levels.index(val) for val in values])
    x = np.column_stack(
        [np.ones(y.size)] + [(codes == j).astype(float) for j in range(1, len(levels))]
    )
    if y.size <= x.shape[1]:
        raise InputError(f"{y.size} studies cannot estimate {x.shape[1]} coefficients", column=name)
    control = control or FitControl()
    fit = fit_rma(y, v, x, method=method, test=test, level=level, control=control)
    r2: float | None = None
    if method != "FE":
        tau2_0, _, _ = estimate_tau2(y, v, np.ones((y.size, 1)), method, control)
        r2 = 0.0 if tau2_0 == 0 else max(0.0, 100.0 * (tau2_0 - fit.tau2) / tau2_0)
    if fit.qm is None or fit.qm_df is None or fit.qm_pval is None:
        raise InputError("the moderator adds no coefficient to test", column=name)
    return MetaRegressionResult(
        moderator=name,
        levels=tuple(levels),
        terms=("intrcpt",) + tuple(f"{name}{lvl}" for lvl in levels[1:]),
        coef=fit.beta,
        se=fit.se,
        statistic=fit.stat,
        p_value=fit.pval,
        ci_low=fit.ci_low,
        ci_high=fit.ci_high,
        df=fit.df,
        qm=fit.qm,
        qm_df=fit.qm_df,
        qm_p_value=fit.qm_pval,
        qe=fit.qe,
        qe_df=fit.k - fit.p,
        qe_p_value=fit.qe_pval,
        tau2=fit.tau2,
        se_tau2=fit.se_tau2,
        i2=fit.i2,
        h2=fit.h2,
        r2=r2,
        k=fit.k,
        n_dropped=n_dropped,
        method=method,
        test=test,
        level=level,
    )
