"""The adaptive rupture detector's compiled kernels (see :mod:`bordin.feedback._adaptive`).

The one-step prediction and its residuals, the residual scale pooled by session number, the
histogram of scaled residuals, the EM fit of the two-component mixture on that histogram,
the expected-F1 posterior threshold, and the posterior and flag of each row. Each kernel
follows the conventions of :mod:`bordin.feedback._jit` (a client's rows in session order,
state reset at the client's first row, sums pooled by session number in row order).
"""

from __future__ import annotations

import math
from typing import Final

import numba
import numpy as np

from bordin.feedback._jit import JIT, NAN

__all__ = [
    "N_BINS",
    "N_LEVELS",
    "Z_LIMIT",
    "Z_STEP",
    "combined_flags",
    "envelopes",
    "fit_mixtures",
    "histogram",
    "join_posterior",
    "phi_sums",
    "pool_back",
    "posterior_flags",
    "predict",
]

Z_LIMIT: Final = 12.0
Z_STEP: Final = 0.1
N_BINS: Final = int(round(2 * Z_LIMIT / Z_STEP))
N_LEVELS: Final = 14  # item sums 0..12, and 13: no item asked
REFIT_GROWTH: Final = 1.1
RESTART_GROWTH: Final = 2.0
STARTS: Final = (-1.5, -3.0)  # initial drop locations (null SD units) of the EM starts
EM_ITERATIONS: Final = 3000
#: The drop component's largest weight: ruptures are a minority of sessions.
MAX_WEIGHT: Final = 0.5
EM_TOLERANCE: Final = 1e-11
#: The drop component's weight when the null alone describes the residuals (AIC).
NULL_ONLY: Final = 1e-9
#: The conditional maximisation steps of the M-step on the drop component's bounds.
BOUND_ITERATIONS: Final = 50
#: The bootstrap test of the drop component where AIC keeps the null: its level (shared
#: among the alliance scales a session's posterior is the largest of: see
#: :func:`bordin.feedback._adaptive.fit_adaptive`) and its largest number of samples. It
#: stops once so many samples have reached the statistic that the test cannot pass (Besag
#: & Clifford, 1991): 5 at this level, 1 at the level shared among four scales.
BOOT_ALPHA: Final = 0.05
BOOT_SAMPLES: Final = 99
#: The drop component's depths are falls: the mean drop below the null's centre is at
#: least this many SDs of the depths (the component's spread beyond the null's noise,
#: sqrt(s1^2 - s0^2)), so that 97.5% of a normal distribution of depths lies below zero.
#: Without it, near a ceiling (where a rating can fall further than it can rise and the
#: null is skewed to the left) EM fitted a wide, shallow component that took the null's
#: left shoulder for ruptures (a third of the sessions on a 12-item ceiling).
DEPTH_Z: Final = 1.959963984540054
#: The level of the bootstrap test on a session number's own residuals, where the test
#: on the pooled residuals kept the null alone, as a share of the pooled test's: half, so
#: that the second test adds at most that to the chance that the bootstrap gives a session
#: number without ruptures a drop component; and the seed of its samples (plus the session
#: number), apart from the pooled test's.
OWN_SHARE: Final = 0.5
OWN_SEED: Final = 1_000_003
#: No null shapes to choose from: the null is held (:func:`_own_fit`).
NU_NONE: Final = np.empty(0)
#: The 95% quantile of chi-squared with 1 df: a session number's own drop weight replaces
#: the pooled one when its likelihood-ratio statistic against the pooled weight exceeds it.
WEIGHT_TEST: Final = 3.841


