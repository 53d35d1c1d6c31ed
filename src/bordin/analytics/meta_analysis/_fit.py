"""The engine shared by every model: tau^2 estimators and the mixed-effects fit of metafor's
``rma.uni`` (Viechtbauer, 2010), for any full-rank model matrix ``X`` with an intercept.

Public wrappers (:func:`random_effects_meta`, :func:`fit_meta_regression`, ...) validate
their input and turn the :class:`RmaFit` into documented results objects.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from bordin.analytics.meta_analysis._projection import Projection
from bordin.errors import ConvergenceError, ConvergenceWarning, InputError

__all__ = [
    "METAFOR_DEFAULT_CONTROL",
    "FitControl",
    "Method",
    "RmaFit",
    "Test",
    "estimate_tau2",
    "fit_rma",
    "q_generalised",
]

FloatArray = NDArray[np.float64]
Method = Literal["FE", "DL", "REML", "ML", "PM", "HE", "SJ"]
Test = Literal["z", "knha"]
METHODS: Final[tuple[str, ...]] = get_args(Method)
TESTS: Final[tuple[str, ...]] = get_args(Test)


@dataclass(frozen=True)
class FitControl:
    """Convergence settings of the iterative tau^2 estimators.

    Attributes
    ----------
    threshold
        Fisher scoring (ML, REML) stops when tau^2 changes by at most this much.
    maxiter
        Iteration limit of Fisher scoring; reaching it raises :class:`ConvergenceError`.
    tol
        Tolerance of the root finder (PM, Q-profile confidence limits).
    """

    threshold: float = 1e-12
    maxiter: int = 10_000
    tol: float = 1e-12


#: metafor's own defaults (``threshold = 1e-5, maxiter = 100, tol = eps^0.25``), used where
#: metafor itself ignores the model's control (the inner fits of ``trimfill``).
METAFOR_DEFAULT_CONTROL: Final = FitControl(
    threshold=1e-5, maxiter=100, tol=float(np.finfo(float).eps) ** 0.25
)


def check_method_test(method: str, test: str) -> None:
    """Raise InputError for an unknown method or test."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if test not in TESTS:
        raise InputError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}")


def q_generalised(tau2: float, y: FloatArray, v: FloatArray, x: FloatArray) -> float:
    """Generalised Q statistic :math:`\\sum_i (y_i - x_i b)^2 / (v_i + \\tau^2)`."""
    return Projection(y, x, 1.0 / (v + tau2)).rss()


def _tau2_max(y: FloatArray) -> float:
    # metafor: tau2.max = max(100, 10 * mad(yi)^2), mad with the normal-consistency constant.
    mad = 1.4826 * float(np.median(np.abs(y - np.median(y))))
    return max(100.0, 10.0 * mad**2)


def _fisher_scoring(
    y: FloatArray, v: FloatArray, x: FloatArray, start: float, reml: bool, control: FitControl
) -> tuple[float, int]:
    tau2 = start
    intercept_only = x.shape[1] == 1
    change = control.threshold + 1.0
    iterations = 0
    while change > control.threshold:
        iterations += 1
        if iterations > control.maxiter:
            raise ConvergenceError(
                f"Fisher scoring for tau^2 ({'REML' if reml else 'ML'}) did not converge "
                f"in {control.maxiter} iterations"
            )
        old = tau2
        w = 1.0 / (v + tau2)
        if intercept_only:
            # Closed forms of the traces for P = W - w w' / sum(w) (same formulas, fewer
            # array operations: leave-one-out refits hundreds of these models).
            sw = float(np.sum(w))
            e = y - float(w @ y) / sw
            we = w * e
            w2 = float(w @ w)
            ypp_y = float(we @ we)
            if reml:
                tr_p = sw - w2 / sw
                tr_pp = w2 - 2.0 * float(np.sum(w**3)) / sw + (w2 / sw) ** 2
                adj = (ypp_y - tr_p) / tr_pp
            else:
                adj = (ypp_y - sw) / w2
        elif reml:
            proj = Projection(y, x, w)
            adj = (proj.ypp_y() - proj.tr_pd()) / proj.tr_pdpe()
        else:
            proj = Projection(y, x, w)
            adj = (proj.ypp_y() - float(np.sum(w))) / float(np.sum(w**2))
        if not math.isfinite(adj):
            adj = 0.0
        while tau2 + adj < 0.0:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
    return tau2, iterations


