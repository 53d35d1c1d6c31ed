"""Small-study effects: Egger's regression test and trim and fill (metafor's ``regtest``
and ``trimfill``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import rankdata

from bordin.analytics.meta_analysis._fit import (
    METAFOR_DEFAULT_CONTROL,
    FitControl,
    estimate_tau2,
    fit_rma,
)
from bordin.analytics.meta_analysis.model import MetaResult, random_effects_meta
from bordin.errors import ConvergenceError, InputError

__all__ = ["EggerResult", "TrimFillResult", "egger_test", "trim_and_fill"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class EggerResult:
    """Egger's regression test for funnel-plot asymmetry (mixed-effects version).

    Attributes
    ----------
    statistic
        z (or t with ``knha``) statistic of the slope on the standard error.
    p_value
        Its two-sided p-value; small values suggest small-study effects.
    df
        Degrees of freedom (``k - 2``) with ``knha``; None for z tests.
    slope, slope_se
        Coefficient of the standard error and its standard error.
    limit_estimate, limit_ci_low, limit_ci_high
        The intercept: the effect expected for a study of infinite size (SE = 0), with its
        confidence interval (the "limit estimate" of metafor's ``regtest``).
    k
        Number of studies.
    method, test
        Estimator and test used (those of the model tested).
    """

    statistic: float
    p_value: float
    df: int | None
    slope: float
    slope_se: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    k: int
    method: str
    test: str

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: the intercept (limit estimate) and the slope on the SE."""
        return pd.DataFrame(
            {
                "term": ["intrcpt", "sei"],
                "estimate": [self.limit_estimate, self.slope],
                "statistic": [np.nan, self.statistic],
                "p_value": [np.nan, self.p_value],
                "df": [self.df, self.df],
                "k": [self.k, self.k],
                "method": [self.method, self.method],
            }
        )


def egger_test(result: MetaResult, *, control: FitControl | None = None) -> EggerResult:
    """Egger's regression test, as metafor's ``regtest`` default.

    Parameters
    ----------
    result
        A model from :func:`random_effects_meta`.
    control
        Convergence settings of the meta-regression (default: tight, 1e-12).

    Returns
    -------
    EggerResult

    Raises
    ------
    InputError
        Fewer than 3 studies, or all studies have the same standard error.

    Notes
    -----
    Fits the meta-regression :math:`y_i = \\beta_0 + \\beta_1 \\sqrt{v_i} + u_i + e_i` with
    the model's tau^2 estimator and test, and tests :math:`\\beta_1 = 0` (Egger et al.,
    1997, in the mixed-effects form of Sterne & Egger, 2005).

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: ``regtest(rma(yi, vi))`` (model ``"rma"``, predictor ``"sei"``),
    ``egger_stat, egger_pval`` in ``tests/reference/data/meta/molloy2014.json`` and
    ``mcdaniel1994.json``, rtol 1e-6.

    References
    ----------
    Egger, M., Davey Smith, G., Schneider, M., & Minder, C. (1997). Bias in meta-analysis
    detected by a simple, graphical test. BMJ, 315(7109), 629-634.
    https://doi.org/10.1136/bmj.315.7109.629

    Sterne, J. A. C., & Egger, M. (2005). Regression methods to detect publication and other
    bias in meta-analysis. In Publication bias in meta-analysis (pp. 99-110). Wiley.
    https://doi.org/10.1002/0470870168.ch6

    Examples
    --------
    >>> res = random_effects_meta([0.1, 0.5, 0.35, 0.0, 0.2], [0.01, 0.05, 0.03, 0.01, 0.02])
    >>> eg = egger_test(res)  # regtest(rma(yi, vi))
    >>> eg.slope > 0
    True
    """
    y, v = result.yi, result.vi
    if y.size < 3:
        raise InputError("Egger's test needs at least 3 studies")
    sei = np.sqrt(v)
    if np.ptp(sei) == 0:
        raise InputError("Egger's test needs studies with different standard errors")
    x = np.column_stack([np.ones_like(y), sei])
    fit = fit_rma(
        y,
        v,
        x,
        method=result.method,
        test=result.test,
        level=result.level,
        control=control or FitControl(),
    )
    return EggerResult(
        statistic=float(fit.stat[1]),
        p_value=float(fit.pval[1]),
        df=fit.df,
        slope=float(fit.beta[1]),
        slope_se=float(fit.se[1]),
        limit_estimate=float(fit.beta[0]),
        limit_ci_low=float(fit.ci_low[0]),
        limit_ci_high=float(fit.ci_high[0]),
        k=fit.k,
        method=result.method,
        test=result.test,
    )


@dataclass(frozen=True, eq=False)
class TrimFillResult:
    """Trim and fill (Duval & Tweedie, 2000).

    Attributes
    ----------
    k0
        Estimated number of missing studies (L0 estimator).
    se_k0
        Standard error of k0.
    side
        Side of the funnel where studies were judged missing (``"left"`` or ``"right"``).
    filled
        The model refitted to the observed plus the ``k0`` filled studies (same estimator
        and test); equal to the original model when ``k0 == 0``.
    filled_yi, filled_vi
        Effect sizes and sampling variances of the filled (imputed) studies.
    """

    k0: int
    se_k0: float
    side: Literal["left", "right"]
    filled: MetaResult
    filled_yi: FloatArray = field(repr=False)
    filled_vi: FloatArray = field(repr=False)

    @property
    def estimate(self) -> float:
        """Pooled effect after filling."""
        return self.filled.estimate

    def to_frame(self) -> pd.DataFrame:
        """Tidy one-row table of the adjusted pooled effect."""
        frame = self.filled.to_frame()
        frame["term"] = "trim_and_fill"
        frame["n"] = self.k0
        return frame


def _intercept_estimate(y: FloatArray, v: FloatArray, method: str, control: FitControl) -> float:
    if y.size == 1:
        return float(y[0])  # metafor fits k = 1 with tau^2 = 0: the estimate is the study
    x = np.ones((y.size, 1))
    tau2, _, _ = estimate_tau2(y, v, x, method, control)  # type: ignore[arg-type]
    w = 1.0 / (v + tau2)
    return float(np.sum(w * y) / np.sum(w))


def trim_and_fill(
    result: MetaResult,
    *,
    side: Literal["left", "right"] | None = None,
    maxiter: int = 100,
    inner_control: FitControl = METAFOR_DEFAULT_CONTROL,
) -> TrimFillResult:
    """Trim and fill with the L0 estimator, as metafor's ``trimfill``.

    Parameters
    ----------
    result
        A model from :func:`random_effects_meta`.
    side
        Side where studies are missing; by default chosen by the sign of the slope of the
        Egger-type regression of yi on sqrt(vi) (positive slope: missing on the left).
    maxiter
        Iteration limit of the trimming loop.
    inner_control
        Convergence settings of the fits inside the algorithm. metafor does not pass the
        model's control to them, so the default is metafor's own default (threshold 1e-5);
        pass :class:`FitControl` () for fully converged fits.

    Returns
    -------
    TrimFillResult

    Raises
    ------
    InputError
        Fewer than 3 studies, or ``side`` not given while all standard errors are equal.
    ConvergenceError
        The trimming loop did not settle within ``maxiter`` iterations.

    Notes
    -----
    Studies are sorted by effect (after mirroring when ``side == "right"``); at each step the
    k0 most extreme are trimmed, the pooled effect :math:`\\hat\\mu` of the rest is
    estimated, and with the signed ranks of :math:`|y_i - \\hat\\mu|` over all k studies,
    :math:`L_0 = (4 S_r - k(k+1)) / (2k - 1)` where :math:`S_r` is the sum of positive
    ranks; k0 = max(0, round(L0)). The k0 trimmed studies are then mirrored around
    :math:`\\hat\\mu` and the model refitted to all studies.

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: ``trimfill(rma(yi, vi))``, ``trimfill_k0``, ``trimfill_side``,
    ``trimfill_estimate`` in ``tests/reference/data/meta/molloy2014.json`` and
    ``mcdaniel1994.json`` and every estimator in ``tests/reference/data/meta/cases/``; k0 and
    side exactly, the estimate at rtol 1e-6. With ``PM`` the inner fits of metafor stop its
    root finder at eps^0.25, so the estimate can differ from metafor's by ~1e-4.

    References
    ----------
    Duval, S., & Tweedie, R. (2000). Trim and fill: A simple funnel-plot-based method of
    testing and adjusting for publication bias in meta-analysis. Biometrics, 56(2), 455-463.
    https://doi.org/10.1111/j.0006-341X.2000.00455.x

    Examples
    --------
    >>> res = random_effects_meta([0.1, 0.5, 0.35, 0.45, 0.2], [0.01, 0.05, 0.03, 0.04, 0.02])
    >>> tf = trim_and_fill(res)  # trimfill(rma(yi, vi))
    >>> tf.side, tf.k0 >= 0
    ('left', True)
    """
    y0, v0 = result.yi, result.vi
    k = y0.size
    if k < 3:
        raise InputError("trim and fill needs at least 3 studies")
    if side is None:
        if np.ptp(v0) == 0:
            raise InputError(
                "every study has the same standard error, so the side of the missing studies "
                "cannot be estimated; pass side='left' or side='right'"
            )
        x = np.column_stack([np.ones(k), np.sqrt(v0)])
        slope_fit = fit_rma(
            y0, v0, x, method=result.method, test="z", level=0.95, control=inner_control
        )
        side = "right" if slope_fit.beta[1] < 0 else "left"
    if side not in ("left", "right"):
        raise InputError(f"side must be 'left' or 'right'; got {side!r}")
    y = -y0 if side == "right" else y0.copy()
    order = np.argsort(y, kind="stable")
    y = y[order]
    v = v0[order]
    k0 = 0
    k0_prev = -1
    iterations = 0
    se_k0 = 0.0
    beta = 0.0
    while k0 != k0_prev:
        k0_prev = k0
        iterations += 1
        if iterations > maxiter:
            raise ConvergenceError("trim and fill did not settle")
        beta = _intercept_estimate(y[: k - k0], v[: k - k0], result.method, inner_control)
        centred = y - beta
        ranks = rankdata(np.abs(centred), method="ordinal")
        signed = np.sign(centred) * ranks
        sr = float(np.sum(signed[signed > 0]))
        l0 = (4 * sr - k * (k + 1)) / (2 * k - 1)
        var_sr = (
            k * (k + 1) * (2 * k + 1)
            + 10 * l0**3
            + 27 * l0**2
            + 17 * l0
            - 18 * k * l0**2
            - 18 * k * l0
            + 6 * k**2 * l0
        ) / 24.0
        se_k0 = max(0.0, 4 * float(np.sqrt(max(var_sr, 0.0))) / (2 * k - 1))
        k0 = max(0, int(np.round(l0)))
        if k0 >= k:
            raise ConvergenceError("trim and fill would trim every study")
    if k0 == 0:
        return TrimFillResult(
            k0=0,
            se_k0=se_k0,
            side=side,
            filled=result,
            filled_yi=np.empty(0),
            filled_vi=np.empty(0),
        )
    mirrored = 2 * beta - y[k - k0 :]
    fill_y = -mirrored if side == "right" else mirrored
    fill_v = v[k - k0 :]
    filled = random_effects_meta(
        np.concatenate([y0, fill_y]),
        np.concatenate([v0, fill_v]),
        method=result.method,
        test=result.test,
        level=result.level,
        control=inner_control,
    )
    return TrimFillResult(
        k0=k0, se_k0=se_k0, side=side, filled=filled, filled_yi=fill_y, filled_vi=fill_v
    )
