"""Satterthwaite degrees of freedom, t statistics and p-values for fixed effects, as lmerTest.

For a contrast ``L beta`` of a linear mixed model, lmerTest (Kuznetsova, Brockhoff &
Christensen, 2017) approximates the distribution of ``t = L beta / se`` by a t distribution
whose degrees of freedom come from Satterthwaite's (1946) moment matching on the variance of
the contrast, a function of the variance parameters ``varpar = (theta, sigma)``. Both
ingredients are computed here from the sufficient statistics of
:mod:`bordin.analytics.multilevel._deviance`, so every evaluation costs O(clients) array
operations whatever the number of rows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats as sps

from bordin.errors import ConvergenceWarning, InputError

from . import _numderiv
from ._deviance import FloatArray, PlsSolution, SufficientStats, compute_stats, solve_pls
from .fitting import MixedDesign, MixedModelFit, _check_design

__all__ = ["SatterthwaiteResult", "infer_fixed_effects", "infer_fixed_effects_at"]

_LOG_2PI = math.log(2.0 * math.pi)
# lmerTest's threshold on the eigenvalues of the Hessian (as_lmerModLT, tol = 1e-8): smaller
# ones are left out of the generalised inverse, negative ones are a convergence warning.
_EIGEN_TOL = 1e-8


@dataclass(frozen=True)
class SatterthwaiteResult:
    """Fixed-effect tests with Satterthwaite's degrees of freedom (lmerTest ``summary``).

    Attributes
    ----------
    terms:
        Fixed-effect names.
    estimate:
        Estimates (lmerTest ``Estimate``).
    se:
        Standard errors (``Std. Error``).
    df:
        Satterthwaite degrees of freedom (``df``).
    statistic:
        ``estimate / se`` (``t value``).
    p_value:
        Two-sided p-value on ``df`` degrees of freedom (``Pr(>|t|)``).
    vcov:
        Covariance matrix of the fixed effects at the optimum.
    varpar:
        The variance parameters ``(theta..., sigma)`` at the optimum.
    vcov_varpar:
        Their asymptotic covariance, twice the (generalised) inverse of the Hessian of the
        deviance on that scale (lmerTest ``vcov_varpar``).
    jacobian:
        Derivatives of ``vcov`` with respect to each element of ``varpar``, shape
        (len(varpar), p, p) (lmerTest ``Jac_list``).
    level:
        Confidence level of the t intervals in ``to_frame`` and ``summary``.
    """

    terms: tuple[str, ...]
    estimate: FloatArray
    se: FloatArray
    df: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    vcov: FloatArray
    varpar: FloatArray
    vcov_varpar: FloatArray
    jacobian: FloatArray
    level: float = 0.95

    def contrast(self, weights: Mapping[str, float]) -> dict[str, float]:
        """The t test of ``sum(w * beta)`` (lmerTest ``contest1D``), with a t interval.

        ``weights`` maps term names to coefficients; terms left out get 0.
        """
        unknown = sorted(set(weights) - set(self.terms))
        if unknown:
            raise InputError(f"unknown fixed-effect term(s) in the contrast: {unknown}")
        lvec = np.array([float(weights.get(t, 0.0)) for t in self.terms])
        return _contrast(self, lvec)

    def confint(self, term: str) -> tuple[float, float]:
        """The t interval of one fixed effect at ``level`` on its Satterthwaite df."""
        i = self.terms.index(term)
        half = float(sps.t.ppf(0.5 + self.level / 2.0, self.df[i])) * float(self.se[i])
        return (float(self.estimate[i]) - half, float(self.estimate[i]) + half)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``term, estimate, se, df, statistic, p_value, ci_low, ci_high, level``."""
        bounds = [self.confint(t) for t in self.terms]
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.estimate,
                "se": self.se,
                "df": self.df,
                "statistic": self.statistic,
                "p_value": self.p_value,
                "ci_low": [b[0] for b in bounds],
                "ci_high": [b[1] for b in bounds],
                "level": self.level,
                "method": "Satterthwaite",
            }
        )

    def summary(self) -> str:
        """lmerTest's coefficient table for the terminal."""
        lines = [
            "Fixed effects (t tests use Satterthwaite's method):",
            f"  {'term':<20} {'Estimate':>10} {'Std. Error':>10} {'df':>9} {'t value':>8} "
            f"{'Pr(>|t|)':>10}",
        ]
        for i, t in enumerate(self.terms):
            lines.append(
                f"  {t:<20} {self.estimate[i]:>10.4f} {self.se[i]:>10.4f} {self.df[i]:>9.1f} "
                f"{self.statistic[i]:>8.2f} {_format_p(float(self.p_value[i])):>10}"
            )
        return "\n".join(lines)


def _format_p(p: float) -> str:
    """A p-value for the terminal: ``< 2e-16`` below machine precision, as R prints it."""
    return "< 2e-16" if p < np.finfo(np.float64).eps else f"{p:.3g}"


