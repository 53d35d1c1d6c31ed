"""Weighted least squares and the residual-maker matrix P without forming a k-by-k matrix.

metafor writes its estimators with the k-by-k matrix
:math:`P = W - W X (X^\\top W X)^{-1} X^\\top W`. Forming P costs O(k^2) memory (800 MB for
10,000 studies), so this module computes the traces and quadratic forms the estimators need
from p-by-p matrices only: with :math:`H = W X` and :math:`A = (X^\\top W X)^{-1}`,
:math:`P = W - H A H^\\top`, and for diagonal D, E

.. math::

    \\operatorname{tr}(P D) = \\sum_i w_i d_i - \\operatorname{tr}(A H^\\top D H), \\qquad
    \\operatorname{tr}(P D P E) = \\sum_i w_i^2 d_i e_i
        - 2 \\operatorname{tr}(A H^\\top \\operatorname{diag}(w d e) H)
        + \\operatorname{tr}(A H^\\top D H A H^\\top E H).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["Projection"]

FloatArray = NDArray[np.float64]


class Projection:
    """WLS fit of ``y`` on ``X`` with weights ``w`` and the traces of its residual maker."""

    __slots__ = ("a", "beta", "h", "resid", "w", "x", "y")

    def __init__(self, y: FloatArray, x: FloatArray, w: FloatArray) -> None:
        self.y = y
        self.x = x
        self.w = w
        self.h = x * w[:, None]
        if x.shape[1] == 1:
            # Intercept-only models (most fits) skip the general inverse.
            sw = float(x[:, 0] @ self.h[:, 0])
            self.a = np.array([[1.0 / sw]])
            self.beta = np.array([float(self.h[:, 0] @ y) / sw])
            self.resid = y - x[:, 0] * self.beta[0]
            return
        xtwx = x.T @ self.h
        self.a = np.linalg.inv(xtwx)
        self.beta = self.a @ (self.h.T @ y)
        self.resid = y - x @ self.beta

    def rss(self) -> float:
        """:math:`y^\\top P y`, the weighted residual sum of squares."""
        return float(np.sum(self.w * self.resid**2))

    def ypp_y(self) -> float:
        """:math:`y^\\top P P y = \\lVert W e \\rVert^2`."""
        return float(np.sum((self.w * self.resid) ** 2))

    def _hdh(self, d: FloatArray) -> FloatArray:
        return self.h.T @ (self.h * d[:, None])

    def tr_pd(self, d: FloatArray | None = None) -> float:
        """:math:`\\operatorname{tr}(P D)`; D is the identity when ``d`` is None."""
        if d is None:
            d = np.ones_like(self.w)
        return float(np.sum(self.w * d) - np.trace(self.a @ self._hdh(d)))

    def tr_pdpe(self, d: FloatArray | None = None, e: FloatArray | None = None) -> float:
        """:math:`\\operatorname{tr}(P D P E)`; D, E are the identity when None."""
        ones = np.ones_like(self.w)
        d = ones if d is None else d
        e = ones if e is None else e
        mixed = self._hdh(self.w * d * e)
        return float(
            np.sum(self.w**2 * d * e)
            - 2.0 * np.trace(self.a @ mixed)
            + np.trace(self.a @ self._hdh(d) @ self.a @ self._hdh(e))
        )
