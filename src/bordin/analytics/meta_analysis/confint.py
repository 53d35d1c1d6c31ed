"""Q-profile confidence intervals for tau^2 and I^2 (metafor's ``confint.rma.uni``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from bordin.analytics.meta_analysis._fit import FitControl, q_generalised
from bordin.analytics.meta_analysis.model import MetaResult
from bordin.errors import InputError

__all__ = ["Tau2ConfintResult", "tau2_confint"]


@dataclass(frozen=True)
class Tau2ConfintResult:
    """Q-profile confidence intervals of the heterogeneity statistics.

    Attributes
    ----------
    level
        Confidence level.
    tau2, tau2_ci_low, tau2_ci_high
        tau^2 and its interval.
    i2, i2_ci_low, i2_ci_high
        I^2 (percent) and its interval, ``100 tau2 / (vt + tau2)`` at the tau^2 limits.
    h2, h2_ci_low, h2_ci_high
        H^2 and its interval.
    lower_at_zero
        The lower limit is 0 because Q(0) is already below the upper chi-squared quantile
        (metafor prints it as "<0"): the data are compatible with no heterogeneity.
    upper_at_zero
        Both limits are 0 because Q(0) is below the lower chi-squared quantile.
    upper_at_limit
        The upper limit is the search limit (extreme heterogeneity).
    """

    level: float
    tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    h2: float
    h2_ci_low: float
    h2_ci_high: float
    lower_at_zero: bool
    upper_at_zero: bool
    upper_at_limit: bool

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per statistic (tau2, i2, h2)."""
        return pd.DataFrame(
            {
                "term": ["tau2", "i2", "h2"],
                "estimate": [self.tau2, self.i2, self.h2],
                "ci_low": [self.tau2_ci_low, self.i2_ci_low, self.h2_ci_low],
                "ci_high": [self.tau2_ci_high, self.i2_ci_high, self.h2_ci_high],
                "level": [self.level] * 3,
            }
        )


def tau2_confint(result: MetaResult, *, control: FitControl | None = None) -> Tau2ConfintResult:
    """Q-profile confidence interval for tau^2, and the I^2 and H^2 intervals it implies.

    Parameters
    ----------
    result
        A random-effects model from :func:`random_effects_meta` (any tau^2 estimator).
    control
        Root-finding tolerance (default 1e-12).

    Returns
    -------
    Tau2ConfintResult

    Raises
    ------
    InputError
        ``result`` is a fixed-effect model.

    Notes
    -----
    The generalised Q statistic :math:`Q(\\tau^2) = \\sum_i (y_i - \\hat\\mu(\\tau^2))^2 /
    (v_i + \\tau^2)` follows :math:`\\chi^2_{k-1}` at the true tau^2 and decreases in
    tau^2. The limits solve :math:`Q(\\tau^2_{lb}) = \\chi^2_{k-1, 1-\\alpha/2}` and
    :math:`Q(\\tau^2_{ub}) = \\chi^2_{k-1, \\alpha/2}`; a limit whose equation has no
    non-negative root is set to 0 (Viechtbauer, 2007). The search is bounded above by
    ``max(100, 10 tau2)`` as in metafor.

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: ``confint(rma(yi, vi), control = list(tol = 1e-12))``,
    ``tau2_ci_lb, tau2_ci_ub, I2_ci_lb, I2_ci_ub`` in
    ``tests/reference/data/meta/molloy2014.json`` and ``mcdaniel1994.json``, rtol 1e-6.

    References
    ----------
    Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity in
    meta-analysis. Statistics in Medicine, 26(1), 37-52. https://doi.org/10.1002/sim.2514

    Examples
    --------
    >>> from bordin.analytics.meta_analysis import random_effects_meta
    >>> res = random_effects_meta([0.1, 0.5, 0.35, 0.0], [0.01, 0.02, 0.015, 0.01])
    >>> ci = tau2_confint(res)  # confint(rma(yi, vi))
    >>> ci.tau2_ci_low <= res.tau2 <= ci.tau2_ci_high
    True
    """
    if result.method == "FE":
        raise InputError("a fixed-effect model has no tau^2 to give an interval for")
    control = control or FitControl()
    y, v = result.yi, result.vi
    x = np.ones((y.size, 1))
    k, p = x.shape
    alpha = 1.0 - result.level
    crit_u = float(stats.chi2.isf(alpha / 2, k - p))
    crit_l = float(stats.chi2.ppf(alpha / 2, k - p))
    tau2_max = max(100.0, 10.0 * result.tau2)

    def q(t: float) -> float:
        return q_generalised(t, y, v, x)

    def root(target: float) -> float:
        return float(
            optimize.brentq(
                lambda t: q(t) - target,
                0.0,
                tau2_max,
                xtol=control.tol,
                rtol=4 * float(np.finfo(float).eps),
                maxiter=max(control.maxiter, 1000),
            )
        )

    q_min, q_max = q(0.0), q(tau2_max)
    upper_at_zero = lower_at_zero = upper_at_limit = False
    if q_min < crit_l:
        lb = ub = 0.0
        upper_at_zero = lower_at_zero = True
    else:
        if q_max > crit_l:
            ub = tau2_max
            upper_at_limit = True
        else:
            ub = root(crit_l)
        if q_max > crit_u:
            lb = tau2_max
        elif q_min < crit_u:
            lb = 0.0
            lower_at_zero = True
        else:
            lb = root(crit_u)
    lb = max(0.0, lb)
    vt = result.vt

    def i2(t: float) -> float:
        return 100.0 * t / (vt + t)

    def h2(t: float) -> float:
        return t / vt + 1.0

    return Tau2ConfintResult(
        level=result.level,
        tau2=result.tau2,
        tau2_ci_low=lb,
        tau2_ci_high=ub,
        i2=result.i2,
        i2_ci_low=i2(lb),
        i2_ci_high=i2(ub),
        h2=result.h2,
        h2_ci_low=h2(lb),
        h2_ci_high=h2(ub),
        lower_at_zero=lower_at_zero,
        upper_at_zero=upper_at_zero,
        upper_at_limit=upper_at_limit,
    )