def _contrast(res: SatterthwaiteResult, lvec: FloatArray) -> dict[str, float]:
    var = float(lvec @ res.vcov @ lvec)
    grad = np.array([float(lvec @ jac @ lvec) for jac in res.jacobian])
    denom = float(grad @ res.vcov_varpar @ grad)
    df = 2.0 * var * var / denom if denom > 0.0 else math.inf
    est = float(lvec @ res.estimate)
    se = math.sqrt(var)
    stat = est / se
    half = float(sps.t.ppf(0.5 + res.level / 2.0, df)) * se
    return {
        "estimate": est,
        "se": se,
        "df": df,
        "statistic": stat,
        "p_value": float(2.0 * sps.t.sf(abs(stat), df)),
        "ci_low": est - half,
        "ci_high": est + half,
    }


def _satterthwaite_df(vcov: FloatArray, jac: FloatArray, vcov_varpar: FloatArray) -> FloatArray:
    """Per-term ``2 var^2 / (g' A g)`` with ``g_k = d var / d varpar_k`` (lmerTest)."""
    var = np.diag(vcov)
    grad = np.diagonal(jac, axis1=1, axis2=2)  # (k, p): d var_j / d varpar_k
    denom = np.einsum("kj,kl,lj->j", grad, vcov_varpar, grad)
    with np.errstate(divide="ignore"):
        return np.where(denom > 0.0, 2.0 * var * var / denom, np.inf)


def infer_fixed_effects(
    design: MixedDesign, fit: MixedModelFit, *, level: float = 0.95
) -> SatterthwaiteResult:
    """Satterthwaite t tests of the fixed effects of a fitted model, as ``lmerTest``.

    Parameters
    ----------
    design:
        The design the model was fitted on.
    fit:
        The fit (:func:`bordin.analytics.multilevel.fit_lmm`); its ``theta``, ``sigma`` and
        ``reml`` are used, and the fixed effects and their covariance recomputed there.
    level:
        Confidence level of the t intervals.

    Returns
    -------
    SatterthwaiteResult

    Raises
    ------
    InputError
        The design is inconsistent (as :func:`bordin.analytics.multilevel.fit_lmm`), or
        ``theta`` does not match its random effects.

    Warns
    -----
    ConvergenceWarning
        The Hessian of the deviance has a negative eigenvalue (lmerTest: "Model failed to
        converge with 1 negative eigenvalue").

    Notes
    -----
    With ``varpar = (theta, sigma)``, the deviance on that scale (lmerTest ``devfun_vp``) is

    .. math::

        d(\\theta, \\sigma) = \\log|L_\\theta|^2 + r^2_\\theta / \\sigma^2
            + n \\log(2\\pi\\sigma^2)
            \\;[+ \\log|R_X|^2 - p \\log(2\\pi\\sigma^2)\\ \\text{for REML}],

    where ``r^2_theta`` is the penalised residual sum of squares at the PLS solution (Bates
    et al., 2015). ``A = 2 H^{-}`` is the asymptotic covariance of ``varpar`` from the
    Hessian ``H`` of ``d`` at the optimum (generalised inverse over eigenvalues above 1e-8),
    and ``C(varpar) = sigma^2 (R_X' R_X)^{-1}`` the covariance of the fixed effects. For a
    contrast ``l``, with ``g_k = l' (dC / d varpar_k) l``,

    .. math::

        \\nu = \\frac{2 (l' C l)^2}{g' A g}, \\qquad
        t = \\frac{l'\\hat\\beta}{\\sqrt{l' C l}} \\sim t_\\nu.

    ``H`` and ``dC/dvarpar`` are taken by Richardson-extrapolated central differences with
    numDeriv's steps (as lmerTest); each evaluation is one PLS solve on the sufficient
    statistics, O(clients), and solves are shared between evaluations at the same theta.
    numDeriv's steps are relative (0.1 |x| for the Hessian) except for an element within
    1.8e-5 of 0 (a variance at its boundary, a zero correlation), where the step is 1e-4 and
    rounding limits the df to about 1e-6 relative, in lmerTest as here.

    Validation
    ----------
    lmerTest 3.1.3 with lme4 1.1.31 and numDeriv 2016.8.1.1 (R 4.2.2):
    ``summary(lmerTest::lmer(...))$coefficients`` and ``contest1D`` on panel and sleepstudy
    models, ``tests/reference/data/lmertest/lmertest_cases.json`` (made by
    ``tests/reference/r/make_lmertest_cases.R``); tolerances in
    ``tests/reference/test_lmertest.py``.

    References
    ----------
    Kuznetsova, A., Brockhoff, P. B., & Christensen, R. H. B. (2017). lmerTest package:
    Tests in linear mixed effects models. Journal of Statistical Software, 82(13), 1-26.
    https://doi.org/10.18637/jss.v082.i13

    Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
    components. Biometrics Bulletin, 2(6), 110-114. https://doi.org/10.2307/3002019

    Bates, D., Maechler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects
    models using lme4. Journal of Statistical Software, 67(1), 1-48.
    https://doi.org/10.18637/jss.v067.i01

    Examples
    --------
    >>> import numpy as np
    >>> from bordin.analytics.multilevel import MixedDesign, fit_lmm
    >>> rng = np.random.default_rng(3)
    >>> client = np.repeat(np.arange(30), 6)
    >>> x = np.column_stack([np.ones(180), rng.normal(size=180)])
    >>> y = x @ [1.0, 0.5] + rng.normal(size=30)[client] + rng.normal(size=180)
    >>> design = MixedDesign(y=y, x=x, fixed_names=("(Intercept)", "x"), z=np.ones((180, 1)),
    ...                      z_names=("(Intercept)",), client=client, n_clients=30)
    >>> res = infer_fixed_effects(design, fit_lmm(design))  # R: summary(lmerTest::lmer(...))
    >>> bool(res.df[1] > 140)  # a within-client predictor: df near n - clients
    True
    """
    return infer_fixed_effects_at(
        design, np.asarray(fit.theta, dtype=np.float64), fit.sigma, reml=fit.reml, level=level
    )


