"""The profiled (RE)ML deviance of a linear mixed model, vectorised over groups.

The random-effects structure handled here is the one the lagged within/between model needs,
in full generality of its data: one grouping factor (clients) with a random intercept and at
most one random slope (``q`` = 1 or 2 effects per client), and optionally a second grouping
factor with a random intercept (therapists), nested in or crossed with the first.

The penalised least squares (PLS) problem of Bates, Maechler, Bolker & Walker (2015, sections
3.2-3.4) is solved through sufficient statistics computed once per fit, so that one deviance
evaluation costs a few O(clients) array operations (closed-form 2x2 factors) and one
matrix-vector product, plus, for therapists, O(therapists) when clients are nested in
therapists and a dense therapists x therapists Cholesky factor when they are crossed.

Notation (the paper's): ``Lambda_theta`` is block diagonal with one lower-triangular ``T``
(q x q) per client and ``s * I`` for therapists; ``L`` is the sparse Cholesky factor of
``Lambda' Z' Z Lambda + I``, here ``[[L_C, 0], [L_TC, L_T]]`` with ``L_C`` block diagonal.
``R_ZX = L^{-1} Lambda' Z' X`` and ``R_X' R_X = X'X - R_ZX' R_ZX`` (the Schur complement).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class SufficientStats:
    """Cross-products of the data, summed by client (and therapist), computed once."""

    n: int
    p: int
    q: int
    xtx: FloatArray  # (p, p)
    xty: FloatArray  # (p,)
    yty: float
    zz: FloatArray  # (q, q, N) per-client Z_i' Z_i, client last so each element is contiguous
    zx: FloatArray  # (N, q, p) per-client Z_i' X_i
    zy: FloatArray  # (N, q) per-client Z_i' y_i
    gram: FloatArray  # (N * nw, m) per-client products weighted by W_i (see _gram)
    n_therapists: int
    t_count: FloatArray  # (K,) rows per therapist: diagonal of Z_T' Z_T
    t_x: FloatArray  # (K, p) Z_T' X
    t_y: FloatArray  # (K,) Z_T' y
    pair_client: IntArray  # (P,) client of each (client, therapist) pair
    pair_therapist: IntArray  # (P,) therapist of each pair
    pair_z: FloatArray  # (P, q) Z_T,j' Z_C,i for the pair
    nested: bool  # every client sees one therapist: L_TC L_TC' is diagonal
    cross_a: IntArray  # pairs (a, b) that share a client, a != b (crossed case only)
    cross_b: IntArray


def _sum_by(codes: IntArray, size: int, values: FloatArray) -> FloatArray:
    """Sum the columns of ``values`` (n, m) within codes: (size, m)."""
    out = np.empty((size, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=size)
    return out


def _gram(zx: FloatArray, zy: FloatArray) -> FloatArray:
    """Per-client products whose W-weighted sum gives every client-part cross-product.

    With ``W_i = T M_i^{-1} T'`` (symmetric q x q), ``R_ZX,i' R_ZX,i = ZX_i' W_i ZX_i``,
    ``R_ZX,i' c_u,i = ZX_i' W_i Zy_i`` and ``c_u,i' c_u,i = Zy_i' W_i Zy_i``. Rows hold, for
    each unique element of W (11; 11, 12, 22 for q = 2), the upper triangle of the p x p
    product, the p products with y and the y product, so that one matrix-vector product
    with the stacked weights sums them over clients.
    """
    n_clients, q, p = zx.shape
    iu = np.triu_indices(p)
    if q == 1:
        a = zx[:, 0, :]
        prods = [(a[:, :, None] * a[:, None, :])[:, iu[0], iu[1]], a * zy[:, :1], zy[:, :1] ** 2]
        return np.concatenate(prods, axis=1)
    a, b = zx[:, 0, :], zx[:, 1, :]
    ya, yb = zy[:, 0:1], zy[:, 1:2]
    ab = a[:, :, None] * b[:, None, :]
    blocks = [
        np.concatenate([(a[:, :, None] * a[:, None, :])[:, iu[0], iu[1]], a * ya, ya * ya], 1),
        np.concatenate(
            [(ab + ab.transpose(0, 2, 1))[:, iu[0], iu[1]], a * yb + b * ya, 2 * ya * yb], 1
        ),
        np.concatenate([(b[:, :, None] * b[:, None, :])[:, iu[0], iu[1]], b * yb, yb * yb], 1),
    ]
    return np.stack(blocks, axis=1).reshape(n_clients * 3, -1)


def compute_stats(
    y: FloatArray,
    x: FloatArray,
    z: FloatArray,
    client: IntArray,
    n_clients: int,
    therapist: IntArray | None,
    n_therapists: int,
) -> SufficientStats:
    """Sufficient statistics of the model ``y = X beta + Z_C b_C (+ Z_T b_T) + e``.

    ``z`` holds the client-level random-effect columns (n, q), ``client`` and ``therapist``
    are 0-based codes.
    """
    n, p = x.shape
    q = z.shape[1]
    # Products of every pair of columns of [Z | X | y], summed by client.
    zcols = [z[:, a] * z[:, b] for a in range(q) for b in range(q)]
    xcols = [z[:, a] * x[:, j] for a in range(q) for j in range(p)]
    ycols = [z[:, a] * y for a in range(q)]
    stacked = np.column_stack(zcols + xcols + ycols)
    sums = _sum_by(client, n_clients, stacked)
    zz = np.ascontiguousarray(sums[:, : q * q].T).reshape(q, q, n_clients)
    zx = sums[:, q * q : q * q + q * p].reshape(n_clients, q, p)
    zy = sums[:, q * q + q * p :]
    gram = _gram(zx, zy)
    empty_i = np.zeros(0, dtype=np.intp)
    if therapist is None:
        return SufficientStats(
            n=n,
            p=p,
            q=q,
            xtx=x.T @ x,
            xty=x.T @ y,
            yty=float(y @ y),
            zz=zz,
            zx=zx,
            zy=zy,
            gram=gram,
            n_therapists=0,
            t_count=np.zeros(0),
            t_x=np.zeros((0, p)),
            t_y=np.zeros(0),
            pair_client=empty_i,
            pair_therapist=empty_i,
            pair_z=np.zeros((0, q)),
            nested=True,
            cross_a=empty_i,
            cross_b=empty_i,
        )
    k = n_therapists
    t_count = np.bincount(therapist, minlength=k).astype(np.float64)
    t_x = _sum_by(therapist, k, x)
    t_y = np.bincount(therapist, weights=y, minlength=k).astype(np.float64)
    key = client.astype(np.int64) * k + therapist
    uniq, inverse = np.unique(key, return_inverse=True)
    pair_client = (uniq // k).astype(np.intp)
    pair_therapist = (uniq % k).astype(np.intp)
    pair_z = _sum_by(inverse.astype(np.intp), uniq.size, z)
    nested = bool(uniq.size == np.unique(pair_client).size)
    cross_a = empty_i
    cross_b = empty_i
    if not nested:
        # Pairs sorted by client: for clients with several therapists, every ordered pair of
        # distinct (client, therapist) pairs contributes to the off-diagonal of L_TC L_TC'.
        starts = np.flatnonzero(np.r_[True, pair_client[1:] != pair_client[:-1]])
        sizes = np.diff(np.r_[starts, pair_client.size])
        a_list = []
        b_list = []
        for size in np.unique(sizes[sizes > 1]):
            block_starts = starts[sizes == size]
            ii, jj = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
            off = ii != jj
            a_list.append((block_starts[:, None] + ii[off][None, :]).ravel())
            b_list.append((block_starts[:, None] + jj[off][None, :]).ravel())
        cross_a = np.concatenate(a_list).astype(np.intp)
        cross_b = np.concatenate(b_list).astype(np.intp)
    return SufficientStats(
        n=n,
        p=p,
        q=q,
        xtx=x.T @ x,
        xty=x.T @ y,
        yty=float(y @ y),
        zz=zz,
        zx=zx,
        zy=zy,
        gram=gram,
        n_therapists=k,
        t_count=t_count,
        t_x=t_x,
        t_y=t_y,
        pair_client=pair_client,
        pair_therapist=pair_therapist,
        pair_z=pair_z,
        nested=nested,
        cross_a=cross_a,
        cross_b=cross_b,
    )


def theta_lower(q: int, therapist: bool) -> list[float]:
    """Lower bounds of theta as in lme4: 0 on diagonal elements, none off the diagonal."""
    lower = [0.0] if q == 1 else [0.0, -np.inf, 0.0]
    if therapist:
        lower.append(0.0)
    return lower


@dataclass(frozen=True)
class PlsSolution:
    """The solution of the PLS problem at one theta."""

    deviance: float
    beta: FloatArray
    schur: FloatArray  # R_X' R_X
    pwrss: float  # penalised residual sum of squares r^2(theta)
    logdet_l: float  # log |L|^2
    logdet_rx: float  # log |R_X|^2


def _client_weights(stats: SufficientStats, t: FloatArray) -> tuple[FloatArray, float]:
    """``W_i = T (T' A_i T + I)^{-1} T'`` per client, (N, nw), and ``sum log det M_i``.

    ``M_i = T' Z_i' Z_i T + I = L_i L_i'`` is the client's diagonal block of
    ``Lambda' Z' Z Lambda + I``, so ``log|L_C|^2 = sum_i log det M_i``.
    """
    zz = stats.zz
    if stats.q == 1:
        m = t[0] * t[0] * zz[0, 0] + 1.0
        return (t[0] * t[0] / m)[:, None], float(np.sum(np.log(m)))
    t0, t1, t2 = t[0], t[1], t[2]
    a, b, d = zz[0, 0], zz[0, 1], zz[1, 1]
    m11 = t0 * t0 * a + 2.0 * t0 * t1 * b + t1 * t1 * d + 1.0
    m21 = t2 * (t0 * b + t1 * d)
    m22 = t2 * t2 * d + 1.0
    det = m11 * m22 - m21 * m21
    b11, b12, b22 = m22 / det, -m21 / det, m11 / det
    w = np.empty((zz.shape[2], 3))
    w[:, 0] = t0 * t0 * b11
    w[:, 1] = t0 * (t1 * b11 + t2 * b12)
    w[:, 2] = t1 * t1 * b11 + 2.0 * t1 * t2 * b12 + t2 * t2 * b22
    return w, float(np.sum(np.log(det)))


def _as_matrices(w: FloatArray) -> FloatArray:
    """(N, nw) unique elements to (N, q, q) symmetric matrices."""
    if w.shape[1] == 1:
        return w[:, :, None]
    out = np.empty((w.shape[0], 2, 2))
    out[:, 0, 0] = w[:, 0]
    out[:, 0, 1] = out[:, 1, 0] = w[:, 1]
    out[:, 1, 1] = w[:, 2]
    return out


def solve_pls(stats: SufficientStats, theta: FloatArray, *, reml: bool) -> PlsSolution:
    """Solve the PLS problem at ``theta``; the profiled deviance is BMBW (2015) eqs. 34, 41."""
    q, p, n = stats.q, stats.p, stats.n
    n_client_theta = q * (q + 1) // 2
    w, logdet_l = _client_weights(stats, theta[:n_client_theta])
    acc = w.reshape(-1) @ stats.gram
    iu = np.triu_indices(p)
    n_tri = iu[0].size
    sub = np.zeros((p, p))
    sub[iu] = acc[:n_tri]
    sub = sub + np.triu(sub, 1).T
    schur = stats.xtx - sub
    rhs = stats.xty - acc[n_tri : n_tri + p]
    pen = float(acc[-1])
    if stats.n_therapists:
        s = theta[n_client_theta]
        k = stats.n_therapists
        own = stats.pair_client
        ther = stats.pair_therapist
        # Column (client i, therapist j) of L_TC' is v_ij = s L_i^{-1} T' P_ij', so inner
        # products with it go through W_i: v_ij' v_ik = s^2 P_ij W_i P_ik',
        # v_ij' R_ZX,i = s P_ij W_i ZX_i and v_ij' c_u,i = s P_ij W_i Zy_i.
        pw = np.einsum("pq,pqr->pr", stats.pair_z, _as_matrices(w)[own])  # (P, q)
        diag = (
            s * s * stats.t_count
            + 1.0
            - s * s * np.bincount(ther, weights=np.sum(pw * stats.pair_z, axis=1), minlength=k)
        )
        vx = s * np.einsum("pr,prm->pm", pw, stats.zx[own])  # (P, p)
        tx = s * stats.t_x - _sum_by(ther, k, vx)
        vy = s * np.sum(pw * stats.zy[own], axis=1)
        ty = s * stats.t_y - np.bincount(ther, weights=vy, minlength=k)
        if stats.nested:
            lt = np.sqrt(diag)
            rzx_t = tx / lt[:, None]
            ct = ty / lt
            logdet_l += 2.0 * float(np.sum(np.log(lt)))
        else:
            m = np.zeros((k, k))
            off = s * s * np.sum(pw[stats.cross_a] * stats.pair_z[stats.cross_b], axis=1)
            np.add.at(m, (ther[stats.cross_a], ther[stats.cross_b]), -off)
            m[np.diag_indices(k)] += diag
            lt_full = np.linalg.cholesky(m)
            # One LAPACK solve for both right-hand sides (scipy's solve_triangular is much
            # slower on these small matrices).
            both = np.linalg.solve(lt_full, np.column_stack([tx, ty]))
            rzx_t = both[:, :-1]
            ct = both[:, -1]
            logdet_l += 2.0 * float(np.sum(np.log(np.diag(lt_full))))
        schur = schur - rzx_t.T @ rzx_t
        rhs = rhs - rzx_t.T @ ct
        pen += float(ct @ ct)
    chol_x = np.linalg.cholesky(schur)
    half = np.linalg.solve(chol_x, rhs)
    beta = np.linalg.solve(chol_x.T, half)
    pwrss = stats.yty - pen - float(half @ half)
    logdet_rx = 2.0 * float(np.sum(np.log(np.diag(chol_x))))
    if reml:
        dof = n - p
        deviance = logdet_l + logdet_rx + dof * (1.0 + _LOG_2PI + np.log(pwrss / dof))
    else:
        deviance = logdet_l + n * (1.0 + _LOG_2PI + np.log(pwrss / n))
    return PlsSolution(
        deviance=float(deviance),
        beta=beta,
        schur=schur,
        pwrss=pwrss,
        logdet_l=logdet_l,
        logdet_rx=logdet_rx,
    )
