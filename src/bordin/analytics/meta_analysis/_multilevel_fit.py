"""Engine of the three-level model (metafor's ``rma.mv(yi, vi, random = ~ 1 | cluster/effect)``).

Why not a library: statsmodels has no ``rma.mv`` equivalent (its ``MixedLM`` estimates the
residual variance instead of taking the known sampling variances ``vi``, and offers neither
metafor's Q test and fit statistics nor profile-likelihood limits), and no maintained Python
package fits multilevel meta-analytic models. The model is small enough to write directly and
exactly (Fisher scoring with analytic scores and information), which is also what makes it
fast.

Structure. With effects sorted by cluster, the marginal covariance is block diagonal,
:math:`M = \\bigoplus_i M_i` with :math:`M_i = D_i + \\sigma^2_1 \\mathbf 1 \\mathbf 1^\\top`
and :math:`D_i = \\operatorname{diag}(v_{ij} + \\sigma^2_2)`. Woodbury gives each inverse in
closed form, :math:`M_i^{-1} = D_i^{-1} - c_i d_i d_i^\\top` with :math:`d_i = D_i^{-1}\\mathbf 1`,
:math:`S_i = \\mathbf 1^\\top d_i` and :math:`c_i = \\sigma^2_1 / (1 + \\sigma^2_1 S_i)`, and
:math:`\\log|M_i| = \\sum_j \\log(v_{ij} + \\sigma^2_2) + \\log(1 + \\sigma^2_1 S_i)`. Every
product with :math:`W = M^{-1}` is then a per-row scaling and a per-cluster sum, O(k p); the
k-by-k matrices are never formed. The derivatives of M are :math:`Z Z^\\top` (cluster
indicators Z) for :math:`\\sigma^2_1` and I for :math:`\\sigma^2_2`, and the traces in the
scores and the information reduce to p-by-p and cluster-level sums (see ``_traces``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bordin.errors import ConvergenceError

__all__ = ["Blocks", "VarFit", "fit_components", "loglik"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


class Blocks:
    """Effects sorted by cluster, with the per-cluster sums the model needs.

    ``order`` sorts the caller's rows by cluster; every array here is in that order.
    """

    __slots__ = (
        "code",
        "k",
        "logdet_xx",
        "n_clusters",
        "order",
        "p",
        "starts",
        "v",
        "x",
        "xq",
        "y",
    )

    def __init__(self, y: FloatArray, v: FloatArray, x: FloatArray, cluster: IntArray) -> None:
        self.order = np.argsort(cluster, kind="stable")
        self.y = y[self.order]
        self.v = v[self.order]
        self.x = x[self.order]
        code = cluster[self.order]
        self.starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
        self.n_clusters = int(self.starts.size)
        # Cluster index 0..J-1 of each sorted row.
        self.code = np.cumsum(np.r_[0, (code[1:] != code[:-1]).astype(np.intp)])
        self.k, self.p = self.x.shape
        # The likelihood and its derivatives are invariant to X -> X T; an orthonormal basis
        # keeps them accurate when moderators are on very different scales (years ~ 2000).
        q, r = np.linalg.qr(self.x)
        self.xq = np.asarray(q, dtype=np.float64)
        self.logdet_xx = 2.0 * float(np.sum(np.log(np.abs(np.diag(r)))))

    def segsum(self, a: FloatArray) -> FloatArray:
        """Sum of the rows of ``a`` within each cluster (J rows)."""
        return np.asarray(np.add.reduceat(a, self.starts, axis=0), dtype=np.float64)


class Weights:
    """:math:`W = M^{-1}` at given variance components, applied without forming it."""

    __slots__ = ("b", "c", "d", "logdet", "s")

    def __init__(self, blocks: Blocks, sigma2_1: float, sigma2_2: float) -> None:
        self.b = blocks
        self.d = 1.0 / (blocks.v + sigma2_2)
        self.s = blocks.segsum(self.d)
        self.c = sigma2_1 / (1.0 + sigma2_1 * self.s)
        self.logdet = float(np.sum(np.log(blocks.v + sigma2_2))) + float(
            np.sum(np.log1p(sigma2_1 * self.s))
        )

    def apply(self, a: FloatArray) -> FloatArray:
        """W a for a vector or a matrix with k rows."""
        d = self.d if a.ndim == 1 else self.d[:, None]
        da = d * a
        sums = self.b.segsum(da)
        cs = (self.c[:, None] * sums) if a.ndim > 1 else self.c * sums
        return np.asarray(da - d * cs[self.b.code], dtype=np.float64)

    def cluster_totals(self) -> FloatArray:
        """:math:`t_i = \\mathbf 1^\\top W_i \\mathbf 1 = S_i / (1 + \\sigma^2_1 S_i)`."""
        return np.asarray(self.s - self.c * self.s**2, dtype=np.float64)


@dataclass(frozen=True)
class VarFit:
    """A fit at given variance components (internal)."""

    sigma2: FloatArray
    beta: FloatArray
    vb: FloatArray
    loglik: float
    iterations: int


def _gls(
    blocks: Blocks, w: Weights, *, basis: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """GLS fit on the orthonormal basis (``basis``) or on the model matrix itself."""
    x = blocks.xq if basis else blocks.x
    wx = w.apply(x)
    a = x.T @ wx
    a_inv = np.asarray(np.linalg.inv(a), dtype=np.float64)
    beta = a_inv @ (wx.T @ blocks.y)
    return beta, a_inv, wx, a


def loglik(blocks: Blocks, sigma2: FloatArray, *, reml: bool) -> float:
    """metafor's log-likelihood (REML with the ``+ log|X'X| / 2`` term, as its ``REMLf``)."""
    w = Weights(blocks, float(sigma2[0]), float(sigma2[1]))
    beta, _, _, a = _gls(blocks, w)
    r = blocks.y - blocks.xq @ beta
    rss = float(r @ w.apply(r))
    k, p = blocks.k, blocks.p
    if reml:
        # log|X'X| - log|X'WX| = -log|Q'WQ| with X = QR.
        _, logdet_a = np.linalg.slogdet(a)
        return float(
            -0.5 * (k - p) * math.log(2 * math.pi) - 0.5 * w.logdet - 0.5 * logdet_a - 0.5 * rss
        )
    return -0.5 * k * math.log(2 * math.pi) - 0.5 * w.logdet - 0.5 * rss


def _traces(
    blocks: Blocks, w: Weights, a_inv: FloatArray, wx: FloatArray, reml: bool
) -> tuple[FloatArray, FloatArray]:
    """``tr(Q V_k)`` and ``tr(Q V_k Q V_l)`` for Q = P (REML) or W (ML), V_1 = ZZ', V_2 = I."""
    d, c, s = w.d, w.c, w.s
    sd2 = blocks.segsum(d**2)
    sd3 = blocks.segsum(d**3)
    t = w.cluster_totals()
    tr_w = float(np.sum(d)) - float(np.sum(c * sd2))
    w_frob2 = float(np.sum(sd2 - 2.0 * c * sd3 + c**2 * sd2**2))
    # W_i 1 = d_i (1 - c_i S_i), so ||W_i 1||^2 = (1 - c_i S_i)^2 sum_j d_ij^2.
    w1_norm2 = float(np.sum(sd2 * (1.0 - c * s) ** 2))
    if not reml:
        tr = np.array([float(np.sum(t)), tr_w])
        info = np.array(
            [[float(np.sum(t**2)), w1_norm2], [w1_norm2, w_frob2]],
        )
        return tr, info
    # P = W - B A^{-1} B' with B = W X; G = Z'B; H = Z'W B.
    b = wx
    g = blocks.segsum(b)
    wb = w.apply(b)
    h = blocks.segsum(wb)
    btb = b.T @ b
    gtg = g.T @ g
    a_btb = a_inv @ btb
    a_gtg = a_inv @ gtg
    tr_p = tr_w - float(np.sum(a_inv * btb))
    tr_pz = float(np.sum(t)) - float(np.sum(a_inv * gtg))
    pp = w_frob2 - 2.0 * float(np.sum(a_inv * (b.T @ wb))) + float(np.sum(a_btb * a_btb.T))
    gag = np.einsum("ip,pq,iq->i", g, a_inv, g)
    zz = float(np.sum(t**2)) - 2.0 * float(np.sum(t * gag)) + float(np.sum(a_gtg * a_gtg.T))
    pz = w1_norm2 - 2.0 * float(np.sum(a_inv * (g.T @ h))) + float(np.sum(a_btb * a_gtg.T))
    return np.array([tr_pz, tr_p]), np.array([[zz, pz], [pz, pp]])


