"""Profile-likelihood confidence intervals for the variance components of the three-level
model (metafor's ``confint(res)`` for ``rma.mv``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from bordin.analytics.meta_analysis._multilevel_fit import Blocks, fit_components
from bordin.analytics.meta_analysis.multilevel import MultilevelMetaResult

__all__ = ["Sigma2ConfintResult", "sigma2_confint"]


@dataclass(frozen=True)
class Sigma2ConfintResult:
    """Profile-likelihood intervals of the two variance components.

    Attributes
    ----------
    level
        Confidence level.
    names
        The components: the cluster name and ``cluster/effect``.
    estimate, ci_low, ci_high
        Each component (sigma^2) and its limits, in that order.
    lower_at_zero
        Per component: the lower limit is 0 (the likelihood ratio at 0 is below the cut-off).
    upper_at_limit
        Per component: the upper limit is the search limit (metafor prints ``>``).
    """

    level: float
    names: tuple[str, str]
    estimate: tuple[float, float]
    ci_low: tuple[float, float]
    ci_high: tuple[float, float]
    lower_at_zero: tuple[bool, bool]
    upper_at_limit: tuple[bool, bool]

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per component, sigma^2 and sigma."""
        rows = []
        for j, name in enumerate(self.names):
            rows.append(
                {
                    "term": f"sigma2.{j + 1}",
                    "component": name,
                    "estimate": self.estimate[j],
                    "ci_low": self.ci_low[j],
                    "ci_high": self.ci_high[j],
                    "level": self.level,
                }
            )
            rows.append(
                {
                    "term": f"sigma.{j + 1}",
                    "component": name,
                    "estimate": math.sqrt(self.estimate[j]),
                    "ci_low": math.sqrt(self.ci_low[j]),
                    "ci_high": math.sqrt(self.ci_high[j]),
                    "level": self.level,
                }
            )
        return pd.DataFrame(rows)

    def to_json_dict(self) -> dict[str, dict[str, float | str]]:
        """metafor's names: ``sigma2.1: {estimate, ci.lb, ci.ub}``, ``sigma2.2: ...``."""
        return {
            f"sigma2.{j + 1}": {
                "component": self.names[j],
                "estimate": self.estimate[j],
                "ci.lb": self.ci_low[j],
                "ci.ub": self.ci_high[j],
            }
            for j in range(2)
        }

    def summary(self) -> str:
        """A short plain-text report for the terminal."""
        pct = round(self.level * 100)
        lines = [f"profile-likelihood {pct}% confidence intervals"]
        for j, name in enumerate(self.names):
            low = f"{self.ci_low[j]:.4f}"
            high = (">" if self.upper_at_limit[j] else "") + f"{self.ci_high[j]:.4f}"
            lines.append(f"  sigma^2 {name:<20} {self.estimate[j]:.4f} [{low}, {high}]")
        return "\n".join(lines)


def sigma2_confint(result: MultilevelMetaResult, *, tol: float = 1e-12) -> Sigma2ConfintResult:
    """Profile-likelihood confidence intervals for both variance components.

    Parameters
    ----------
    result
        A model from :func:`fit_multilevel_meta` with both components estimated.
    tol
        Tolerance of the root finder for the limits (metafor's ``control = list(tol = )``).

    Returns
    -------
    Sigma2ConfintResult

    Raises
    ------
    ConvergenceError
        A profile refit (Fisher scoring for the other component) did not converge.

    Notes
    -----
    For component j, the limits solve
    :math:`-2\\{\\ell_p(\\sigma^2_j) - \\ell(\\hat\\theta)\\} = \\chi^2_{1, 1-\\alpha}`, where
    the profile log-likelihood :math:`\\ell_p` maximises the (restricted) likelihood over
    the other component with :math:`\\sigma^2_j` held fixed (Viechtbauer, 2010; metafor's
    ``confint.rma.mv``). The search runs over ``[0, max(10, 100 sigma2_j)]`` (``[0, 10]``
    when the estimate is 0); a lower limit whose likelihood ratio at 0 is below the
    cut-off is 0, and an upper limit beyond the range is the range's end.

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: ``confint(res, sigma2 = j, control = list(tol = 1e-12))`` for
    every z-test model in ``tests/reference/data/meta/multilevel/*.json``
    (``tests/reference/r/make_multilevel_cases.R``), rtol 1e-6 (looser where the test
    says why).

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal
    of Statistical Software, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03

    Examples
    --------
    >>> from bordin.analytics.meta_analysis import fit_multilevel_meta
    >>> res = fit_multilevel_meta(
    ...     [0.1, 0.3, 0.2, 0.5, 0.4, 0.6, 0.0, 0.1, 0.2, 0.6],
    ...     [0.01, 0.02, 0.01, 0.02, 0.01, 0.02, 0.01, 0.02, 0.01, 0.01],
    ...     ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"],
    ... )
    >>> ci = sigma2_confint(res)  # confint(res)
    >>> all(lo <= est <= hi for lo, est, hi in zip(ci.ci_low, ci.estimate, ci.ci_high))
    True
    """
    blocks = Blocks(result.yi, result.vi, result.x, result.cluster)
    reml = result.method == "REML"
    ll_hat = result.loglik
    cut = float(special.chdtri(1, 1.0 - result.level))
    lows: list[float] = []
    highs: list[float] = []
    at_zero: list[bool] = []
    at_limit: list[bool] = []
    for j in range(2):
        other = 1 - j
        est = float(result.sigma2[j])

        def lr(value: float, j: int = j, other: int = other) -> float:
            fixed: list[float | None] = [None, None]
            fixed[j] = value
            start = np.array(result.sigma2, dtype=np.float64)
            start[j] = value
            if start[other] <= 0.0:
                start[other] = 0.01 * float(np.mean(result.vi))
            fit = fit_components(blocks, reml=reml, start=start, fixed=(fixed[0], fixed[1]))
            return -2.0 * (fit.loglik - ll_hat) - cut

        vc_max = 10.0 if est <= math.sqrt(np.finfo(float).eps) else max(10.0, 100.0 * est)
        if lr(0.0) < 0.0:
            low, zero = 0.0, True
        else:
            low = float(optimize.brentq(lr, 0.0, est, xtol=tol, maxiter=1000))
            zero = False
        if lr(vc_max) < 0.0:
            high, limit = vc_max, True
        else:
            high = float(optimize.brentq(lr, est, vc_max, xtol=tol, maxiter=1000))
            limit = False
        lows.append(low)
        highs.append(high)
        at_zero.append(zero)
        at_limit.append(limit)
    return Sigma2ConfintResult(
        level=result.level,
        names=(result.cluster_name, f"{result.cluster_name}/{result.effect_name}"),
        estimate=(float(result.sigma2[0]), float(result.sigma2[1])),
        ci_low=(lows[0], lows[1]),
        ci_high=(highs[0], highs[1]),
        lower_at_zero=(at_zero[0], at_zero[1]),
        upper_at_limit=(at_limit[0], at_limit[1]),
    )
