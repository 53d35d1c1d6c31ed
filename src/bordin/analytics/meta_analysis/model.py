"""Fixed- and random-effects meta-analysis (metafor's ``rma``) and its results object."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bordin.analytics.meta_analysis._checks import as_studies, check_level
from bordin.analytics.meta_analysis._fit import (
    FitControl,
    Method,
    Test,
    check_method_test,
    fit_rma,
)

__all__ = ["MetaResult", "random_effects_meta"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class MetaResult:
    """A fitted fixed- or random-effects model (metafor's ``rma`` without moderators).

    Attributes
    ----------
    method
        tau^2 estimator: ``FE`` (fixed effect, tau^2 = 0), ``DL``, ``REML``, ``ML``, ``PM``,
        ``HE`` or ``SJ``.
    test
        ``"z"`` (normal) or ``"knha"`` (Knapp-Hartung: t with k - 1 df and the variance
        scaled by the residual Q / (k - 1), not truncated, as metafor 3.8).
    level
        Confidence level of the intervals, e.g. 0.95.
    k
        Number of studies.
    estimate
        Pooled effect (on the scale of ``yi``).
    se
        Its standard error.
    statistic
        z (or t) statistic of the pooled effect.
    p_value
        Two-sided p-value of ``statistic``.
    ci_low, ci_high
        Confidence interval of the pooled effect.
    df
        Degrees of freedom of the t test (``k - 1``) with ``knha``; None for z tests.
    tau2
        Between-study variance (0 for ``FE``).
    se_tau2
        Standard error of tau^2 (metafor's formula for each estimator); None for ``FE``.
    i2
        I^2 in percent: share of the total variance due to heterogeneity. For random
        effects ``100 tau2 / (vt + tau2)`` with the typical within-study variance ``vt``;
        for ``FE`` ``100 (Q - (k - 1)) / Q``, floored at 0 (Higgins & Thompson, 2002).
    h2
        H^2: ``(vt + tau2) / vt`` (random effects) or ``Q / (k - 1)`` (``FE``).
    q
        Cochran's Q test of heterogeneity (fixed-effect weights).
    q_df
        Its degrees of freedom, ``k - 1``.
    q_p_value
        p-value of Q (chi-squared with ``k - 1`` df).
    vt
        Typical within-study variance, ``(k - 1) / tr(P)`` with fixed-effect weights.
    pi_low, pi_high
        Prediction interval for the effect in a new study,
        ``estimate +- crit * sqrt(tau2 + se^2)`` (crit from z, or t with k - 1 df for
        ``knha``); None for ``FE``, as metafor.
    iterations
        Fisher-scoring iterations (ML, REML); 0 for closed-form estimators.
    yi, vi
        The effect sizes and sampling variances the model was fitted to.
    weights
        Weight of each study in percent.
    """

    method: Method
    test: Test
    level: float
    k: int
    estimate: float
    se: float
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float
    df: int | None
    tau2: float
    se_tau2: float | None
    i2: float
    h2: float
    q: float
    q_df: int
    q_p_value: float
    vt: float
    pi_low: float | None
    pi_high: float | None
    iterations: int
    yi: FloatArray = field(repr=False)
    vi: FloatArray = field(repr=False)
    weights: FloatArray = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy table of the pooled effect, in the project's column vocabulary."""
        return pd.DataFrame(
            [
                {
                    "term": "overall",
                    "estimate": self.estimate,
                    "se": self.se,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "statistic": self.statistic,
                    "p_value": self.p_value,
                    "df": self.df,
                    "k": self.k,
                    "tau2": self.tau2,
                    "i2": self.i2,
                    "q": self.q,
                    "level": self.level,
                    "method": self.method,
                }
            ]
        )

    def summary(self) -> str:
        """A short plain-text report for the terminal."""
        pct = round(self.level * 100)
        kind = "fixed-effect" if self.method == "FE" else f"random-effects ({self.method})"
        stat = "z" if self.df is None else f"t({self.df})"
        lines = [
            f"{kind} model, k = {self.k}",
            f"estimate {self.estimate:.4f} (SE {self.se:.4f}), {pct}% CI "
            f"[{self.ci_low:.4f}, {self.ci_high:.4f}], {stat} = {self.statistic:.3f}, "
            f"{_fmt_p(self.p_value)}",
            f"tau^2 {self.tau2:.4f}"
            + (f" (SE {self.se_tau2:.4f})" if self.se_tau2 is not None else "")
            + f", I^2 {self.i2:.1f}%, H^2 {self.h2:.2f}",
            f"Q({self.q_df}) = {self.q:.2f}, {_fmt_p(self.q_p_value)}",
        ]
        if self.pi_low is not None and self.pi_high is not None:
            lines.append(f"{pct}% prediction interval [{self.pi_low:.4f}, {self.pi_high:.4f}]")
        return "\n".join(lines)


def _fmt_p(p: float) -> str:
    return "p < .0001" if p < 1e-4 else f"p = {p:.4f}"


def random_effects_meta(
    yi: Sequence[float] | FloatArray,
    vi: Sequence[float] | FloatArray,
    *,
    method: Method = "REML",
    test: Test = "z",
    level: float = 0.95,
    control: FitControl | None = None,
) -> MetaResult:
    """Pool effect sizes with a fixed- or random-effects model, as metafor's ``rma``.

    Parameters
    ----------
    yi
        Effect sizes (e.g. Fisher z from :func:`compute_effect_sizes`).
    vi
        Their sampling variances.
    method
        tau^2 estimator: ``"REML"`` (default), ``"ML"``, ``"DL"``, ``"PM"``, ``"HE"``,
        ``"SJ"``, or ``"FE"`` for the fixed-effect model.
    test
        ``"z"`` (default) or ``"knha"`` (Knapp-Hartung).
    level
        Confidence level of the confidence and prediction intervals.
    control
        Convergence settings; the default converges Fisher scoring to a change of 1e-12.

    Returns
    -------
    MetaResult

    Raises
    ------
    InputError
        Fewer than 2 studies, non-finite yi, non-positive vi, unknown method or test.
    ConvergenceError
        Fisher scoring or the Paule-Mandel search failed.

    Notes
    -----
    The model is :math:`y_i = \\mu + u_i + e_i`, :math:`u_i \\sim N(0, \\tau^2)`,
    :math:`e_i \\sim N(0, v_i)`. Given :math:`\\hat\\tau^2`, with
    :math:`w_i = 1/(v_i + \\hat\\tau^2)`, :math:`\\hat\\mu = \\sum w_i y_i / \\sum w_i` and
    :math:`SE = (\\sum w_i)^{-1/2}`. Knapp-Hartung multiplies the variance by
    :math:`\\sum w_i (y_i - \\hat\\mu)^2 / (k - 1)` and uses :math:`t_{k-1}`.
    DL: :math:`\\hat\\tau^2 = \\max(0, (Q - (k-1)) / \\operatorname{tr} P)`; HE, SJ, PM, ML and
    REML as in Viechtbauer (2005) and metafor's ``rma.uni`` (REML and ML by Fisher scoring
    started from HE; PM solves :math:`Q(\\tau^2) = k - 1` with Brent's method).
    :math:`I^2 = 100 \\hat\\tau^2 / (\\hat\\tau^2 + \\tilde v)`,
    :math:`\\tilde v = (k-1)/\\operatorname{tr} P` (Higgins & Thompson, 2002).

    Validation
    ----------
    R 4.2.2, metafor 3.8.1:
    ``rma(yi, vi, method = M, test = T, control = list(threshold = 1e-12, tol = 1e-12))`` for
    every M and T on ``tests/reference/data/meta/molloy2014.json`` and
    ``mcdaniel1994.json`` (and the cases of ``tests/reference/r/make_meta_cases.R``): closed
    forms (FE, DL, HE, SJ) at rtol 1e-9, iterative (REML, ML, PM) at rtol 1e-6.

    References
    ----------
    Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance estimators in the
    random-effects model. Journal of Educational and Behavioral Statistics, 30(3), 261-293.
    https://doi.org/10.3102/10769986030003261

    Higgins, J. P. T., & Thompson, S. G. (2002). Quantifying heterogeneity in a
    meta-analysis. Statistics in Medicine, 21(11), 1539-1558. https://doi.org/10.1002/sim.1186

    Knapp, G., & Hartung, J. (2003). Improved tests for a random effects meta-regression with
    a single covariate. Statistics in Medicine, 22(17), 2693-2710.
    https://doi.org/10.1002/sim.1482

    Examples
    --------
    >>> res = random_effects_meta([0.1, 0.3, 0.35, 0.2], [0.01, 0.02, 0.015, 0.01],
    ...                           method="DL")  # rma(yi, vi, method = "DL")
    >>> round(res.estimate, 4), res.k
    (0.2158, 4)
    """
    y, v = as_studies(yi, vi)
    check_method_test(method, test)
    level = check_level(level)
    x = np.ones((y.size, 1))
    fit = fit_rma(y, v, x, method=method, test=test, level=level, control=control or FitControl())
    est = float(fit.beta[0])
    se = float(fit.se[0])
    pi_low: float | None = None
    pi_high: float | None = None
    if method != "FE":
        half = fit.crit * math.sqrt(fit.tau2 + se**2)
        pi_low, pi_high = est - half, est + half
    return MetaResult(
        method=method,
        test=test,
        level=level,
        k=fit.k,
        estimate=est,
        se=se,
        statistic=float(fit.stat[0]),
        p_value=float(fit.pval[0]),
        ci_low=float(fit.ci_low[0]),
        ci_high=float(fit.ci_high[0]),
        df=fit.df,
        tau2=fit.tau2,
        se_tau2=fit.se_tau2,
        i2=fit.i2,
        h2=fit.h2,
        q=fit.qe,
        q_df=fit.k - 1,
        q_p_value=fit.qe_pval,
        vt=fit.vt,
        pi_low=pi_low,
        pi_high=pi_high,
        iterations=fit.iterations,
        yi=y,
        vi=v,
        weights=fit.weights,
    )