def _score_info(
    blocks: Blocks, sigma2: FloatArray, reml: bool
) -> tuple[FloatArray, FloatArray, float]:
    w = Weights(blocks, float(sigma2[0]), float(sigma2[1]))
    beta, a_inv, wx, _ = _gls(blocks, w)
    r = blocks.y - blocks.xq @ beta
    py = w.apply(r)
    quad = np.array([float(np.sum(blocks.segsum(py) ** 2)), float(py @ py)])
    tr, info2 = _traces(blocks, w, a_inv, wx, reml)
    score = 0.5 * (quad - tr)
    return score, 0.5 * info2, float(r @ py)


def fit_components(
    blocks: Blocks,
    *,
    reml: bool,
    start: FloatArray,
    fixed: tuple[float | None, float | None] = (None, None),
    threshold: float = 1e-12,
    maxiter: int = 1000,
) -> VarFit:
    """Maximise the (restricted) likelihood over the two variance components.

    Fisher scoring on :math:`(\\sigma^2_1, \\sigma^2_2) \\ge 0` with an active set at 0 (a
    component at 0 whose score is negative stays there), steps shortened to stay
    non-negative and halved until the likelihood does not decrease. A component given in
    ``fixed`` is held at that value (profile likelihood). Stops when no free component
    changes by more than ``threshold`` (relative to max(1, value)).
    """
    theta = np.array(start, dtype=np.float64)
    held = np.array([f is not None for f in fixed])
    for j, f in enumerate(fixed):
        if f is not None:
            theta[j] = f
    ll = loglik(blocks, theta, reml=reml)
    iterations = 0
    while True:
        iterations += 1
        if iterations > maxiter:
            raise ConvergenceError(
                f"Fisher scoring for the variance components ({'REML' if reml else 'ML'}) "
                f"did not converge in {maxiter} iterations"
            )
        score, info, _ = _score_info(blocks, theta, reml)
        free = ~held & ~((theta <= 0.0) & (score <= 0.0))
        if not np.any(free):
            break
        idx = np.flatnonzero(free)
        sub = info[np.ix_(idx, idx)]
        try:
            step_free = np.linalg.solve(sub, score[idx])
        except np.linalg.LinAlgError:
            step_free = score[idx] / np.maximum(np.diag(sub), 1e-300)
        step = np.zeros(2)
        step[idx] = step_free
        # Shorten the step so that no component becomes negative.
        neg = (theta + step < 0.0) & free
        scale = 1.0
        if np.any(neg):
            scale = float(np.min(theta[neg] / -step[neg]))
        new = np.maximum(theta + scale * step, 0.0)
        full_change = float(np.max(np.abs(new - theta) / np.maximum(1.0, np.abs(theta))))
        new_ll = loglik(blocks, new, reml=reml)
        halvings = 0
        # Halve steps that lower the likelihood by more than its rounding error.
        while new_ll < ll - 1e-10 * max(1.0, abs(ll)) and halvings < 60:
            scale /= 2.0
            new = np.maximum(theta + scale * step, 0.0)
            new_ll = loglik(blocks, new, reml=reml)
            halvings += 1
        theta, ll = new, new_ll
        if full_change <= threshold:
            break
    w = Weights(blocks, float(theta[0]), float(theta[1]))
    beta, a_inv, _, _ = _gls(blocks, w, basis=False)
    return VarFit(sigma2=theta, beta=beta, vb=a_inv, loglik=ll, iterations=iterations)


def information(blocks: Blocks, sigma2: FloatArray, *, reml: bool) -> FloatArray:
    """Expected information of the variance components at ``sigma2`` (2-by-2)."""
    _, info, _ = _score_info(blocks, sigma2, reml)
    return info
