"""Fitting a linear mixed model by profiled (RE)ML: the optimiser over theta and the results.

The deviance comes from :mod:`bordin.analytics.multilevel._deviance`; this module minimises it
over the relative covariance factor theta (the elements of the Cholesky factor of each random
effect covariance, divided by the residual SD), with the diagonal elements bounded below by 0
exactly as lme4 does, and turns the optimum into estimates.

Why not statsmodels' ``MixedLM``: on the shared 400-client reference panel it failed to
converge, gave a different answer from lme4 and took about 50 times lme4's time. Profiling
the residual variance and the fixed effects out (Bates et al., 2015) leaves a smooth
criterion in 3-4 bounded parameters whose every evaluation is a handful of vectorised array
operations over clients.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from bordin.errors import BoundaryFitWarning, ConvergenceError, ConvergenceWarning, InputError

from ._deviance import (
    FloatArray,
    IntArray,
    PlsSolution,
    SufficientStats,
    compute_stats,
    solve_pls,
    theta_lower,
)

__all__ = ["MixedDesign", "MixedModelFit", "fit_lmm"]

# lme4 reports a singular fit when a diagonal element of theta is below this (isSingular).
_SINGULAR_TOL = 1e-4
# Above this many clients the search starts on a subset of this many clients (seeded), and
# only the final Newton polish runs on every client.
_WARM_START_CLIENTS = 3000
# lme4's default check on the scaled gradient at the optimum (check.conv.grad).
_GRAD_TOL = 2e-3


@dataclass(frozen=True)
class MixedDesign:
    """A prepared linear mixed model ``y = X beta + Z_C b_C (+ Z_T b_T) + e``.

    Attributes
    ----------
    y:
        Response, shape (n,).
    x:
        Fixed-effects design, shape (n, p), full column rank.
    fixed_names:
        Names of the columns of ``x`` (lme4's names, e.g. ``(Intercept)``).
    z:
        Client-level random-effect columns, shape (n, q) with q = 1 (intercept) or 2
        (intercept and one slope).
    z_names:
        Names of the columns of ``z``.
    client:
        0-based client code of each row, shape (n,).
    n_clients:
        Number of clients (codes run from 0 to ``n_clients - 1``, each present).
    therapist:
        0-based therapist code of each row for a therapist random intercept, or None.
    n_therapists:
        Number of therapists (0 without a therapist term).
    """

    y: FloatArray
    x: FloatArray
    fixed_names: tuple[str, ...]
    z: FloatArray
    z_names: tuple[str, ...]
    client: IntArray
    n_clients: int
    therapist: IntArray | None = None
    n_therapists: int = 0


@dataclass(frozen=True)
class MixedModelFit:
    """The (RE)ML fit of a :class:`MixedDesign`, with lme4's derived quantities.

    Attributes
    ----------
    fixed_names:
        Names of the fixed effects, in the order of ``beta``.
    beta:
        Fixed-effect estimates (lme4 ``fixef``).
    vcov:
        Their covariance matrix, ``sigma^2 (R_X' R_X)^{-1}`` (lme4 ``vcov``).
    theta:
        Relative covariance factor at the optimum (lme4 ``getME(fit, "theta")``).
    sigma:
        Residual standard deviation (lme4 ``sigma``).
    client_cov:
        Covariance matrix of the client random effects, shape (q, q).
    sd_therapist:
        SD of the therapist random intercept, or None without that term.
    deviance:
        The minimised criterion: REML criterion for REML fits, -2 log-likelihood for ML.
    loglik:
        ``-deviance / 2`` (lme4 ``logLik``, which is the REML criterion for REML fits).
    reml:
        Whether REML (True) or ML (False) was used.
    n_obs:
        Number of observations.
    n_clients:
        Number of clients.
    n_therapists:
        Number of therapists (0 without a therapist term).
    converged:
        The optimiser reported success and the gradient check at the optimum passed.
    singular:
        A variance is estimated as 0 or a correlation as +-1 (lme4 ``isSingular``).
    n_evaluations:
        Deviance evaluations used by the optimiser.
    """

    fixed_names: tuple[str, ...]
    beta: FloatArray
    vcov: FloatArray
    theta: FloatArray
    sigma: float
    client_cov: FloatArray
    sd_therapist: float | None
    deviance: float
    loglik: float
    reml: bool
    n_obs: int
    n_clients: int
    n_therapists: int
    converged: bool
    singular: bool
    n_evaluations: int

    @property
    def se(self) -> FloatArray:
        """Standard errors of the fixed effects, ``sqrt(diag(vcov))``."""
        return np.sqrt(np.diag(self.vcov))


def _gradient(
    f: _Counted, x: NDArray[np.float64], lower: list[float], fx: float
) -> NDArray[np.float64]:
    """Central-difference gradient, one-sided at a bound."""
    g = np.empty_like(x)
    for i in range(x.size):
        h = 1e-6 * max(1.0, abs(x[i]))
        if x[i] - h < lower[i]:
            up = x.copy()
            up[i] += h
            up2 = x.copy()
            up2[i] += 2 * h
            g[i] = (-3.0 * fx + 4.0 * f(up) - f(up2)) / (2.0 * h)
        else:
            up = x.copy()
            up[i] += h
            dn = x.copy()
            dn[i] -= h
            g[i] = (f(up) - f(dn)) / (2.0 * h)
    return g


class _Counted:
    def __init__(self, stats: SufficientStats, reml: bool) -> None:
        self.stats = stats
        self.reml = reml
        self.calls = 0

    def __call__(self, theta: NDArray[np.float64]) -> float:
        self.calls += 1
        value = solve_pls(self.stats, np.asarray(theta, dtype=np.float64), reml=self.reml).deviance
        return value if math.isfinite(value) else math.inf


def _derivatives(
    f: _Counted, x: NDArray[np.float64], lo: NDArray[np.float64], fx: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Central-difference gradient and Hessian at ``x`` (stencil shifted inside bounds).

    The step (1e-4, relative) is far above the rounding noise of the criterion (about 1e-12
    relative, from sums over all observations), so the gradient is accurate to ~1e-7.
    Returns the gradient, the Hessian and which coordinates sit within a step of their bound.
    """
    k = x.size
    h = 1e-4 * np.maximum(1.0, np.abs(x))
    at_bound = np.isfinite(lo) & (x - lo < h)
    # Evaluate on a stencil shifted inside the bounds: centre c, c +- h.
    c = x.copy()
    c[at_bound] = lo[at_bound] + h[at_bound]
    fc = f(c) if at_bound.any() else fx
    plus = np.empty(k)
    minus = np.empty(k)
    for i in range(k):
        e = np.zeros(k)
        e[i] = h[i]
        plus[i] = f(c + e)
        minus[i] = f(c - e)
    g_c = (plus - minus) / (2.0 * h)
    hess = np.empty((k, k))
    for i in range(k):
        hess[i, i] = (plus[i] - 2.0 * fc + minus[i]) / (h[i] * h[i])
        for j in range(i + 1, k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i] = h[i]
            ej[j] = h[j]
            val = (f(c + ei + ej) - f(c + ei - ej) - f(c - ei + ej) + f(c - ei - ej)) / (
                4.0 * h[i] * h[j]
            )
            hess[i, j] = hess[j, i] = val
    # Gradient at x (not at the shifted centre) to first order.
    return g_c + hess @ (x - c), hess, at_bound


def _newton(
    f: _Counted, x0: NDArray[np.float64], lower: list[float]
) -> tuple[NDArray[np.float64], float, bool]:
    """Bounded Newton polish with central-difference derivatives: (theta, deviance, ok).

    Near the optimum of a smooth criterion in 1-4 parameters a Newton step converges in a
    few iterations (each 2k^2 + 1 evaluations), where a quasi-Newton method with
    finite-difference gradients needs many. Coordinates at their bound with a non-negative
    gradient stay there (the bound is active); the others take the Newton step, shortened
    until the deviance falls and clipped to the bounds. ``ok`` is False when the Hessian of
    the free coordinates is not positive definite (the caller falls back to L-BFGS-B).
    """
    x = np.asarray(x0, dtype=np.float64).copy()
    lo = np.array(lower)
    k = x.size
    fx = f(x)
    for _ in range(30):
        g, hess, at_bound = _derivatives(f, x, lo, fx)
        free = ~(at_bound & (g >= 0.0))
        if not free.any():
            break
        hf = hess[np.ix_(free, free)]
        try:
            chol = np.linalg.cholesky(hf)
        except np.linalg.LinAlgError:
            return x, fx, False
        step = np.zeros(k)
        step[free] = -np.linalg.solve(chol.T, np.linalg.solve(chol, g[free]))
        alpha = 1.0
        improved = False
        for _ in range(40):
            trial = np.maximum(x + alpha * step, lo)
            ft = f(trial)
            if ft <= fx:
                improved = True
                break
            alpha /= 2.0
        if not improved:
            break
        moved = float(np.max(np.abs(trial - x)))
        gain = fx - ft
        x, fx = trial, ft
        if moved < 1e-9 or gain < 1e-12 * max(1.0, abs(fx)):
            break
    return x, fx, True


def _search(
    f: _Counted, start: NDArray[np.float64], lower: list[float], *, simplex: bool = True
) -> tuple[NDArray[np.float64], float, bool]:
    """One local search from ``start``: (theta, deviance, stopped by an iteration limit).

    ``simplex=False`` skips the simplex stage (a polish from a start already near the optimum).
    """
    bounds = [(lo if math.isfinite(lo) else None, None) for lo in lower]

    def fun(x: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        fx = f(x)
        return fx, _gradient(f, x, lower, fx)

    # A derivative-free simplex search first (like lme4's bobyqa it does not jump onto the
    # saddle at a zero intercept SD that a first gradient step can reach), then a bounded
    # quasi-Newton polish with central-difference gradients to converge tightly.
    if simplex:
        coarse = minimize(
            f,
            start,
            method="Nelder-Mead",
            bounds=bounds,
            options={"xatol": 1e-4, "fatol": 1e-7, "maxfev": 4000},
        )
        coarse_x, coarse_f, coarse_limit = np.asarray(coarse.x), coarse.fun, coarse.nfev >= 4000
    else:
        coarse_x, coarse_f, coarse_limit = start, f(start), False
    x, fx, ok = _newton(f, np.asarray(coarse_x, dtype=np.float64), lower)
    hit_limit = coarse_limit
    if not ok:
        res = minimize(
            fun,
            x,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 1000, "maxls": 50},
        )
        # L-BFGS-B often ends with "abnormal termination in line search" once the deviance
        # is flat to machine precision; that is convergence, judged by the gradient check.
        hit_limit = hit_limit or res.nit >= 1000
        if res.fun < fx:
            x, fx = np.asarray(res.x, dtype=np.float64), float(res.fun)
    if coarse_f < fx:
        x, fx = np.asarray(coarse_x, dtype=np.float64), float(coarse_f)
    # Snap near-boundary diagonal elements onto the boundary when that does not raise the
    # deviance (bobyqa, lme4's optimiser, lands on the bound itself in that case).
    for i, lo in enumerate(lower):
        if math.isfinite(lo) and 0.0 < x[i] - lo < 1e-5:
            trial = x.copy()
            trial[i] = lo
            ft = f(trial)
            if ft <= fx + 1e-10:
                x, fx = trial, ft
    return x, fx, hit_limit


def _minimise(
    f: _Counted, start: NDArray[np.float64], lower: list[float], *, simplex: bool = True
) -> tuple[NDArray[np.float64], bool]:
    """Minimise from ``start``; leave any zero variance that is a saddle rather than a minimum.

    The deviance can be stationary in a diagonal element of theta at 0 (for an intercept-only
    term it depends on that element through its square), so a search that reaches 0 can stop
    there although a positive value is better; the origin can also be a saddle along a
    combination of elements. When the search ends on a bound, :func:`_escape` probes inside
    and the search is repeated from a better point, up to three times.
    """
    x, fx, hit_limit = _search(f, start, lower, simplex=simplex)
    for _ in range(3):
        probe = _escape(f, x, fx, lower)
        if probe is None:
            break
        xt, ft, limit_t = _search(f, probe, lower, simplex=simplex)
        if ft >= fx - 1e-8:
            break
        x, fx, hit_limit = xt, ft, limit_t
    return x, not hit_limit


def _escape(
    f: _Counted, x: NDArray[np.float64], fx: float, lower: list[float]
) -> NDArray[np.float64] | None:
    """A point inside the bounds with a lower criterion than ``x`` at the boundary, or None.

    Probes a little way along each bound coordinate and, as the origin of the covariance
    parameters can be a saddle along a combination of them (the criterion depends on
    products such as ``theta_1 theta_2``), along feasible directions of negative curvature.
    """
    lo = np.array(lower)
    at = np.isfinite(lo) & (x - lo < 1e-6)
    if not at.any():
        return None
    directions = [np.eye(x.size)[i] for i in np.flatnonzero(at)]
    _, hess, _ = _derivatives(f, x, lo, fx)
    values, vectors = np.linalg.eigh(hess)
    for j in np.flatnonzero(values < 0.0):
        for sign in (1.0, -1.0):
            d = sign * vectors[:, j]
            d[at & (d < 0.0)] = 0.0
            norm = float(np.linalg.norm(d))
            if norm > 1e-8:
                directions.append(d / norm)
    best, best_f = None, fx - 1e-8
    for d in directions:
        for step in (0.01, 0.1, 0.5):
            probe = np.maximum(x + step * d, lo)
            fp = f(probe)
            if fp < best_f:
                best, best_f = probe, fp
    return best


def _converged(f: _Counted, x: NDArray[np.float64], lower: list[float]) -> bool:
    """lme4's gradient check: the gradient scaled by the Hessian's Cholesky factor is small.

    As lme4's ``checkConv``: ``max |R^{-T} g| < 0.002`` over the coordinates not held at a
    bound, with ``R'R`` the Hessian; a bound coordinate must not have a descent direction
    pointing inside.
    """
    lo = np.array(lower)
    g, hess, at_bound = _derivatives(f, x, lo, f(x))
    held = at_bound & (g >= 0.0)
    free = ~held
    if not free.any():
        return True
    try:
        chol = np.linalg.cholesky(hess[np.ix_(free, free)])
    except np.linalg.LinAlgError:
        return False
    scaled = np.linalg.solve(chol, g[free])
    return bool(np.max(np.abs(scaled)) < _GRAD_TOL)


def _subset_stats(design: MixedDesign) -> SufficientStats:
    """Sufficient statistics of a seeded random subset of ``_WARM_START_CLIENTS`` clients."""
    rng = np.random.default_rng(20151007)
    chosen = np.zeros(design.n_clients, dtype=bool)
    chosen[rng.choice(design.n_clients, size=_WARM_START_CLIENTS, replace=False)] = True
    rows = chosen[design.client]
    _, client = np.unique(design.client[rows], return_inverse=True)
    therapist = None
    n_t = 0
    if design.therapist is not None:
        kept, therapist = np.unique(design.therapist[rows], return_inverse=True)
        n_t = kept.size
    return compute_stats(
        design.y[rows],
        design.x[rows],
        design.z[rows],
        client.astype(np.intp),
        _WARM_START_CLIENTS,
        None if therapist is None else therapist.astype(np.intp),
        n_t,
    )


def _check_design(design: MixedDesign) -> None:
    n, p = design.x.shape
    if design.z.ndim != 2 or design.z.shape[1] not in (1, 2):
        raise InputError("the client random effects must be an intercept and at most one slope")
    if design.y.shape != (n,) or design.z.shape[0] != n or design.client.shape != (n,):
        raise InputError("y, x, z and client must have one row per observation")
    if design.therapist is not None and design.therapist.shape != (n,):
        raise InputError("therapist must have one code per observation")
    if n <= p or np.linalg.matrix_rank(design.x) < p:
        raise InputError("the fixed-effects design is rank deficient or has too few rows")


def fit_lmm(design: MixedDesign, *, reml: bool = True) -> MixedModelFit:
    """Fit a linear mixed model by profiled REML or ML, as ``lme4::lmer``.

    Parameters
    ----------
    design:
        The prepared model (response, fixed design, random-effect columns, group codes).
    reml:
        REML (default) or maximum likelihood.

    Returns
    -------
    MixedModelFit
        Estimates, their covariance, variance components and the criterion.

    Raises
    ------
    InputError
        The design is inconsistent (shapes, more than one random slope, rank-deficient X).
    ConvergenceError
        The criterion could not be evaluated at any admissible theta.

    Warns
    -----
    BoundaryFitWarning
        A variance component is at 0 or a correlation at +-1 (lme4: "boundary (singular)
        fit").
    ConvergenceWarning
        The optimiser stopped without meeting the gradient check.

    Notes
    -----
    With ``Lambda_theta`` the relative covariance factor, the profiled criteria of Bates,
    Maechler, Bolker & Walker (2015, eqs. 34 and 41) are

    .. math::

        -2\\tilde\\ell(\\theta) = \\log|L_\\theta|^2
            + n\\left(1 + \\log\\frac{2\\pi r^2_\\theta}{n}\\right)

        -2\\tilde\\ell_R(\\theta) = \\log|L_\\theta|^2 + \\log|R_X|^2
            + (n-p)\\left(1 + \\log\\frac{2\\pi r^2_\\theta}{n-p}\\right)

    minimised over theta with the diagonal of each Cholesky block bounded at 0, from lme4's
    start (identity). ``sigma^2 = r^2/n`` (ML) or ``r^2/(n-p)`` (REML);
    ``vcov = sigma^2 (R_X'R_X)^{-1}``.

    Validation
    ----------
    lme4 1.1.31 (R 4.2.2), ``lmer``; reference outputs
    ``tests/reference/data/panel/panel_a_reml.json`` and
    ``tests/reference/data/panel/panel_cases.json`` (with the others listed in
    :func:`bordin.analytics.multilevel.fit_lagged_model`); tolerances in
    ``tests/support/tolerances.py`` (LMM_FIXED_RTOL, LMM_VARCOMP_RTOL, LMM_LOGLIK_ATOL).

    References
    ----------
    Bates, D., Maechler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects
    models using lme4. Journal of Statistical Software, 67(1), 1-48.
    https://doi.org/10.18637/jss.v067.i01
    """
    _check_design(design)
    q = design.z.shape[1]
    has_t = design.therapist is not None
    stats = compute_stats(
        design.y,
        design.x,
        design.z,
        design.client,
        design.n_clients,
        design.therapist,
        design.n_therapists,
    )
    lower = theta_lower(q, has_t)
    start = np.array([1.0] if q == 1 else [1.0, 0.0, 1.0])
    if has_t:
        start = np.r_[start, 1.0]
    f = _Counted(stats, reml)
    if not math.isfinite(f(start)):
        raise ConvergenceError("the mixed-model criterion is not finite at the starting values")
    if design.n_clients > _WARM_START_CLIENTS:
        # Registry scale: search on a fixed random subset of clients, then polish on all.
        sub_theta, _ = _minimise(_Counted(_subset_stats(design), reml), start, lower)
        theta, ok = _minimise(f, sub_theta, lower, simplex=False)
    else:
        theta, ok = _minimise(f, start, lower)
    converged = ok and _converged(f, theta, lower)
    sol: PlsSolution = solve_pls(stats, theta, reml=reml)
    n, p = design.x.shape
    sigma2 = sol.pwrss / (n - p if reml else n)
    sigma = math.sqrt(sigma2)
    vcov = sigma2 * np.linalg.inv(sol.schur)
    vcov = (vcov + vcov.T) / 2.0
    n_client_theta = q * (q + 1) // 2
    tmat = np.array([[theta[0]]]) if q == 1 else np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    client_cov = sigma2 * tmat @ tmat.T
    diag_idx = [0] if q == 1 else [0, 2]
    if has_t:
        diag_idx.append(n_client_theta)
    singular = bool(np.any(theta[diag_idx] < _SINGULAR_TOL))
    if singular:
        warnings.warn(
            "boundary (singular) fit: a random-effect variance is estimated as 0 or a "
            "correlation as +-1; the random-effects structure may be too complex for the data",
            BoundaryFitWarning,
            stacklevel=2,
        )
    if not converged:
        warnings.warn(
            "the mixed-model optimiser did not meet the gradient check at its optimum",
            ConvergenceWarning,
            stacklevel=2,
        )
    return MixedModelFit(
        fixed_names=design.fixed_names,
        beta=sol.beta,
        vcov=vcov,
        theta=theta,
        sigma=sigma,
        client_cov=client_cov,
        sd_therapist=(sigma * float(theta[n_client_theta])) if has_t else None,
        deviance=sol.deviance,
        loglik=-sol.deviance / 2.0,
        reml=reml,
        n_obs=n,
        n_clients=design.n_clients,
        n_therapists=design.n_therapists,
        converged=converged,
        singular=singular,
        n_evaluations=f.calls,
    )