def infer_fixed_effects_at(
    design: MixedDesign,
    theta: FloatArray,
    sigma: float,
    *,
    reml: bool = True,
    level: float = 0.95,
    stats: SufficientStats | None = None,
) -> SatterthwaiteResult:
    """:func:`infer_fixed_effects` at given variance parameters (lme4's ``theta``, ``sigma``).

    For a model fitted elsewhere (the early-alliance random-intercept model) or at another
    program's optimum. ``stats`` are the design's sufficient statistics when the caller has
    them already (they are computed otherwise).
    """
    _check_design(design)
    q = design.z.shape[1]
    n_theta = q * (q + 1) // 2 + (design.therapist is not None)
    theta = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    if theta.shape != (n_theta,) or not np.all(np.isfinite(theta)):
        raise InputError(f"theta must hold {n_theta} finite values for this design")
    if not (math.isfinite(sigma) and sigma > 0.0):
        raise InputError("sigma must be a positive number")
    if stats is None:
        stats = compute_stats(
            design.y,
            design.x,
            design.z,
            design.client,
            design.n_clients,
            design.therapist,
            design.n_therapists,
        )
    n, p = design.x.shape

    @lru_cache(maxsize=256)
    def solve(theta_key: bytes) -> PlsSolution:
        return solve_pls(stats, np.frombuffer(theta_key, dtype=np.float64), reml=reml)

    def deviance(varpar: FloatArray) -> float:
        sigma2 = float(varpar[-1]) ** 2
        sol = solve(np.ascontiguousarray(varpar[:-1], dtype=np.float64).tobytes())
        dev = sol.logdet_l + sol.pwrss / sigma2 + n * (_LOG_2PI + math.log(sigma2))
        if reml:
            dev += sol.logdet_rx - p * (_LOG_2PI + math.log(sigma2))
        return dev

    def covbeta(varpar: FloatArray) -> FloatArray:
        sol = solve(np.ascontiguousarray(varpar[:-1], dtype=np.float64).tobytes())
        cov = np.linalg.inv(sol.schur).ravel()
        return np.asarray(float(varpar[-1]) ** 2 * cov, dtype=np.float64)

    varpar = np.r_[np.asarray(theta, dtype=np.float64), sigma]
    hess = _numderiv.hessian(deviance, varpar)
    values, vectors = np.linalg.eigh((hess + hess.T) / 2.0)
    negative = values < -_EIGEN_TOL
    if negative.any():
        warnings.warn(
            f"the Hessian of the deviance has {int(negative.sum())} negative eigenvalue(s) "
            f"({', '.join(f'{v:.1e}' for v in values[negative])}): the model may not have "
            "converged and the Satterthwaite degrees of freedom are unreliable",
            ConvergenceWarning,
            stacklevel=2,
        )
    pos = values > _EIGEN_TOL
    vcov_varpar = 2.0 * (vectors[:, pos] / values[pos]) @ vectors[:, pos].T
    jac = _numderiv.jacobian(covbeta, varpar).T.reshape(varpar.size, p, p)
    jac = (jac + jac.transpose(0, 2, 1)) / 2.0
    sol = solve(np.ascontiguousarray(varpar[:-1]).tobytes())
    vcov = sigma**2 * np.linalg.inv(sol.schur)
    vcov = (vcov + vcov.T) / 2.0
    se = np.sqrt(np.diag(vcov))
    df = _satterthwaite_df(vcov, jac, vcov_varpar)
    statistic = sol.beta / se
    return SatterthwaiteResult(
        terms=tuple(design.fixed_names),
        estimate=sol.beta.copy(),
        se=se,
        df=df,
        statistic=statistic,
        p_value=2.0 * sps.t.sf(np.abs(statistic), df),
        vcov=vcov,
        varpar=varpar,
        vcov_varpar=vcov_varpar,
        jacobian=jac,
        level=level,
    )