@numba.njit(**JIT)
def phi_sums(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    phis: np.ndarray,
    decays: np.ndarray,
    abs_sums: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Per session number, the summed absolute one-step prediction errors of every
    prediction weight ``phis[i]`` and level decay ``decays[j]`` (row ``i * len(decays) + j``
    of ``abs_sums``) and the number of predicted sessions."""
    n_dec = decays.shape[0]
    n_phi = phis.shape[0]
    # accumulated session number by session number, each session number's sums side by
    # side (the same additions in the same order as straight into ``abs_sums``)
    by_session = np.ascontiguousarray(abs_sums.T)
    sums = np.zeros(n_dec)
    weights = np.zeros(n_dec)
    levels = np.empty(n_dec)
    prev = NAN
    for r in range(values.shape[0]):
        if first[r]:
            sums[:] = 0.0
            weights[:] = 0.0
            prev = NAN
        v = values[r]
        if math.isnan(v):
            continue
        if not math.isnan(prev):
            s = session[r]
            for j in range(n_dec):  # each decay's level once, not once per weight
                levels[j] = sums[j] / weights[j]
            row = by_session[s]
            for i in range(n_phi):
                for j in range(n_dec):
                    row[i * n_dec + j] += abs(v - (phis[i] * prev + (1.0 - phis[i]) * levels[j]))
            counts[s] += 1.0
        for j in range(n_dec):
            sums[j] = decays[j] * sums[j] + v
            weights[j] = decays[j] * weights[j] + 1.0
        prev = v
    abs_sums[:, :] = by_session.T


@numba.njit(**JIT)
def predict(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    phi: np.ndarray,
    which: np.ndarray,
    decays: np.ndarray,
    bound: np.ndarray,
    residual: np.ndarray,
    prediction: np.ndarray,
) -> None:
    """Per row the prediction ``phi[s]`` x the previous value + the rest x the client's
    level (earlier values weighted by ``decays[which[s]]`` to the power of their age) and
    the residual; NaN at a client's first value."""
    n_dec = decays.shape[0]
    sums = np.zeros(n_dec)
    weights = np.zeros(n_dec)
    prev = NAN
    for r in range(values.shape[0]):
        if first[r]:
            sums[:] = 0.0
            weights[:] = 0.0
            prev = NAN
        s = session[r]
        if not math.isnan(prev):
            w = phi[s]
            j = which[s]
            pred = w * prev + (1.0 - w) * (sums[j] / weights[j])
        else:
            pred = NAN
        v = values[r]
        prediction[r] = pred
        residual[r] = v - pred
        if not math.isnan(v):
            # the value the baseline moves on: the prediction plus the residual clipped
            # at +-bound (Huber's filter), so that one rupture session does not drag the
            # baseline of the next sessions down with it
            b = bound[s]
            if not math.isnan(pred) and not math.isnan(b):
                v = pred + min(max(v - pred, -b), b)
            for j in range(n_dec):
                sums[j] = decays[j] * sums[j] + v
                weights[j] = decays[j] * weights[j] + 1.0
            prev = v


@numba.njit(**JIT)
def pool_back(sums: np.ndarray, counts: np.ndarray, min_n: float, out: np.ndarray) -> None:
    for s in range(sums.shape[0]):
        total = 0.0
        n = 0.0
        for b in range(s, -1, -1):
            total += sums[b]
            n += counts[b]
            if n >= min_n:
                break
        if n >= min_n:
            out[s] = total / n


@numba.njit(**JIT)
def histogram(
    z: np.ndarray, half: np.ndarray, session: np.ndarray, levels: np.ndarray, hist: np.ndarray
) -> None:
    """Add each row's scaled residual to the histogram of its session number and item
    level, spread evenly over ``z +- half`` (the interval a rating rounded to the scale's
    resolution leaves the residual in: an interval-censored observation)."""
    for r in range(z.shape[0]):
        v = z[r]
        if math.isnan(v):
            continue
        h = half[session[r]]
        lo = v - h
        hi = v + h
        b0 = int(math.floor((lo + Z_LIMIT) / Z_STEP))
        b1 = int(math.floor((hi + Z_LIMIT) / Z_STEP))
        if b1 <= b0 or h <= 0.0:
            b = 0 if b0 < 0 else (N_BINS - 1 if b0 >= N_BINS else b0)
            hist[session[r], b, levels[r]] += 1.0
            continue
        for b in range(b0, b1 + 1):
            left = max(lo, -Z_LIMIT + b * Z_STEP)
            right = min(hi, -Z_LIMIT + (b + 1) * Z_STEP)
            if right > left:
                c = 0 if b < 0 else (N_BINS - 1 if b >= N_BINS else b)
                hist[session[r], c, levels[r]] += (right - left) / (hi - lo)


@numba.njit(**JIT)
def _log_t_fixed(scale: float, nu: float) -> float:
    """The part of :func:`_log_t` that does not depend on ``x`` (for a normal, log(scale)),
    for :func:`_log_t_at`: a density evaluated at many points computes it once."""
    if nu <= 0.0:
        return math.log(scale)
    return (
        math.lgamma(0.5 * (nu + 1.0))
        - math.lgamma(0.5 * nu)
        - 0.5 * math.log(nu * math.pi)
        - math.log(scale)
    )


@numba.njit(**JIT)
def _log_t_at(x: float, loc: float, scale: float, nu: float, fixed: float) -> float:
    """:func:`_log_t` given ``fixed`` = :func:`_log_t_fixed` (the same operations in the
    same order, so the same value to the last bit)."""
    u = (x - loc) / scale
    if nu <= 0.0:
        return -0.5 * u * u - fixed - 0.5 * math.log(2.0 * math.pi)
    return fixed - 0.5 * (nu + 1.0) * math.log1p(u * u / nu)


@numba.njit(**JIT)
def _log_t(x: float, loc: float, scale: float, nu: float) -> float:
    """Log density of Student's t with ``nu`` df (a normal for ``nu`` <= 0) at ``x``."""
    return _log_t_at(x, loc, scale, nu, _log_t_fixed(scale, nu))


@numba.njit(**JIT)
def _cell_points(zc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct residuals of the cells (bin centres: the cells of one bin at each item
    level share one) and each cell's index among them, for :func:`_em`, which computes the
    densities' terms that depend on the residual alone once per point. A residual that is
    not the first seen in its bin gets a point of its own, so any ``zc`` is handled."""
    n = zc.shape[0]
    slot = np.full(N_BINS, -1, dtype=np.int64)
    points = np.empty(n)
    point = np.empty(n, dtype=np.int64)
    m = 0
    for c in range(n):
        b = int(math.floor((zc[c] + Z_LIMIT) / Z_STEP))
        b = 0 if b < 0 else (N_BINS - 1 if b >= N_BINS else b)
        k = slot[b]
        if k < 0 or points[k] != zc[c]:
            k = m
            points[m] = zc[c]
            m += 1
            if slot[b] < 0:
                slot[b] = k
        point[c] = k
    return points[:m], point


@numba.njit(**JIT)
def _em(
    zc: np.ndarray,
    lv: np.ndarray,
    observed: np.ndarray,
    censored: np.ndarray,
    nu: float,
    start: np.ndarray,
    q0: np.ndarray,
    q1: np.ndarray,
    w: np.ndarray,
    fixed_pi: float = 0.0,
    fixed_null: bool = False,
) -> float:
    """EM of the two-component mixture on weighted cells (in place on ``start`` = weight,
    null location, null scale, drop location, drop scale and on the item distributions
    ``q0``/``q1``, 14 levels, level 13 = not asked and fixed at 1); the log-likelihood.

    The cells are ordered by level, then by bin. ``observed`` is the weight of residuals
    seen in a cell, ``censored`` that of residuals known only to be at least the cell's
    value (a rating at the scale maximum). The E-step spreads each censored weight over
    the cells of its level at and above it in proportion to the fitted density (the
    expected complete data of a right-censored observation); ``w`` receives the expected
    complete weights. ``fixed_pi`` > 0 holds the weight there; ``fixed_null`` holds the
    null (its location, scale and item distribution) at the start's.

    EM is run to convergence (:data:`EM_TOLERANCE`), accelerated by SQUAREM (Varadhan &
    Roland, 2008: two EM steps give a direction and a step length, the extrapolated point
    is pulled back into the parameters' bounds and taken through one more EM step, and
    kept only where its likelihood is not below that of the plain EM steps'). Where the
    drop component overlaps the null, the likelihood is nearly flat along a ridge of
    weight against depth, plain EM crawls along it, and a fit stopped after a fixed number
    of steps stays wherever it started (the last fit): ruptures then go undetected or are
    over-called depending on the path, not on the data.

    What does not change between iterations is set up once: the level's first censored
    cell (below it the complete weight is the observed weight, and the density is not
    needed), the buffers, and the cells' distinct residuals (:func:`_cell_points`: the
    cells of one bin at each item level share one), whose terms of the two densities are
    computed once per iteration for all those cells. The drop posterior of a cell is
    1 / (1 + e) or e / (1 + e) with e the smaller component's share relative to the
    larger's, the exponential the log-sum-exp already takes (equal to exp(b - lse) up to
    rounding).
    """
    n_cells = zc.shape[0]
    total = 0.0
    for c in range(n_cells):
        total += observed[c] + censored[c]
    # the cells whose density the censored E-step needs: from the level's first censored
    # cell to the level's last
    needs = np.zeros(n_cells, dtype=np.bool_)
    segs = np.empty((3, N_LEVELS + 1), dtype=np.int64)
    n_seg = 0
    lo = 0
    while lo < n_cells:
        hi = lo
        while hi < n_cells and lv[hi] == lv[lo]:
            hi += 1
        cut = hi
        for c in range(lo, hi):
            if censored[c] > 0.0:
                cut = c
                break
        for c in range(cut, hi):
            needs[c] = True
        segs[0, n_seg] = lo
        segs[1, n_seg] = cut
        segs[2, n_seg] = hi
        n_seg += 1
        lo = hi
    segs = segs[:, :n_seg]
    points, point = _cell_points(zc)
    work = np.empty((9, max(n_cells, 1)))
    # the t density's normalising constant, less log(scale)
    t_const = -0.5 * math.log(2.0 * math.pi)
    if nu > 0.0:
        t_const = (
            math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(nu * math.pi)
        )
    k = 5 + 2 * N_LEVELS
    x = np.empty(k)
    x[:5] = start
    x[5 : 5 + N_LEVELS] = q0
    x[5 + N_LEVELS :] = q1
    if fixed_pi > 0.0:
        x[0] = fixed_pi
    x1 = np.empty(k)
    x2 = np.empty(k)
    x3 = np.empty(k)
    xp = np.empty(k)
    loglik = -np.inf
    steps = 0
    for _ in range(EM_ITERATIONS):
        ll = _em_step(
            zc, lv, observed, censored, nu, x, x1, w, fixed_pi, fixed_null, total, t_const,
            points, point, needs, segs, work,
        )  # fmt: skip
        steps += 1
        converged = abs(ll - loglik) < EM_TOLERANCE * max(abs(ll), 1.0)
        loglik = ll
        if converged or steps >= EM_ITERATIONS:
            break
        # SQUAREM (Varadhan & Roland, 2008, scheme S3) from x through x1 to x2
        ll1 = _em_step(
            zc, lv, observed, censored, nu, x1, x2, w, fixed_pi, fixed_null, total, t_const,
            points, point, needs, segs, work,
        )  # fmt: skip
        steps += 1
        rr = 0.0
        vv = 0.0
        for i in range(k):
            r = x1[i] - x[i]
            v = x2[i] - 2.0 * x1[i] + x[i]
            rr += r * r
            vv += v * v
        if vv <= 0.0 or not math.isfinite(ll1):
            x[:] = x2
            continue
        alpha = min(-math.sqrt(rr / vv), -1.0)
        for i in range(k):
            r = x1[i] - x[i]
            v = x2[i] - 2.0 * x1[i] + x[i]
            xp[i] = x[i] - 2.0 * alpha * r + alpha * alpha * v
        _constrain(xp, fixed_pi)
        llp = _em_step(
            zc, lv, observed, censored, nu, xp, x3, w, fixed_pi, fixed_null, total, t_const,
            points, point, needs, segs, work,
        )  # fmt: skip
        steps += 1
        if math.isfinite(llp) and llp >= ll1:
            x[:] = x3
        else:
            x[:] = x2
    start[:] = x1[:5]
    q0[:] = x1[5 : 5 + N_LEVELS]
    q1[:] = x1[5 + N_LEVELS :]
    return loglik


@numba.njit(**JIT)
def _em_step(
    zc: np.ndarray,
    lv: np.ndarray,
    observed: np.ndarray,
    censored: np.ndarray,
    nu: float,
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    fixed_pi: float,
    fixed_null: bool,
    total: float,
    t_const: float,
    points: np.ndarray,
    point: np.ndarray,
    needs: np.ndarray,
    segs: np.ndarray,
    work: np.ndarray,
) -> float:
    """One EM iteration of :func:`_em` from the packed parameters ``x`` (weight, null
    location and scale, drop location and scale, then the two item distributions of
    N_LEVELS each) to ``y``; the log-likelihood at ``x``. ``w`` receives the expected
    complete weights at ``x``; ``segs`` holds each level's first cell, first censored cell
    and end (3 x levels); ``work`` is scratch (4 rows of cells, 5 of points)."""
    n_cells = zc.shape[0]
    n_points = points.shape[0]
    floor = Z_STEP / 2.0
    gam, uu, dens, tail = work[0], work[1], work[2], work[3]
    g_k, hu_k = work[4, :n_points], work[5, :n_points]
    t0, t1, tu = work[6, :n_points], work[7, :n_points], work[8, :n_points]
    pi, m0, s0, m1, s1 = x[0], x[1], x[2], x[3], x[4]
    q0 = x[5 : 5 + N_LEVELS]
    q1 = x[5 + N_LEVELS : 5 + 2 * N_LEVELS]
    log_q0 = np.empty(N_LEVELS)
    log_q1 = np.empty(N_LEVELS)
    for j in range(N_LEVELS):
        log_q0[j] = math.log(q0[j])
        log_q1[j] = math.log(q1[j])
    # the terms of _log_t that do not depend on the cell, hoisted out of the loop
    c0 = math.log(1.0 - pi) + t_const - math.log(s0)
    c1 = math.log(pi) - 0.5 * math.log(2.0 * math.pi) - math.log(s1)
    ll = 0.0
    # the densities' cell terms, once per point (the cells of a bin share it)
    for k in range(n_points):
        d = (points[k] - m0) / s0
        if nu <= 0.0:
            t0[k] = 0.5 * d * d
            tu[k] = 1.0
        else:
            t0[k] = 0.5 * (nu + 1.0) * math.log1p(d * d / nu)
            tu[k] = (nu + 1.0) / (nu + d * d)
        e = (points[k] - m1) / s1
        t1[k] = 0.5 * e * e
    for c in range(n_cells):
        k = point[c]
        a = c0 - t0[k] + log_q0[lv[c]]
        uu[c] = tu[k]
        b = c1 - t1[k] + log_q1[lv[c]]
        # log-sum-exp, and the drop posterior exp(b - lse) from the same exponential
        top = max(a, b)
        ex = math.exp(min(a, b) - top)
        lse = top + math.log1p(ex)
        ll += observed[c] * lse
        if needs[c]:
            dens[c] = math.exp(lse)
        gam[c] = 1.0 / (1.0 + ex) if b >= a else ex / (1.0 + ex)
    ll += _impute_censored(segs[0], segs[1], segs[2], observed, censored, dens, tail, w)
    nq0 = y[5 : 5 + N_LEVELS]
    nq1 = y[5 + N_LEVELS : 5 + 2 * N_LEVELS]
    sg = 0.0
    sgz = 0.0
    s0w = 0.0
    s0wz = 0.0
    s0n = 0.0
    for j in range(N_LEVELS - 1):
        nq0[j] = 0.5
        nq1[j] = 0.5
    nq0[N_LEVELS - 1] = 1.0
    nq1[N_LEVELS - 1] = 1.0
    n0 = 0.5 * (N_LEVELS - 1)
    n1 = 0.5 * (N_LEVELS - 1)
    # the components' weights summed per point (the cells of a bin share its residual), so
    # that the moments below take passes over the points, not over the cells
    g_k[:] = 0.0
    hu_k[:] = 0.0
    for c in range(n_cells):
        g = w[c] * gam[c]
        h = w[c] * (1.0 - gam[c])
        k = point[c]
        g_k[k] += g
        hu_k[k] += h * uu[c]
        s0n += h
        j = lv[c]
        if j < N_LEVELS - 1:
            nq0[j] += h
            nq1[j] += g
            n0 += h
            n1 += g
    for k in range(n_points):
        sg += g_k[k]
        sgz += g_k[k] * points[k]
        s0w += hu_k[k]
        s0wz += hu_k[k] * points[k]
    pi = min(max(sg / total, 1e-4), MAX_WEIGHT) if fixed_pi <= 0.0 else fixed_pi
    m1 = sgz / sg if sg > 0.0 else m1
    m0 = s0wz / s0w if s0w > 0.0 else m0
    v1 = 0.0
    v0 = 0.0
    for k in range(n_points):
        d1 = points[k] - m1
        d0 = points[k] - m0
        v1 += g_k[k] * d1 * d1
        v0 += hu_k[k] * d0 * d0
    s0 = max(math.sqrt(v0 / s0n) if s0n > 0.0 else s0, floor)
    s1 = math.sqrt(v1 / sg) if sg > 0.0 else s1
    if not fixed_null and sg > 0.0 and s0w > 0.0 and (s1 < s0 or m1 > m0 - s0):
        m0, s0, m1, s1 = _bounded_m_step(points, g_k, hu_k, sg, s0w, s0n, m0, s0, m1, s1, v0, v1)
    for j in range(N_LEVELS - 1):
        nq0[j] /= n0
        nq1[j] /= n1
    y[0], y[1], y[2], y[3], y[4] = pi, m0, s0, m1, s1
    if fixed_null:
        # the null is given (location, scale and item distribution): only the weight
        # and the drop component are fitted
        y[1], y[2] = x[1], x[2]
        for j in range(N_LEVELS):
            nq0[j] = q0[j]
    _constrain(y, fixed_pi)
    return ll


@numba.njit(**JIT)
def _bounded_m_step(
    points: np.ndarray,
    g_k: np.ndarray,
    hu_k: np.ndarray,
    sg: float,
    shu: float,
    sh: float,
    m0: float,
    s0: float,
    m1: float,
    s1: float,
    v0: float,
    v1: float,
) -> tuple[float, float, float, float]:
    """The M-step of the components' locations and scales where the drop component's
    unconstrained one leaves its bounds (narrower than the null, or less than one null
    scale below it): the maximum of the expected complete log-likelihood on the bound it
    meets, the null's and the drop's terms together, not each component's own maximum
    moved onto the bound afterwards. Moved afterwards, the drop's location and scale
    follow the null's without the null's answering them, and EM stops short of the
    likelihood's maximum: on a random walk with frequent shallow ruptures (the drop
    component one null SD below the null and as wide, both bounds) EM from every start
    ended at a drop weight of 0.06, 5.7 log-likelihood units below the fit at 0.3 that the
    same bounds allow.

    ``g_k``/``hu_k``: per point the drop's weight and the null's weight times its t
    weight; ``sg``, ``shu``, ``sh`` their sums and the null's plain weight; ``m0``,
    ``s0``, ``m1``, ``s1`` the unconstrained estimates and ``v0``/``v1`` the components'
    weighted squared deviations about them. Returns the null's location and scale and the
    drop's location and scale. Where the drop would be narrower than the null, the two
    scales are one (pooled, the locations their own means); where the drop would then be,
    or was already, less than one null scale below the null, its location is the null's
    less that scale, and the null's location and scale and the drop's scale are found by
    conditional maximisation (ECM, Meng & Rubin, 1993), each in closed form but the null's
    scale beside a wider drop (a few Newton steps)."""
    n = sh + sg
    floor = Z_STEP / 2.0
    n_points = points.shape[0]
    tied = s1 < s0
    if tied:
        # the drop as wide as the null: the scales pooled, the locations their own means
        s0 = max(math.sqrt((v0 + v1) / n), floor)
        s1 = s0
        if m1 <= m0 - s0:
            return m0, s0, m1, s1
    # the drop one null scale below the null: m1 = m0 - s0
    widest = math.sqrt(1.0 + 1.0 / (DEPTH_Z * DEPTH_Z))  # the depths' bound, in null scales
    for _ in range(BOUND_ITERATIONS):
        m0_old, s0_old, s1_old = m0, s0, s1
        a0 = 1.0 / (s0 * s0)
        a1 = 1.0 / (s1 * s1)
        num = 0.0
        for k in range(n_points):
            num += hu_k[k] * points[k] * a0 + g_k[k] * (points[k] + s0) * a1
        m0 = num / (shu * a0 + sg * a1)
        a = 0.0
        a_null = 0.0
        b = 0.0
        for k in range(n_points):
            d = points[k] - m0
            a_null += hu_k[k] * d * d
            a += (hu_k[k] + g_k[k]) * d * d
            b += g_k[k] * d
        if tied:
            # one scale: the stationary point of -n log s - (a + 2 b s + sg s^2) / (2 s^2)
            s0 = max((b + math.sqrt(b * b + 4.0 * n * a)) / (2.0 * n), floor)
            s1 = s0
        else:
            # the null's scale beside the drop's: Newton on the score of
            # -sh log s0 - a_null / (2 s0^2) - (sum g (z - m0 + s0)^2) / (2 s1^2)
            for _ in range(4):
                f = -sh / s0 + a_null / (s0 * s0 * s0) - (b + sg * s0) / (s1 * s1)
                df = sh / (s0 * s0) - 3.0 * a_null / (s0 * s0 * s0 * s0) - sg / (s1 * s1)
                if df >= 0.0:
                    break
                s0 = max(s0 - f / df, floor)
            # the drop's scale: its own maximum, between the null's and the depths' bound
            v = 0.0
            for k in range(n_points):
                d = points[k] - (m0 - s0)
                v += g_k[k] * d * d
            s1 = min(max(math.sqrt(v / sg), s0), widest * s0)
            tied = s1 <= s0
        if abs(m0 - m0_old) < 1e-13 and abs(s0 - s0_old) < 1e-13 and abs(s1 - s1_old) < 1e-13:
            break
    return m0, s0, m0 - s0, s1


@numba.njit(**JIT)
def _constrain(x: np.ndarray, fixed_pi: float) -> None:
    """The bounds of the mixture's parameters (in place on packed parameters, see
    :func:`_em_step`): the weight in [1e-4, 0.5] (or ``fixed_pi``), the null's scale at
    least half a bin; the drop component never narrower than the null (a rupture's
    residual is its depth plus the same noise), below the null by at least its scale (a
    rupture is a fall of the alliance), and its depths (its spread beyond the null's noise)
    falls: a component whose depths spread across zero is the null's own skew, not
    ruptures; each item distribution positive and summing to 1."""
    x[0] = min(max(x[0], 1e-4), MAX_WEIGHT) if fixed_pi <= 0.0 else fixed_pi
    x[2] = max(x[2], Z_STEP / 2.0)
    m0, s0 = x[1], x[2]
    if x[3] > m0 - s0:
        x[3] = m0 - s0
    spread = (m0 - x[3]) / DEPTH_Z
    x[4] = min(max(x[4], s0), math.sqrt(s0 * s0 + spread * spread))
    for base in (5, 5 + N_LEVELS):
        total = 0.0
        for j in range(N_LEVELS - 1):
            x[base + j] = max(x[base + j], 1e-12)
            total += x[base + j]
        for j in range(N_LEVELS - 1):
            x[base + j] /= total
        x[base + N_LEVELS - 1] = 1.0


@numba.njit(**JIT)
def _impute_censored(
    seg_lo: np.ndarray,
    seg_cut: np.ndarray,
    seg_hi: np.ndarray,
    observed: np.ndarray,
    censored: np.ndarray,
    dens: np.ndarray,
    tail: np.ndarray,
    w: np.ndarray,
) -> float:
    """The E-step of the censored cells (see :func:`_em`): ``w`` = observed + the censored
    weights spread upwards by density; returns the censored cells' log-likelihood (log of
    the probability at and above each, on the grid). Each level's cells are
    ``seg_lo[i]:seg_hi[i]``, its first censored cell ``seg_cut[i]`` (below it nothing is
    spread, and ``dens`` is not read)."""
    ll = 0.0
    for i in range(seg_lo.shape[0]):
        lo, cut, hi = seg_lo[i], seg_cut[i], seg_hi[i]
        for c in range(lo, cut):
            w[c] = observed[c]
        running = 0.0
        for c in range(hi - 1, cut - 1, -1):
            running += dens[c]
            tail[c] = running
        share = 0.0
        for c in range(cut, hi):
            if censored[c] > 0.0 and tail[c] > 0.0:
                share += censored[c] / tail[c]
                ll += censored[c] * math.log(tail[c] * Z_STEP)
            w[c] = observed[c] + share * dens[c]
    return ll


@numba.njit(**JIT)
def fit_mixtures(
    hist: np.ndarray,
    censored: np.ndarray,
    nus: np.ndarray,
    min_residuals: float,
    alpha: float,
    out: np.ndarray,
) -> None:
    """Per session number, the mixture fitted on the histograms (observed residuals and
    right-censored ones, session number x bin x item level) of the session numbers up to
    it, the drop component's bootstrap test at level ``alpha``; written to ``out`` (see
    :func:`bordin.feedback._adaptive.fit_adaptive`)."""
    top = hist.shape[0]
    n_levels = N_LEVELS
    cum = np.zeros((N_BINS, n_levels))
    cum_c = np.zeros((N_BINS, n_levels))
    centres = np.empty(N_BINS)
    for b in range(N_BINS):
        centres[b] = -Z_LIMIT + (b + 0.5) * Z_STEP
    fitted_n = 0.0
    started_n = 0.0
    have = False
    best = np.array([0.05, 0.0, 1.0, -3.0, 1.0])
    best_q0 = np.ones(n_levels)
    best_q1 = np.ones(n_levels)
    best_nu = 0.0
    # each null shape's own last fit, where a refit of that shape starts: started from
    # the fit of the shape chosen last time, EM for another shape wandered (on a clinic
    # without ruptures, a t10 null started from a normal null's empty drop component
    # climbed to the null split in two, 47% of the residuals in the drop component, and
    # passed AIC: 1,123 sessions flagged at two session numbers)
    shape_p = np.empty((nus.shape[0], 5))
    shape_q0 = np.ones((nus.shape[0], n_levels))
    shape_q1 = np.ones((nus.shape[0], n_levels))
    shown = best.copy()
    shown_q0 = best_q0.copy()
    thr = NAN
    present = False
    here = np.zeros((N_BINS, n_levels))
    here_c = np.zeros((2, N_BINS, n_levels))
    # the pooled fit's null alone, which a session number's own residuals are judged beside
    null_p = best.copy()
    null_q0 = best_q0.copy()
    null_nu = 0.0
    for s in range(top):
        n = 0.0
        for b in range(N_BINS):
            for j in range(n_levels):
                cum[b, j] += hist[s, b, j]
                cum_c[b, j] += censored[s, b, j]
                n += cum[b, j] + cum_c[b, j]
        if n >= min_residuals and (not have or n >= REFIT_GROWTH * fitted_n):
            zc, lv, wo, wc = _cells(cum, cum_c, centres)
            w = np.empty(zc.shape[0])
            # per null df the start with the highest likelihood; across df the fit whose
            # null best describes the cells above its centre (which ruptures do not reach)
            fixed = not have or n >= RESTART_GROWTH * started_n
            cand_ll, cand, cand_q0, cand_q1, cand_nu = _fit_shapes(
                zc, lv, wo, wc, nus, w, best, best_q0, best_q1, best_nu, fixed, have,
                shape_p, shape_q0, shape_q1,
            )  # fmt: skip
            if fixed:
                started_n = n
            best[:] = cand
            best_q0[:] = cand_q0
            best_q1[:] = cand_q1
            best_nu = cand_nu
            have = True
            fitted_n = n
            # is there a drop component at all? The null alone (the same null shape, its
            # location, scale and item distribution refitted) against the mixture by AIC
            # (Akaike, 1974): the drop component's weight, location and scale, and its
            # item distribution when items were asked, must pay one log-likelihood unit
            # each; otherwise the drop weight is NULL_ONLY and nothing is flagged
            # (threshold 1). Without it, where there were no ruptures (the early session
            # numbers of a generator whose ruptures start later, a calm clinic) EM split
            # the null in two and flagged a share of chance drops.
            # The null alone may also take a lighter-tailed shape than the mixture's (its
            # best by likelihood): a heavier-tailed null with a drop component beside it
            # can pass for a lighter-tailed null split in two (the drop filling the
            # shoulders the heavier null leaves empty), and tested against a null of the
            # mixture's shape only, that split passed for ruptures on a session number
            # that had none. A heavier-tailed null alone is not offered: its tail would
            # take the ruptures themselves.
            ll0, null_p, null_q0, null_nu = _null_alone(
                zc, lv, wo, wc, nus, w, best, best_nu, best_q0, best_q1
            )
            # a drop component at its weight's bound under every null shape is the null
            # split in two (see _fit_shapes), not ruptures, which are a minority of
            # sessions (MAX_WEIGHT): no drop component, whatever its likelihood
            present = best[0] < MAX_WEIGHT and _present(
                zc, lv, wo, wc, n, cand_ll, ll0, null_p, null_nu, null_q0, nus, s, alpha
            )
            if present:
                shown[:] = best
                shown_q0[:] = best_q0
                thr = _best_threshold(zc, lv, wo, best, best_nu, best_q0, best_q1)
            else:
                shown[:] = null_p
                shown[0] = NULL_ONLY
                shown_q0[:] = null_q0
                thr = 1.0
        out[0, s] = n
        own = False
        if have and not present:
            # the pooled residuals dilute a session number's ruptures with those of the
            # session numbers before it, which may have had none (none can start at a
            # client's first rated session, few at the next): where the pooled test keeps
            # the null alone, the session number's own residuals are tested as well
            own, own_p, own_q0, own_q1, own_nu, own_thr = _own_fit(
                hist,
                censored,
                s,
                min_residuals,
                here_c,
                centres,
                null_p,
                null_nu,
                null_q0,
                OWN_SHARE * alpha,
            )
        if own:
            _store(out, s, own_p[0], own_p, own_nu, own_thr, own_q0, own_q1)
        elif have:
            weight = shown[0]
            thr_s = thr
            if present:
                # the share of ruptures differs between session numbers (none can start at
                # a client's first rated session, and the pooled residuals of the earlier
                # session numbers dilute a later one): the session number's own weight,
                # the components kept from the pooled fit, and its own expected-F1
                # threshold (Efron, 2008: the separate-class model)
                weight, thr_s = _session_weight(
                    hist,
                    censored,
                    s,
                    min_residuals,
                    here,
                    centres,
                    best,
                    best_nu,
                    best_q0,
                    best_q1,
                )
            _store(out, s, weight, shown, best_nu, thr_s, shown_q0, best_q1)


@numba.njit(**JIT)
def _store(
    out: np.ndarray,
    s: int,
    weight: float,
    p: np.ndarray,
    nu: float,
    threshold: float,
    q0: np.ndarray,
    q1: np.ndarray,
) -> None:
    """Column ``s`` of :func:`fit_mixtures`' output: the drop weight, the components of
    ``p`` (null location and scale, drop location and scale), the null's shape, the
    threshold and the two item distributions."""
    out[1, s] = weight
    out[2, s] = p[1]
    out[3, s] = p[2]
    out[4, s] = nu
    out[5, s] = p[3]
    out[6, s] = p[4]
    out[7, s] = threshold
    for j in range(N_LEVELS - 1):
        out[8 + j, s] = q0[j]
        out[8 + N_LEVELS - 1 + j, s] = q1[j]


@numba.njit(**JIT)
def _cells(
    seen: np.ndarray, censored: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cells of a histogram (bin x item level) of observed and right-censored
    residuals, ordered by level, then bin: every bin with residuals, and every bin at or
    above a censored residual of the level (where its weight may lie); their residual,
    level, observed and censored weight."""
    n_levels = N_LEVELS
    lowest = np.empty(n_levels, dtype=np.int64)
    m = 0
    for j in range(n_levels):
        lowest[j] = N_BINS
        for b in range(N_BINS):
            if censored[b, j] > 0.0:
                lowest[j] = b
                break
        for b in range(N_BINS):
            if seen[b, j] > 0.0 or b >= lowest[j]:
                m += 1
    zc = np.empty(m)
    lv = np.empty(m, dtype=np.int64)
    wo = np.empty(m)
    wc = np.empty(m)
    m = 0
    for j in range(n_levels):
        for b in range(N_BINS):
            if seen[b, j] > 0.0 or b >= lowest[j]:
                zc[m] = centres[b]
                lv[m] = j
                wo[m] = seen[b, j]
                wc[m] = censored[b, j]
                m += 1
    return zc, lv, wo, wc


