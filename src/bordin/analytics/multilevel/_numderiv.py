"""Richardson-extrapolated finite differences, as R's numDeriv (Gilbert & Varadhan).

lmerTest takes the Hessian of the deviance on the (theta, sigma) scale with
``numDeriv::hessian`` and the Jacobian of the fixed-effects covariance with
``numDeriv::jacobian``, both by Richardson extrapolation over four halvings of the step. The
same steps and the same extrapolation are used here, so that the two agree to the rounding
of the criterion rather than to the truncation error of a cruder difference; the
extrapolation removes the error terms up to order ``h^8`` on a smooth criterion.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# numDeriv's defaults: r = 4 extrapolation levels, step halved (v = 2) at each, absolute
# step eps where |x| < zero_tol = sqrt(.Machine$double.eps / 7e-7).
_LEVELS = 4
_EPS = 1e-4
_ZERO_TOL = float(np.sqrt(np.finfo(np.float64).eps / 7e-7))


def _steps(x: FloatArray, d: float) -> FloatArray:
    return np.abs(d * x) + _EPS * (np.abs(x) < _ZERO_TOL)


def _extrapolate(approx: FloatArray) -> FloatArray:
    """Richardson extrapolation over the first axis (levels), numDeriv's recursion."""
    a = approx.copy()
    for m in range(1, _LEVELS):
        a = (a[1:] * 4.0**m - a[:-1]) / (4.0**m - 1.0)
    return a[0]


def hessian(func: Callable[[FloatArray], float], x: FloatArray) -> FloatArray:
    """The Hessian of a scalar function, as ``numDeriv::hessian`` (genD, d = 0.1)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    h0 = _steps(x, 0.1)
    f0 = func(x)
    diag = np.empty(n)
    for i in range(n):
        approx = np.empty(_LEVELS)
        h = h0.copy()
        for k in range(_LEVELS):
            e = np.zeros(n)
            e[i] = h[i]
            approx[k] = (func(x + e) - 2.0 * f0 + func(x - e)) / h[i] ** 2
            h = h / 2.0
        diag[i] = _extrapolate(approx)
    out = np.diag(diag)
    for i in range(n):
        for j in range(i):
            approx = np.empty(_LEVELS)
            h = h0.copy()
            for k in range(_LEVELS):
                e = np.zeros(n)
                e[i] = h[i]
                e[j] = h[j]
                approx[k] = (
                    func(x + e) - 2.0 * f0 + func(x - e) - diag[i] * h[i] ** 2 - diag[j] * h[j] ** 2
                ) / (2.0 * h[i] * h[j])
                h = h / 2.0
            out[i, j] = out[j, i] = _extrapolate(approx)
    return out


def jacobian(func: Callable[[FloatArray], FloatArray], x: FloatArray) -> FloatArray:
    """The Jacobian (m, n) of a vector function, as ``numDeriv::jacobian`` (d = 1e-4)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    h0 = _steps(x, 1e-4)
    columns = []
    for i in range(n):
        h = h0.copy()
        approx = []
        for _ in range(_LEVELS):
            e = np.zeros(n)
            e[i] = h[i]
            approx.append((func(x + e) - func(x - e)) / (2.0 * h[i]))
            h = h / 2.0
        columns.append(_extrapolate(np.array(approx)))
    return np.column_stack(columns)