def _loglik(y: FloatArray, v: FloatArray, x: FloatArray, tau2: float, reml: bool) -> float:
    k, p = x.shape
    w = 1.0 / (v + tau2)
    proj = Projection(y, x, w)
    if reml:
        _, logdet = np.linalg.slogdet(x.T @ proj.h)
        return float(
            -0.5 * (k - p) * math.log(2 * math.pi)
            - 0.5 * np.sum(np.log(v + tau2))
            - 0.5 * logdet
            - 0.5 * proj.rss()
        )
    return float(
        -0.5 * k * math.log(2 * math.pi) - 0.5 * np.sum(np.log(v + tau2)) - 0.5 * proj.rss()
    )


def estimate_tau2(
    y: FloatArray, v: FloatArray, x: FloatArray, method: Method, control: FitControl
) -> tuple[float, float | None, int]:
    """Estimate tau^2 as metafor's ``rma.uni`` does.

    Returns ``(tau2, se_tau2, iterations)``; ``se_tau2`` is None for the fixed-effect model.
    The formulas (and the standard errors) are metafor 3.8's; see docs/meta-analysis.md.
    """
    k, p = x.shape
    if method == "FE":
        return 0.0, None, 0
    ones_v = v
    iterations = 0
    if method == "DL":
        proj = Projection(y, x, 1.0 / v)
        tr_p = proj.tr_pd()
        tau2 = max(0.0, (proj.rss() - (k - p)) / tr_p)
        se = math.sqrt((2 * (k - p) + 4 * tau2 * tr_p + 2 * tau2**2 * proj.tr_pdpe()) / tr_p**2)
        return tau2, se, 0
    if method == "HE":
        proj = Projection(y, x, np.ones_like(v))
        tr_pv = proj.tr_pd(ones_v)
        tau2 = max(0.0, (proj.rss() - tr_pv) / (k - p))
        se = math.sqrt(
            (2 * proj.tr_pdpe(v, v) + 4 * tau2 * tr_pv + 2 * tau2**2 * (k - p)) / (k - p) ** 2
        )
        return tau2, se, 0
    if method == "SJ":
        tau2_0 = float(np.mean((y - y.mean()) ** 2))
        proj = Projection(y, x, 1.0 / (v + tau2_0))
        tau2 = max(0.0, tau2_0 * proj.rss() / (k - p))
        se = math.sqrt(
            tau2_0**2
            / (k - p) ** 2
            * (
                2 * proj.tr_pdpe(v, v)
                + 4 * tau2 * proj.tr_pdpe(v, None)
                + 2 * tau2**2 * proj.tr_pdpe()
            )
        )
        return tau2, se, 0
    if method == "PM":
        target = float(k - p)
        upper = _tau2_max(y)
        if q_generalised(0.0, y, v, x) < target:
            tau2 = 0.0
        else:
            if q_generalised(upper, y, v, x) > target:
                raise ConvergenceError(
                    "Paule-Mandel: tau^2 is above the search limit "
                    f"{upper:g}; the data are extremely heterogeneous"
                )
            tau2 = float(
                optimize.brentq(
                    lambda t: q_generalised(t, y, v, x) - target,
                    0.0,
                    upper,
                    xtol=control.tol,
                    rtol=4 * float(np.finfo(float).eps),
                    maxiter=max(control.maxiter, 1000),
                )
            )
        w = 1.0 / (v + tau2)
        se = math.sqrt(2 * k**2 / (k - p) / float(np.sum(w)) ** 2)
        return tau2, se, 0
    # ML and REML: Fisher scoring from the HE estimate, as metafor.
    reml = method == "REML"
    he = Projection(y, x, np.ones_like(v))
    start = max(0.0, (he.rss() - he.tr_pd(v)) / (k - p))
    tau2, iterations = _fisher_scoring(y, v, x, start, reml, control)
    # metafor's ll0check: fall back to tau^2 = 0 when that has the higher likelihood.
    if tau2 > control.threshold:
        ll0 = _loglik(y, v, x, 0.0, reml)
        ll = _loglik(y, v, x, tau2, reml)
        if ll0 - ll > control.tol:
            warnings.warn(
                "Fisher scoring may have stopped at a local maximum; tau^2 set to 0",
                ConvergenceWarning,
                stacklevel=3,
            )
            tau2 = 0.0
    tau2 = max(0.0, tau2)
    w = 1.0 / (v + tau2)
    if reml:
        se = math.sqrt(2.0 / Projection(y, x, w).tr_pdpe())
    else:
        se = math.sqrt(2.0 / float(np.sum(w**2)))
    return tau2, se, iterations