@numba.njit(**JIT)
def _present(
    zc: np.ndarray,
    lv: np.ndarray,
    wo: np.ndarray,
    wc: np.ndarray,
    n: float,
    ll1: float,
    ll0: float,
    null_p: np.ndarray,
    null_nu: float,
    null_q0: np.ndarray,
    nus: np.ndarray,
    seed: int,
    alpha: float,
) -> bool:
    """Whether the drop component is there: the mixture (log-likelihood ``ll1``) against
    the null alone (``ll0``) by AIC (Akaike, 1974; the drop component's weight, location
    and scale, and its item distribution when items were asked, must pay one
    log-likelihood unit each) and, where AIC keeps the null, by a parametric bootstrap of
    the likelihood-ratio statistic under the fitted null alone at level ``alpha`` (AIC is a
    poor test of a mixture component: the likelihood ratio is not chi-squared). With no
    null shapes ``nus`` the null is held at ``null_p`` (:func:`_own_fit`), in the
    bootstrap's fits as well."""
    asked = 0.0
    for c in range(zc.shape[0]):
        if lv[c] < N_LEVELS - 1:
            asked += wo[c] + wc[c]
    extra = 3.0 + (N_LEVELS - 2.0 if asked > 0.0 else 0.0)
    stat = 2.0 * (ll1 - ll0)
    if stat > 2.0 * extra:
        return True
    if stat <= 0.0:
        return False
    return _bootstrap_p(stat, n, asked, null_p, null_nu, null_q0, nus, seed, alpha) <= alpha


