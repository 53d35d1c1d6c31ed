"""The Richardson-extrapolated differences behind the Satterthwaite df (numDeriv's method)."""

from __future__ import annotations

import numpy as np

from bordin.analytics.multilevel._numderiv import hessian, jacobian


def _f(x: np.ndarray) -> float:
    return float(np.exp(x[0]) * np.sin(x[1]) + x[0] ** 2 * x[2] + np.log(x[2]))


def _hess(x: np.ndarray) -> np.ndarray:
    e, s, c = np.exp(x[0]), np.sin(x[1]), np.cos(x[1])
    return np.array(
        [
            [e * s + 2 * x[2], e * c, 2 * x[0]],
            [e * c, -e * s, 0.0],
            [2 * x[0], 0.0, -1.0 / x[2] ** 2],
        ]
    )


def test_hessian_matches_the_analytic_one() -> None:
    x = np.array([0.3, 1.1, 2.0])
    np.testing.assert_allclose(hessian(_f, x), _hess(x), rtol=1e-8, atol=1e-9)
    # At an element equal to 0 numDeriv's step is absolute (1e-4, halved 3 times): second
    # differences over h^2 ~ 1.6e-10 carry rounding of ~1e-16 / 1.6e-10 relative, so 1e-5
    # there (lmerTest's Hessian has the same limit at a variance on its boundary).
    x = np.array([0.0, -0.7, 0.5])
    np.testing.assert_allclose(hessian(_f, x), _hess(x), rtol=1e-5, atol=1e-5)


def test_jacobian_matches_the_analytic_one() -> None:
    def g(x: np.ndarray) -> np.ndarray:
        return np.array([x[0] * x[1] ** 2, np.exp(-x[0]) + x[1]])

    x = np.array([0.4, -1.5])
    expected = np.array([[x[1] ** 2, 2 * x[0] * x[1]], [-np.exp(-x[0]), 1.0]])
    np.testing.assert_allclose(jacobian(g, x), expected, rtol=1e-10, atol=1e-12)