@dataclass(frozen=True)
class RmaFit:
    """Everything metafor's ``rma.uni`` reports for one model (internal)."""

    method: Method
    test: Test
    level: float
    k: int
    p: int
    beta: FloatArray
    vb: FloatArray
    se: FloatArray
    stat: FloatArray
    pval: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    df: int | None
    crit: float
    tau2: float
    se_tau2: float | None
    iterations: int
    qe: float
    qe_pval: float
    vt: float
    i2: float
    h2: float
    qm: float | None
    qm_df: tuple[int, int | None] | None
    qm_pval: float | None
    weights: FloatArray


def fit_rma(
    y: FloatArray,
    v: FloatArray,
    x: FloatArray,
    *,
    method: Method,
    test: Test,
    level: float,
    control: FitControl,
) -> RmaFit:
    """Fit ``rma(yi, vi, mods = X, method, test)``; X has the intercept in column 0."""
    k, p = x.shape
    if k <= p:
        raise InputError(f"{k} studies cannot estimate {p} coefficients")
    tau2, se_tau2, iterations = estimate_tau2(y, v, x, method, control)
    w = 1.0 / (v + tau2)
    proj = Projection(y, x, w)
    beta = proj.beta
    vb: FloatArray = np.array(proj.a, dtype=np.float64)
    df: int | None = None
    if test == "knha":
        rss = proj.rss()
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        vb = np.asarray(s2w * vb, dtype=np.float64)
        df = k - p
    se = np.sqrt(np.diag(vb))
    # Knapp-Hartung with identical studies makes the residual Q and so the SE exactly 0; the
    # statistic is then +-inf (or undefined for a zero estimate), as in metafor.
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    # scipy.special's distribution functions (the ones scipy.stats calls, without its
    # per-call overhead, which dominates leave-one-out on small k).
    if df is not None:
        pval = 2.0 * special.stdtr(df, -np.abs(stat))
        crit = float(-special.stdtrit(df, (1 - level) / 2))
    else:
        pval = 2.0 * special.ndtr(-np.abs(stat))
        crit = float(-special.ndtri((1 - level) / 2))
    qm: float | None = None
    qm_df: tuple[int, int | None] | None = None
    qm_pval: float | None = None
    if p > 1:
        b = beta[1:]
        m = p - 1
        qm = float(b @ np.linalg.solve(vb[1:, 1:], b))
        if df is not None:
            qm = qm / m
            qm_df = (m, df)
            qm_pval = float(special.fdtrc(m, df, qm))
        else:
            qm_df = (m, None)
            qm_pval = float(special.chdtrc(m, qm))
    fe = Projection(y, x, 1.0 / v)
    qe = max(0.0, fe.rss())
    qe_pval = float(special.chdtrc(k - p, qe))
    vt = (k - p) / fe.tr_pd()
    if method == "FE":
        i2 = max(0.0, 100.0 * (qe - (k - p)) / qe) if qe > 0 else 0.0
        h2 = qe / (k - p)
    else:
        i2 = 100.0 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1.0
    return RmaFit(
        method=method,
        test=test,
        level=level,
        k=k,
        p=p,
        beta=beta,
        vb=vb,
        se=se,
        stat=stat,
        pval=pval,
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        df=df,
        crit=crit,
        tau2=tau2,
        se_tau2=se_tau2,
        iterations=iterations,
        qe=qe,
        qe_pval=qe_pval,
        vt=vt,
        i2=i2,
        h2=h2,
        qm=qm,
        qm_df=qm_df,
        qm_pval=qm_pval,
        weights=100.0 * w / float(np.sum(w)),
    )