@numba.njit(**JIT)
def _own_fit(
    hist: np.ndarray,
    censored: np.ndarray,
    s: int,
    min_residuals: float,
    here: np.ndarray,
    centres: np.ndarray,
    null_p: np.ndarray,
    null_nu: float,
    null_q0: np.ndarray,
    alpha: float,
) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, float, float]:
    """The drop component fitted on session number ``s``'s own residuals (pooled back over
    the session numbers before it until ``min_residuals``) beside the clinic's null, the
    null alone fitted on the pooled residuals (``null_p``, ``null_nu``, ``null_q0``): the
    residuals are scaled per session number, so chance movement is the same at every
    session number, and only the share and depth of ruptures differ. Whether the drop
    component is there (:func:`_present` with the null held, the bootstrap at ``alpha``:
    :data:`OWN_SHARE` of the pooled test's level); its parameters, item distributions,
    null shape and expected-F1 threshold. With the null free, a session number's own
    residuals (a few thousand) were split in two on a clinic without ruptures (a null at
    +0.34 SDs beside a drop component at -0.89 holding 28% of the residuals)."""
    here[:, :, :] = 0.0
    got = 0.0
    for k in range(s, -1, -1):
        for b in range(N_BINS):
            for j in range(N_LEVELS):
                here[0, b, j] += hist[k, b, j]
                here[1, b, j] += censored[k, b, j]
                got += hist[k, b, j] + censored[k, b, j]
        if got >= min_residuals:
            break
    uniform = np.ones(N_LEVELS)
    for j in range(N_LEVELS - 1):
        uniform[j] = 1.0 / (N_LEVELS - 1)
    if got < min_residuals:
        return False, null_p.copy(), null_q0.copy(), uniform, null_nu, 1.0
    zc, lv, wo, wc = _cells(here[0], here[1], centres)
    w = np.empty(zc.shape[0])
    ll1, p, q1 = _fit_drop(zc, lv, wo, wc, null_p, null_nu, null_q0, w)
    ll0 = _null_loglik(zc, lv, wo, wc, null_p, null_nu, null_q0, w)
    if not _present(
        zc, lv, wo, wc, got, ll1, ll0, null_p, null_nu, null_q0, NU_NONE, OWN_SEED + s, alpha
    ):
        return False, p, null_q0.copy(), q1, null_nu, 1.0
    return (
        True,
        p,
        null_q0.copy(),
        q1,
        null_nu,
        _best_threshold(zc, lv, wo, p, null_nu, null_q0, q1),
    )


