"""Linear mixed model with one random intercept (clients nested in therapists), by (RE)ML.

Private helper of the early-alliance and rupture-outcome analyses. The likelihood is
profiled over the fixed effects and the residual variance, leaving one parameter, the
relative standard deviation :math:`\\theta = \\sigma_u / \\sigma` (lme4's ``theta``), which
is found by bounded Brent search. Every group quantity is a vectorised group sum, so the
fit is linear in the number of rows.

Notes
-----
:math:`y = X\\beta + Z u + \\varepsilon`, :math:`u \\sim N(0, \\sigma^2\\theta^2 I)`,
:math:`\\varepsilon \\sim N(0, \\sigma^2 I)`. For a group of size :math:`n_g`,
:math:`V_g/\\sigma^2 = I + \\theta^2 J` has inverse :math:`I - c_g J` with
:math:`c_g = \\theta^2/(1 + n_g\\theta^2)` and log-determinant :math:`\\log(1 + n_g\\theta^2)`.
With :math:`A = X^\\top V^{-1} X \\sigma^2` and :math:`r^\\top V^{-1} r \\sigma^2 = P`, the
profiled deviances (Bates et al., 2015, eqs. 34 and 41) are

.. math::

    d_{ML} = \\textstyle\\sum_g \\log(1 + n_g\\theta^2) + N(1 + \\log(2\\pi P/N)),\\quad
    d_{REML} = \\textstyle\\sum_g \\log(1 + n_g\\theta^2) + \\log|A| + (N-p)(1 +
    \\log(2\\pi P/(N-p))).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bordin.errors import InputError

__all__ = ["RandomInterceptFit", "fit_random_intercept"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RandomInterceptFit:
    """A fitted random-intercept model.

    Attributes
    ----------
    names:
        Fixed-effect names.
    coef:
        Fixed effects :math:`\\hat\\beta`.
    cov:
        Their covariance :math:`\\hat\\sigma^2 A^{-1}` (as lme4's ``vcov``).
    theta:
        :math:`\\hat\\sigma_u / \\hat\\sigma`.
    tau2:
        Random-intercept variance :math:`\\hat\\sigma_u^2`.
    sigma2:
        Residual variance :math:`\\hat\\sigma^2`.
    deviance:
        The REML criterion (``reml``) or ML deviance at the optimum (-2 log-likelihood).
    reml:
        Whether REML was used.
    n:
        Observations.
    n_groups:
        Groups (therapists).
    blup:
        Predicted random intercepts (BLUPs), one per group, in ``group_labels`` order.
    group_labels:
        The group labels, sorted.
    """

    names: tuple[str, ...]
    coef: FloatArray
    cov: FloatArray
    theta: float
    tau2: float
    sigma2: float
    deviance: float
    reml: bool
    n: int
    n_groups: int
    blup: FloatArray
    group_labels: tuple[str, ...]


def fit_random_intercept(
    design: FloatArray,
    response: FloatArray,
    groups: Sequence[object] | npt.NDArray[np.generic],
    names: Sequence[str],
    *,
    reml: bool = True,
) -> RandomInterceptFit:
    """Fit ``response ~ design + (1 | groups)`` by REML (default) or ML."""
    from scipy import optimize

    x = np.asarray(design, dtype=np.float64)
    y = np.asarray(response, dtype=np.float64)
    n, p = x.shape
    labels, g = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    k = len(labels)
    if k < 2:
        raise InputError("a random intercept needs at least two groups")
    if n <= p + 1:
        raise InputError(f"{n} observations are too few for {p} fixed effects")
    sizes = np.bincount(g, minlength=k).astype(np.float64)
    sx = np.zeros((k, p))
    np.add.at(sx, g, x)
    sy = np.bincount(g, weights=y, minlength=k)
    xtx = x.T @ x
    xty = x.T @ y
    yty = float(y @ y)
    dof = n - p if reml else n

    def parts(theta: float) -> tuple[FloatArray, FloatArray, float, float]:
        gamma = theta * theta
        c = gamma / (1.0 + sizes * gamma)
        a = xtx - (sx * c[:, None]).T @ sx
        b = xty - (sx * (c * sy)[:, None]).sum(axis=0)
        beta = np.linalg.solve(a, b)
        pwrss = yty - float(np.sum(c * sy * sy)) - float(b @ beta)
        logdet = float(np.sum(np.log1p(sizes * gamma)))
        return a, beta, pwrss, logdet

    def deviance(theta: float) -> float:
        a, _, pwrss, logdet = parts(theta)
        dev = logdet + dof * (1.0 + np.log(2.0 * np.pi * pwrss / dof))
        if reml:
            dev += float(np.linalg.slogdet(a)[1])
        return float(dev)

    if np.linalg.matrix_rank(x) < p:
        raise InputError(f"the fixed effects are not identifiable (columns {list(names)})")
    upper = 10.0
    while deviance(upper) < deviance(upper / 2.0) and upper < 1e4:
        upper *= 4.0
    opt = optimize.minimize_scalar(
        deviance, bounds=(0.0, upper), method="bounded", options={"xatol": 1e-12}
    )
    theta = float(opt.x)
    if deviance(0.0) <= deviance(theta):
        theta = 0.0
    a, beta, pwrss, _ = parts(theta)
    sigma2 = pwrss / dof
    cov = sigma2 * np.linalg.inv(a)
    gamma = theta * theta
    c = gamma / (1.0 + sizes * gamma)
    blup = c * (sy - sx @ beta)
    return RandomInterceptFit(
        names=tuple(names),
        coef=beta,
        cov=(cov + cov.T) / 2.0,
        theta=theta,
        tau2=sigma2 * gamma,
        sigma2=sigma2,
        deviance=deviance(theta),
        reml=reml,
        n=int(n),
        n_groups=int(k),
        blup=blup,
        group_labels=tuple(str(v) for v in labels),
    )