@numba.njit(**JIT)
def _fit_drop(
    zc: np.ndarray,
    lv: np.ndarray,
    wo: np.ndarray,
    wc: np.ndarray,
    null_p: np.ndarray,
    null_nu: float,
    null_q0: np.ndarray,
    w: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """The drop component (weight, location, scale, item distribution) fitted beside the
    null held at ``null_p``/``null_nu``/``null_q0``, from the fixed starts (drop locations
    :data:`STARTS` null scales below the null); the best log-likelihood, its parameters
    and drop item distribution."""
    best_ll = -np.inf
    best = null_p.copy()
    best_q1 = null_q0.copy()
    for which in range(len(STARTS)):
        start = null_p.copy()
        start[0] = 0.05
        start[3] = null_p[1] + STARTS[which] * null_p[2]
        start[4] = null_p[2]
        q0 = null_q0.copy()
        q1 = np.ones(N_LEVELS)
        for j in range(N_LEVELS - 1):
            q1[j] = 1.0 / (N_LEVELS - 1)
        ll = _em(zc, lv, wo, wc, null_nu, start, q0, q1, w, 0.0, True)
        if ll > best_ll:
            best_ll = ll
            best[:] = start
            best_q1[:] = q1
    return best_ll, best, best_q1


@numba.njit(**JIT)
def _null_loglik(
    zc: np.ndarray,
    lv: np.ndarray,
    wo: np.ndarray,
    wc: np.ndarray,
    null_p: np.ndarray,
    null_nu: float,
    null_q0: np.ndarray,
    w: np.ndarray,
) -> float:
    """The log-likelihood of the cells under the null alone held at ``null_p``/``null_nu``/
    ``null_q0``."""
    p = null_p.copy()
    q0 = null_q0.copy()
    q1 = null_q0.copy()
    return _em(zc, lv, wo, wc, null_nu, p, q0, q1, w, NULL_ONLY, True)


@numba.njit(**JIT)
def _session_weight(
    hist: np.ndarray,
    censored: np.ndarray,
    s: int,
    min_residuals: float,
    here: np.ndarray,
    centres: np.ndarray,
    p: np.ndarray,
    nu: float,
    q0: np.ndarray,
    q1: np.ndarray,
) -> tuple[float, float]:
    """The drop weight of session number ``s`` and its expected-F1 threshold, the
    components ``p``/``nu``/``q0``/``q1`` fixed at the pooled fit: the weight maximises the
    likelihood of the residuals of ``s`` (pooled back over the session numbers before it
    until ``min_residuals``; a residual at the scale maximum counted at its value) and
    replaces the pooled weight ``p[0]`` only where the likelihood-ratio statistic of the
    two exceeds :data:`WEIGHT_TEST`."""
    n_levels = N_LEVELS
    here[:, :] = 0.0
    got = 0.0
    for k in range(s, -1, -1):
        for b in range(N_BINS):
            for j in range(n_levels):
                here[b, j] += hist[k, b, j] + censored[k, b, j]
                got += hist[k, b, j] + censored[k, b, j]
        if got >= min_residuals:
            break
    m = 0
    for j in range(n_levels):
        for b in range(N_BINS):
            if here[b, j] > 0.0:
                m += 1
    zc = np.empty(m)
    lv = np.empty(m, dtype=np.int64)
    w = np.empty(m)
    ratio = np.empty(m)  # drop density / null density, items included
    f0 = _log_t_fixed(p[2], nu)
    f1 = _log_t_fixed(p[4], 0.0)
    m = 0
    for j in range(n_levels):
        for b in range(N_BINS):
            if here[b, j] > 0.0:
                zc[m] = centres[b]
                lv[m] = j
                w[m] = here[b, j]
                a = _log_t_at(centres[b], p[3], p[4], 0.0, f1) - _log_t_at(
                    centres[b], p[1], p[2], nu, f0
                )
                if j < n_levels - 1:
                    a += math.log(q1[j]) - math.log(q0[j])
                ratio[m] = math.exp(min(a, 700.0))
                m += 1
    pi = p[0]
    for _ in range(EM_ITERATIONS):
        g = 0.0
        for c in range(m):
            g += w[c] * pi * ratio[c] / (pi * ratio[c] + 1.0 - pi)
        new = min(max(g / got, 1e-4), 0.5)
        if abs(new - pi) < EM_TOLERANCE:
            pi = new
            break
        pi = new
    stat = 0.0
    for c in range(m):
        stat += w[c] * (math.log(pi * ratio[c] + 1.0 - pi) - math.log(p[0] * ratio[c] + 1.0 - p[0]))
    if 2.0 * stat < WEIGHT_TEST:
        pi = p[0]
    own = p.copy()
    own[0] = pi
    return pi, _best_threshold(zc, lv, w, own, nu, q0, q1)


@numba.njit(**JIT)
def _fit_shapes(
    zc: np.ndarray,
    lv: np.ndarray,
    wo: np.ndarray,
    wc: np.ndarray,
    nus: np.ndarray,
    w: np.ndarray,
    last: np.ndarray,
    last_q0: np.ndarray,
    last_q1: np.ndarray,
    last_nu: float,
    fixed: bool,
    refit: bool,
    shape_p: np.ndarray,
    shape_q0: np.ndarray,
    shape_q1: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, float]:
    """The mixture fitted for every null shape ``nus`` (per shape the start with the
    highest likelihood: the fixed starts when ``fixed``, and when ``refit`` that shape's
    own last fit, row ``i`` of ``shape_p``/``shape_q0``/``shape_q1``, which then receive
    each shape's fit), and across shapes the fit whose null best describes the cells above
    its centre (which ruptures do not reach); its log-likelihood, parameters, item
    distributions and shape (``last`` and its shape ``last_nu`` where no fit describes
    them)."""
    n_levels = N_LEVELS
    best_upper = -np.inf
    best_split = True
    order = np.argsort(zc)
    nu_w = np.empty(zc.shape[0])
    cand_ll = -np.inf
    cand = last.copy()
    cand_q0 = last_q0.copy()
    cand_q1 = last_q1.copy()
    cand_nu = last_nu
    for i in range(nus.shape[0]):
        nu = nus[i]
        nu_ll = -np.inf
        nu_w[:] = wo
        nu_p = last.copy()
        nu_q0 = last_q0.copy()
        nu_q1 = last_q1.copy()
        for which in range(len(STARTS) + 1):
            start = np.empty(5)
            q0 = np.ones(n_levels)
            q1 = np.ones(n_levels)
            if which == len(STARTS):
                if not refit:
                    continue
                start[:] = shape_p[i]
                q0[:] = shape_q0[i]
                q1[:] = shape_q1[i]
            else:
                if not fixed:
                    continue
                start[0] = 0.05
                start[1] = 0.0
                start[2] = 1.0
                start[3] = STARTS[which]
                start[4] = 1.0
                for j in range(n_levels - 1):
                    q0[j] = 1.0 / (n_levels - 1)
                    q1[j] = 1.0 / (n_levels - 1)
            ll = _em(zc, lv, wo, wc, nu, start, q0, q1, w)
            if ll > nu_ll:
                nu_ll = ll
                nu_w[:] = w
                nu_p = start.copy()
                nu_q0 = q0.copy()
                nu_q1 = q1.copy()
        shape_p[i] = nu_p
        shape_q0[i] = nu_q0
        shape_q1[i] = nu_q1
        upper = upper_loglik(zc, order, nu_w, nu_p[1], nu_p[2], nu)
        # a drop component at the weight's bound, as many sessions as the null, is the
        # null split in two (its upper half then passes for a null's): such a fit is
        # taken only where every shape's is one
        split = nu_p[0] >= MAX_WEIGHT
        if (best_split and not split) or (split == best_split and upper > best_upper):
            best_split = split
            best_upper = upper
            cand_ll = nu_ll
            cand = nu_p
            cand_q0 = nu_q0
            cand_q1 = nu_q1
            cand_nu = nu
    return cand_ll, cand, cand_q0, cand_q1, cand_nu


@numba.njit(**JIT)
def _null_alone(
    zc: np.ndarray,
    lv: np.ndarray,
    wo: np.ndarray,
    wc: np.ndarray,
    nus: np.ndarray,
    w: np.ndarray,
    p: np.ndarray,
    nu_p: float,
    q0: np.ndarray,
    q1: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray, float]:
    """The null alone refitted from the mixture ``p`` (shape ``nu_p``): of that shape or a
    lighter-tailed one, the best by likelihood (see :func:`fit_mixtures`); its
    log-likelihood, parameters, item distribution and shape."""
    ll0 = -np.inf
    null_p = p.copy()
    null_q0 = q0.copy()
    null_nu = nu_p
    for i in range(nus.shape[0]):
        nu = nus[i]
        lighter = nu <= 0.0 or (nu_p > 0.0 and nu > nu_p)
        if not lighter and nu != nu_p:
            continue
        try_p = p.copy()
        try_q0 = q0.copy()
        try_q1 = q1.copy()
        ll_i = _em(zc, lv, wo, wc, nu, try_p, try_q0, try_q1, w, NULL_ONLY)
        if ll_i > ll0:
            ll0 = ll_i
            null_p[:] = try_p
            null_q0[:] = try_q0
            null_nu = nu
    return ll0, null_p, null_q0, null_nu


@numba.njit(**JIT)
def _statistic(
    zc: np.ndarray, lv: np.ndarray, wo: np.ndarray, wc: np.ndarray, nus: np.ndarray
) -> float:
    """The likelihood-ratio statistic of the drop component, fitted as in
    :func:`fit_mixtures` from the fixed starts: the mixture (its null shape chosen on the
    upper half) against the null alone of that shape or a lighter one."""
    w = np.empty(zc.shape[0])
    start = np.array([0.05, 0.0, 1.0, STARTS[0], 1.0])
    uniform = np.ones(N_LEVELS)
    for j in range(N_LEVELS - 1):
        uniform[j] = 1.0 / (N_LEVELS - 1)
    n_nus = nus.shape[0]
    cand_ll, cand, cand_q0, cand_q1, cand_nu = _fit_shapes(
        zc, lv, wo, wc, nus, w, start, uniform, uniform, 0.0, True, False,
        np.empty((n_nus, 5)), np.ones((n_nus, N_LEVELS)), np.ones((n_nus, N_LEVELS)),
    )  # fmt: skip
    ll0 = _null_alone(zc, lv, wo, wc, nus, w, cand, cand_nu, cand_q0, cand_q1)[0]
    return 2.0 * (cand_ll - ll0)


@numba.njit(**JIT)
def _multinomial(n: int, p: np.ndarray) -> np.ndarray:
    """A multinomial draw of ``n`` over ``p`` by conditional binomials (the conditional
    probabilities clipped to [0, 1] against rounding)."""
    out = np.zeros(p.shape[0], dtype=np.int64)
    left = n
    rest = 0.0
    for i in range(p.shape[0]):
        rest += p[i]
    for i in range(p.shape[0] - 1):
        if left <= 0 or rest <= 0.0:
            break
        q = min(max(p[i] / rest, 0.0), 1.0)
        k = np.random.binomial(left, q)
        out[i] = k
        left -= k
        rest -= p[i]
    out[p.shape[0] - 1] += max(left, 0)
    return out


@numba.njit(**JIT)
def _null_sample(
    n_int: int,
    level_p: np.ndarray,
    probs: np.ndarray,
    centres: np.ndarray,
    uncensored: np.ndarray,
    null_p: np.ndarray,
    null_nu: float,
    null_q0: np.ndarray,
    nus: np.ndarray,
) -> float:
    """The drop component's likelihood-ratio statistic on one sample of ``n_int``
    residuals drawn from the null (bins ``probs``, item levels ``level_p``; ``uncensored``
    an all-zero bin x level array, the sample's censored residuals), fitted as on the
    clinic's: with null shapes ``nus``, as :func:`_statistic`; without, the null held (a
    session number's own residuals beside the clinic's null, :func:`_own_fit`)."""
    n_levels = N_LEVELS
    per_level = _multinomial(n_int, level_p)
    counts = np.zeros((N_BINS, n_levels))
    for j in range(n_levels):
        if per_level[j] > 0:
            counts[:, j] = _multinomial(per_level[j], probs)
    zc, lv, wo, wc = _cells(counts, uncensored, centres)
    if nus.shape[0] == 0:
        w = np.empty(zc.shape[0])
        ll1 = _fit_drop(zc, lv, wo, wc, null_p, null_nu, null_q0, w)[0]
        return 2.0 * (ll1 - _null_loglik(zc, lv, wo, wc, null_p, null_nu, null_q0, w))
    return _statistic(zc, lv, wo, wc, nus)


@numba.njit(**JIT)
def _bootstrap_p(
    stat: float,
    n: float,
    asked: float,
    null_p: np.ndarray,
    null_nu: float,
    null_q0: np.ndarray,
    nus: np.ndarray,
    seed: int,
    alpha: float,
) -> float:
    """Monte Carlo p-value of the drop component's likelihood-ratio statistic ``stat``
    under the fitted null alone (McLachlan, 1987): samples of ``n`` residuals (rounded to
    the histogram's bins; ``asked`` of them with items, drawn from the null's item
    distribution) from the null, the statistic of each (:func:`_null_sample`), at most
    BOOT_SAMPLES of them, stopping once so many reach ``stat`` that the p-value must exceed
    ``alpha`` (Besag & Clifford, 1991; the p-value returned then is its least possible
    value, above ``alpha``). The same decisions as drawing all of them; stopping at five
    exceedances at every level drew samples (and the statistic's fits on each) until five
    had reached ``stat`` where the first already decides (the level shared among four
    scales, 1.25%)."""
    np.random.seed(seed)
    n_levels = N_LEVELS
    probs = np.empty(N_BINS)
    centres = np.empty(N_BINS)
    total = 0.0
    fixed = _log_t_fixed(null_p[2], null_nu)
    for b in range(N_BINS):
        centres[b] = -Z_LIMIT + (b + 0.5) * Z_STEP
        probs[b] = math.exp(_log_t_at(centres[b], null_p[1], null_p[2], null_nu, fixed))
        total += probs[b]
    probs /= total
    level_p = np.zeros(n_levels)
    share = asked / n if n > 0.0 else 0.0
    for j in range(n_levels - 1):
        level_p[j] = share * null_q0[j]
    level_p[n_levels - 1] = 1.0 - share
    s_lv = 0.0
    for j in range(n_levels):
        level_p[j] = max(level_p[j], 0.0)
        s_lv += level_p[j]
    level_p /= s_lv
    n_int = int(round(n))
    exceed = 0
    uncensored = np.zeros((N_BINS, n_levels))
    for _ in range(BOOT_SAMPLES):
        sample = _null_sample(
            n_int, level_p, probs, centres, uncensored, null_p, null_nu, null_q0, nus
        )
        if sample >= stat:
            exceed += 1
            least = (exceed + 1.0) / (BOOT_SAMPLES + 1.0)
            if least > alpha:
                return least
    return (exceed + 1.0) / (BOOT_SAMPLES + 1.0)


@numba.njit(**JIT)
def upper_loglik(
    zc: np.ndarray, order: np.ndarray, w: np.ndarray, m0: float, s0: float, nu: float
) -> float:
    """Log-likelihood, under the null alone truncated to the cells above the median, of
    those cells: the upper half of the residuals, which ruptures (falls of the alliance)
    do not reach, so that the null's tail is judged where it is uncontaminated. ``order``
    is ``numpy.argsort(zc)`` (the same for every null shape tried on the cells)."""
    total = 0.0
    for c in range(zc.shape[0]):
        total += w[c]
    below = 0.0
    cut = zc[order[zc.shape[0] - 1]]
    for i in range(zc.shape[0]):
        below += w[order[i]]
        if below >= 0.5 * total:
            cut = zc[order[i]]
            break
    fixed = _log_t_fixed(s0, nu)
    mass = 0.0
    for b in range(N_BINS):
        z = -Z_LIMIT + (b + 0.5) * Z_STEP
        if z > cut:
            mass += math.exp(_log_t_at(z, m0, s0, nu, fixed)) * Z_STEP
    if mass <= 0.0:
        return -np.inf
    log_mass = math.log(mass)
    ll = 0.0
    for c in range(zc.shape[0]):
        if zc[c] > cut:
            ll += w[c] * (_log_t_at(zc[c], m0, s0, nu, fixed) - log_mass)
    return ll


@numba.njit(**JIT)
def _envelope(p: np.ndarray, nu: float, q0: np.ndarray, q1: np.ndarray, env: np.ndarray) -> None:
    """Per item level (row of ``env``), the posterior of the drop component at each bin
    centre, made non-increasing in z below the null's centre (the running maximum of the
    likelihood ratio from there down). The log-likelihood ratio, log of (drop density x
    weight) / (null density x (1 - weight)) with the items' ratio added, is computed per
    bin once for all levels."""
    pi, m0, s0, m1, s1 = p[0], p[1], p[2], p[3], p[4]
    f0 = _log_t_fixed(s0, nu)
    f1 = _log_t_fixed(s1, 0.0)
    odds = math.log(pi) - math.log(1.0 - pi)
    base = np.empty(N_BINS)
    for b in range(N_BINS):
        z = -Z_LIMIT + (b + 0.5) * Z_STEP
        base[b] = odds + _log_t_at(z, m1, s1, 0.0, f1) - _log_t_at(z, m0, s0, nu, f0)
    for level in range(N_LEVELS):
        items = level < N_LEVELS - 1
        extra = math.log(q1[level]) - math.log(q0[level]) if items else 0.0
        row = env[level]
        running = -np.inf
        for b in range(N_BINS - 1, -1, -1):
            z = -Z_LIMIT + (b + 0.5) * Z_STEP
            lr = base[b]
            if items:
                lr += extra
            if z <= m0 and lr > running:
                running = lr
            value = running if z <= m0 else lr
            row[b] = 1.0 / (1.0 + math.exp(-value)) if value > -700.0 else 0.0


@numba.njit(**JIT)
def _best_threshold(
    zc: np.ndarray,
    lv: np.ndarray,
    w: np.ndarray,
    p: np.ndarray,
    nu: float,
    q0: np.ndarray,
    q1: np.ndarray,
) -> float:
    """The posterior threshold that maximises the expected F1 under the fitted mixture."""
    env = np.empty((N_LEVELS, N_BINS))
    _envelope(p, nu, q0, q1, env)
    m = zc.shape[0]
    post = np.empty(m)
    positives = 0.0
    for c in range(m):
        b = int(math.floor((zc[c] + Z_LIMIT) / Z_STEP))
        post[c] = env[lv[c], b]
        positives += w[c] * post[c]
    order = np.argsort(-post)
    tp = 0.0
    fp = 0.0
    best = 0.0
    thr = 1.0
    c = 0
    while c < m:
        value = post[order[c]]
        while c < m and post[order[c]] == value:
            tp += w[order[c]] * value
            fp += w[order[c]] * (1.0 - value)
            c += 1
        f1 = 2.0 * tp / (tp + fp + positives) if positives > 0.0 else 0.0
        if f1 > best:
            best = f1
            thr = value
    return thr


@numba.njit(**JIT)
def envelopes(
    weight: np.ndarray,
    m0: np.ndarray,
    s0: np.ndarray,
    nu: np.ndarray,
    m1: np.ndarray,
    s1: np.ndarray,
    q0: np.ndarray,
    q1: np.ndarray,
    out: np.ndarray,
) -> None:
    p = np.empty(5)
    a = np.ones(N_LEVELS)
    b = np.ones(N_LEVELS)
    for s in range(weight.shape[0]):
        if math.isnan(weight[s]):
            continue
        p[0], p[1], p[2], p[3], p[4] = weight[s], m0[s], s0[s], m1[s], s1[s]
        for j in range(N_LEVELS - 1):
            a[j] = q0[s, j]
            b[j] = q1[s, j]
        _envelope(p, nu[s], a, b, out[s])


@numba.njit(**JIT)
def posterior_flags(
    residual: np.ndarray,
    scale: np.ndarray,
    session: np.ndarray,
    levels: np.ndarray,
    envelope: np.ndarray,
    threshold: np.ndarray,
    fallback_k: float,
    z: np.ndarray,
    posterior: np.ndarray,
    flag: np.ndarray,
) -> None:
    """Per row the scaled residual ``z`` (the residual over its session number's scale),
    its drop posterior looked up in ``envelope`` (NaN where the mixture is not fitted)
    and the flag (a fallback drop of ``fallback_k`` scaled units where it is not)."""
    for r in range(residual.shape[0]):
        s = session[r]
        v = residual[r] / scale[s]
        z[r] = v
        if math.isnan(v):
            posterior[r] = NAN
            flag[r] = False
            continue
        if math.isnan(threshold[s]):
            posterior[r] = NAN
            flag[r] = -v >= fallback_k
            continue
        b = int(math.floor((v + Z_LIMIT) / Z_STEP))
        b = 0 if b < 0 else (N_BINS - 1 if b >= N_BINS else b)
        post = envelope[s, levels[r], b]
        posterior[r] = post
        flag[r] = post >= threshold[s] and v < 0.0


@numba.njit(**JIT)
def join_posterior(
    total: np.ndarray,
    sub: np.ndarray,
    sub_flag: np.ndarray,
    posterior: np.ndarray,
    fallback: np.ndarray,
) -> None:
    """In place, per row: ``posterior`` (the total's posterior, or the largest joined so
    far) the larger of itself and the subscale's ``sub`` where the total's posterior
    ``total`` is not NaN (``numpy.fmax``: a NaN of ``sub`` leaves it), and ``fallback`` or
    the subscale's fallback flag ``sub_flag``."""
    for r in range(total.shape[0]):
        fallback[r] = fallback[r] or sub_flag[r]
        if math.isnan(total[r]):
            continue
        x = sub[r]
        if x > posterior[r]:
            posterior[r] = x


@numba.njit(**JIT)
def combined_flags(
    total: np.ndarray,
    z: np.ndarray,
    posterior: np.ndarray,
    fallback: np.ndarray,
    session: np.ndarray,
    threshold: np.ndarray,
    flag: np.ndarray,
) -> None:
    """Per row: where the total's posterior ``total`` is NaN (its mixture not fitted) the
    ``fallback`` flag, else whether the total fell (``z`` < 0) and the combined
    ``posterior`` reaches ``threshold`` at the row's session number (less 1e-12)."""
    for r in range(total.shape[0]):
        if math.isnan(total[r]):
            flag[r] = fallback[r]
        else:
            flag[r] = posterior[r] >= threshold[session[r]] - 1e-12 and z[r] < 0.0
