"""Bordin's adaptive rupture detector: every parameter estimated from the clinic's data.

The detector predicts each session from the client's earlier sessions, measures the
prediction error in units of the clinic's typical error at that session number, and fits a
two-component mixture to those errors across the clinic: a null component (Student t
centred near 0: sessions where the alliance moved by chance) and a drop component (a
normal distribution of negative errors: ruptures). A session is flagged when the posterior
probability that it belongs to the drop component reaches the threshold that maximises the
expected F1 under the fitted mixture. Where the instrument asks rupture items (tension,
feeling misunderstood, wanting to withdraw), their sum is a second feature of the mixture:
each component has its own distribution of the item sum, learned from the same data.

Every parameter at session number *s* is fitted on the clinic's sessions numbered up to
*s* alone, so a session added later never changes a signal at an earlier session number;
given the fitted parameters (stored in :class:`bordin.feedback.ClinicNorms`), a client's
signals depend on that client's sessions alone.

Steps, each estimated per session number *s* on the sessions numbered up to *s*:

1. *Prediction.* :math:`\\hat x_t = \\phi x_{t-1} + (1-\\phi)\\bar x_{<t}`, the previous
   session blended with the mean of all earlier sessions; :math:`\\phi` is chosen from
   0, 0.1, ..., 1 to minimise the mean absolute one-step prediction error (an L1 criterion,
   so the ruptures themselves weigh little). :math:`\\phi` near 1 says the alliance wanders
   (a random walk), near 0 that it fluctuates around a stable level.
2. *Scale.* The residual :math:`r_t = x_t - \\hat x_t` is divided by the clinic's mean
   absolute residual at that session number times :math:`\\sqrt{\\pi/2}` (the normal
   standard deviation with that mean absolute deviation), pooled with the session numbers
   just before it until ``clinic_sd_min_df`` residuals are reached.
3. *Mixture.* On a histogram of the scaled residuals (and the item sums) of the sessions
   rated below the scale maximum (a rating at the maximum could not have been higher: its
   residual is censored, and a clinic with a ceiling piles them up near 0), EM fits the null
   :math:`t_\\nu(\\mu_0, s_0)` with :math:`\\nu` chosen by likelihood from 3, 5, 10, 30
   and a normal, the drop component :math:`N(\\mu_1, \\sigma_1)` with
   :math:`\\mu_1 \\le \\mu_0 - s_0` and :math:`\\sigma_1 \\ge s_0` (a rupture's residual is
   its depth plus the same noise), its weight :math:`\\pi`, and per component the distribution
   of the summed rupture items (0-12). Three starts per :math:`\\nu`; the mixture is refitted
   at a session number once the pooled residuals have grown by 10% (from the last fit, and
   from all starts again once they have doubled).
4. *Threshold.* The posterior is made monotone in the residual (a larger drop is never less
   of a rupture: the likelihood ratio is replaced by its running maximum towards larger
   drops) and the posterior threshold maximises the expected F1 under the fitted mixture,
   :math:`2\\,TP/(2\\,TP + FP + FN)` with expected counts.

Before the clinic has ``adaptive_min_residuals`` scaled residuals up to a session number
the mixture is not fitted there, and a drop of at least ``sd_k_strict`` scaled units
(Stiles et al., 2004) is flagged instead.

References
----------
Dempster, A. P., Laird, N. M., & Rubin, D. B. (1977). Maximum likelihood from incomplete
data via the EM algorithm. Journal of the Royal Statistical Society B, 39, 1-38.
Peel, D., & McLachlan, G. J. (2000). Robust mixture modelling using the t distribution.
Statistics and Computing, 10, 339-348. doi:10.1023/A:1008981510081
Efron, B. (2004). Large-scale simultaneous hypothesis testing: the choice of a null
hypothesis. doi:10.1198/016214504000000089 (an empirical null fitted to the data).
Lipton, Z. C., Elkan, C., & Naryanaswamy, B. (2014). Optimal thresholding of classifiers to
maximize F1 measure. doi:10.1007/978-3-662-44851-9_15
Stiles, W. B., et al. (2004). Patterns of alliance development and the rupture-repair
hypothesis. doi:10.1037/0022-0167.51.1.81
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numba
import numpy as np

from bordin.feedback._groups import FloatArray
from bordin.feedback._jit import JIT, NAN

__all__ = [
    "ADAPTIVE_FIELDS",
    "AdaptiveParams",
    "adaptive_detect",
    "fit_adaptive",
]

PHI_GRID: Final = np.round(np.linspace(0.0, 1.0, 11), 10)
NU_GRID: Final = np.array([3.0, 5.0, 10.0, 30.0, 0.0])  # 0: a normal null
Z_LIMIT: Final = 12.0
Z_STEP: Final = 0.1
N_BINS: Final = int(round(2 * Z_LIMIT / Z_STEP))
N_LEVELS: Final = 14  # item sums 0..12, and 13: no item asked
REFIT_GROWTH: Final = 1.1
RESTART_GROWTH: Final = 2.0
STARTS: Final = (-1.5, -3.0)  # initial drop locations (null SD units) of the EM starts
EM_ITERATIONS: Final = 200
EM_TOLERANCE: Final = 1e-7

#: Per-session-number arrays of :class:`AdaptiveParams` (each of length T), then the
#: per-level item distributions (T x 13).
ADAPTIVE_FIELDS: Final = (
    "phi",
    "scale",
    "n_residuals",
    "weight",
    "null_location",
    "null_scale",
    "null_df",
    "drop_location",
    "drop_scale",
    "threshold",
)
_ITEM_FIELDS: Final = ("null_items", "drop_items")


def _readonly(values: Any, ndim: int) -> FloatArray:
    array: FloatArray = np.array(values, dtype=np.float64, ndmin=ndim)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class AdaptiveParams:
    """The adaptive detector's parameters for one alliance scale, per session number.

    Every array has one entry per session number 0..T-1, fitted on the clinic's sessions
    numbered up to it (NaN where there is nothing to fit). ``phi`` is the weight of the
    previous session in the prediction, ``scale`` the residual scale (alliance points),
    ``n_residuals`` the scaled residuals the mixture at that session number rests on,
    ``weight`` the drop component's share, ``null_location``/``null_scale``/``null_df`` the
    null component (``null_df`` 0 for a normal), ``drop_location``/``drop_scale`` the drop
    component, ``threshold`` the posterior probability at or above which a session is
    flagged (NaN where the mixture is not fitted), and ``null_items``/``drop_items``
    (T x 13) each component's distribution of the summed rupture items 0-12 (uniform when
    the instrument asks none).
    """

    phi: FloatArray
    scale: FloatArray
    n_residuals: FloatArray
    weight: FloatArray
    null_location: FloatArray
    null_scale: FloatArray
    null_df: FloatArray
    drop_location: FloatArray
    drop_scale: FloatArray
    threshold: FloatArray
    null_items: FloatArray
    drop_items: FloatArray

    @property
    def top(self) -> int:
        return int(self.phi.shape[0])

    def extended(self, top: int) -> AdaptiveParams:
        """The parameters at session numbers 0..top-1: past the fitted session numbers the
        last fitted values hold (the clinic had no later sessions to add)."""
        if top == self.top:
            return self
        fields = {}
        for name in (*ADAPTIVE_FIELDS, *_ITEM_FIELDS):
            array = getattr(self, name)
            if top <= self.top:
                fields[name] = array[:top]
            else:
                pad = np.repeat(array[-1:], top - self.top, axis=0)
                fields[name] = np.concatenate([array, pad], axis=0)
        return AdaptiveParams(**fields)

    def fitted_residuals(self) -> int:
        """Scaled residuals the mixture at the last session number rests on."""
        last = self.n_residuals[-1] if self.top else 0.0
        return int(last) if np.isfinite(last) else 0

    def to_dict(self) -> dict[str, list[Any]]:
        """JSON-ready lists (full float precision; NaN as null)."""
        return {name: [_json_float(v) for v in getattr(self, name)] for name in ADAPTIVE_FIELDS} | {
            name: [[_json_float(v) for v in row] for row in getattr(self, name)]
            for name in _ITEM_FIELDS
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AdaptiveParams:
        """Read :meth:`to_dict` (KeyError/TypeError/ValueError on a malformed document)."""
        fields = {name: _readonly(_nan_list(data[name]), 1) for name in ADAPTIVE_FIELDS}
        items = {
            name: _readonly([_nan_list(row) for row in data[name]], 2) for name in _ITEM_FIELDS
        }
        top = fields["phi"].shape[0]
        for name, array in fields.items():
            if array.ndim != 1 or array.shape[0] != top:
                raise ValueError(f"{name} must have {top} values")
        for name, array in items.items():
            if array.shape != (top, N_LEVELS - 1) and not (top == 0 and array.size == 0):
                raise ValueError(f"{name} must be {top} x {N_LEVELS - 1}")
        if top == 0:
            items = {name: _readonly(np.zeros((0, N_LEVELS - 1)), 2) for name in _ITEM_FIELDS}
        return cls(**fields, **items)


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _nan_list(values: Any) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


# ---- fitting


def item_levels(item_sum: FloatArray, n: int) -> np.ndarray:
    """The item-sum level of each row: the summed rupture items rounded to 0..12, and 13
    where no item was asked (or the instrument has none)."""
    if item_sum.shape[0] == 0:
        return np.full(n, N_LEVELS - 1, dtype=np.int64)
    levels = np.full(n, N_LEVELS - 1, dtype=np.int64)
    asked = ~np.isnan(item_sum)
    levels[asked] = np.clip(np.rint(item_sum[asked]), 0, N_LEVELS - 2).astype(np.int64)
    return levels


def fit_adaptive(
    values: FloatArray,
    first: np.ndarray,
    session: np.ndarray,
    levels: np.ndarray,
    top: int,
    *,
    maximum: float,
    min_scale_n: int,
    min_residuals: int,
) -> AdaptiveParams:
    """Fit the adaptive detector's parameters on one alliance scale of a clinic.

    ``levels`` are :func:`item_levels`; ``top`` the number of session numbers (highest + 1);
    ``maximum`` the scale's maximum (sessions rated at it are left out of the mixture);
    ``min_scale_n`` the residuals the scale at a session number needs (pooled with the
    session numbers before it until reached); ``min_residuals`` the scaled residuals the
    mixture needs.
    """
    abs_sums = np.zeros((PHI_GRID.shape[0], top))
    counts = np.zeros(top)
    _phi_sums(values, first, session, PHI_GRID, abs_sums, counts)
    cum_abs = np.cumsum(abs_sums, axis=1)
    cum_n = np.cumsum(counts)
    phi = np.full(top, np.nan)
    has = cum_n > 0
    if has.any():
        phi[has] = PHI_GRID[np.argmin(cum_abs[:, has], axis=0)]
    residual, _ = predict_residuals(values, first, session, np.nan_to_num(phi, nan=1.0))
    scale = _scales(residual, session, top, min_scale_n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = residual / scale[session]
    hist = np.zeros((top, N_BINS, N_LEVELS))
    # a rating at the scale maximum could not have been higher: its residual is censored,
    # and the pile of them at the ceiling would pass for a narrow null
    with np.errstate(invalid="ignore"):
        uncensored = np.where(values >= maximum - 1e-9, np.nan, z)
    _histogram(uncensored, session, levels, hist)
    k = len(ADAPTIVE_FIELDS) - 2
    out = np.full((k + 2 * (N_LEVELS - 1), top), np.nan)
    _fit_mixtures(hist, NU_GRID, float(min_residuals), out)
    return AdaptiveParams(
        phi=_readonly(phi, 1),
        scale=_readonly(scale, 1),
        **{name: _readonly(out[i], 1) for i, name in enumerate(ADAPTIVE_FIELDS[2:])},
        null_items=_readonly(out[k : k + N_LEVELS - 1].T, 2),
        drop_items=_readonly(out[k + N_LEVELS - 1 :].T, 2),
    )


def _scales(residual: FloatArray, session: np.ndarray, top: int, min_n: int) -> FloatArray:
    """Per session number: sqrt(pi/2) x mean absolute residual, pooled backwards over the
    session numbers before it until ``min_n`` residuals are reached (NaN before)."""
    ok = ~np.isnan(residual)
    sums = np.bincount(session[ok], weights=np.abs(residual[ok]), minlength=top)[:top]
    counts = np.bincount(session[ok], minlength=top)[:top].astype(np.float64)
    out = np.full(top, np.nan)
    _pool_back(sums, counts, float(max(min_n, 1)), out)
    return out * math.sqrt(math.pi / 2.0)


# ---- detection


@dataclass(frozen=True)
class AdaptiveDetection:
    """Per row: the prediction, the drop from it, the posterior probability of a rupture
    (NaN where the mixture is not fitted) and the flag."""

    prediction: FloatArray
    drop: FloatArray
    z: FloatArray
    posterior: FloatArray
    flag: np.ndarray


def adaptive_detect(
    values: FloatArray,
    first: np.ndarray,
    session: np.ndarray,
    levels: np.ndarray,
    params: AdaptiveParams,
    fallback_k: float,
) -> AdaptiveDetection:
    """Run the adaptive detector with fitted parameters (see the module docstring)."""
    top = int(session.max()) + 1 if session.size else 1
    p = params.extended(top)
    residual, prediction = predict_residuals(values, first, session, np.nan_to_num(p.phi, nan=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = residual / p.scale[session]
    envelope = np.full((top, N_LEVELS, N_BINS), np.nan)
    _envelopes(
        p.weight,
        p.null_location,
        p.null_scale,
        p.null_df,
        p.drop_location,
        p.drop_scale,
        p.null_items,
        p.drop_items,
        envelope,
    )
    posterior = np.empty(values.shape[0])
    flag = np.empty(values.shape[0], dtype=bool)
    _posterior_flags(z, session, levels, envelope, p.threshold, fallback_k, posterior, flag)
    return AdaptiveDetection(
        prediction=prediction, drop=-residual, z=z, posterior=posterior, flag=flag
    )


# ---- compiled kernels (numba; shared options in bordin.feedback._jit) ----


@numba.njit(**JIT)
def _phi_sums(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    phis: np.ndarray,
    abs_sums: np.ndarray,
    counts: np.ndarray,
) -> None:
    n_sum = 0.0
    total = 0.0
    prev = NAN
    for r in range(values.shape[0]):
        if first[r]:
            n_sum = 0.0
            total = 0.0
            prev = NAN
        v = values[r]
        if math.isnan(v):
            continue
        if n_sum >= 1.0:
            mean = total / n_sum
            s = session[r]
            for k in range(phis.shape[0]):
                abs_sums[k, s] += abs(v - (phis[k] * prev + (1.0 - phis[k]) * mean))
            counts[s] += 1.0
        n_sum += 1.0
        total += v
        prev = v


def predict_residuals(
    values: np.ndarray, first: np.ndarray, session: np.ndarray, phi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row the residual x_t - prediction and the prediction (phi of the session number
    x the previous value + the rest x the mean of the client's earlier values; NaN at a
    client's first value)."""
    residual, prediction = np.empty(values.shape[0]), np.empty(values.shape[0])
    _predict(values, first, session, phi, residual, prediction)
    return residual, prediction


@numba.njit(**JIT)
def _predict(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    phi: np.ndarray,
    residual: np.ndarray,
    prediction: np.ndarray,
) -> None:
    n_sum = 0.0
    total = 0.0
    prev = NAN
    for r in range(values.shape[0]):
        if first[r]:
            n_sum = 0.0
            total = 0.0
            prev = NAN
        if n_sum >= 1.0:
            w = phi[session[r]]
            pred = w * prev + (1.0 - w) * (total / n_sum)
        else:
            pred = NAN
        v = values[r]
        prediction[r] = pred
        residual[r] = v - pred
        if not math.isnan(v):
            n_sum += 1.0
            total += v
            prev = v


@numba.njit(**JIT)
def _pool_back(sums: np.ndarray, counts: np.ndarray, min_n: float, out: np.ndarray) -> None:
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
def _histogram(z: np.ndarray, session: np.ndarray, levels: np.ndarray, hist: np.ndarray) -> None:
    for r in range(z.shape[0]):
        v = z[r]
        if math.isnan(v):
            continue
        b = int(math.floor((v + Z_LIMIT) / Z_STEP))
        b = 0 if b < 0 else (N_BINS - 1 if b >= N_BINS else b)
        hist[session[r], b, levels[r]] += 1.0


@numba.njit(**JIT)
def _log_t(x: float, loc: float, scale: float, nu: float) -> float:
    u = (x - loc) / scale
    if nu <= 0.0:
        return -0.5 * u * u - math.log(scale) - 0.5 * math.log(2.0 * math.pi)
    return (
        math.lgamma(0.5 * (nu + 1.0))
        - math.lgamma(0.5 * nu)
        - 0.5 * math.log(nu * math.pi)
        - math.log(scale)
        - 0.5 * (nu + 1.0) * math.log1p(u * u / nu)
    )


@numba.njit(**JIT)
def _em(
    zc: np.ndarray,
    lv: np.ndarray,
    w: np.ndarray,
    nu: float,
    start: np.ndarray,
    q0: np.ndarray,
    q1: np.ndarray,
) -> float:
    """EM of the two-component mixture on weighted cells (in place on ``start`` = weight,
    null location, null scale, drop location, drop scale and on the item distributions
    ``q0``/``q1``, 14 levels, level 13 = not asked and fixed at 1); the log-likelihood."""
    n_cells = zc.shape[0]
    total = 0.0
    for c in range(n_cells):
        total += w[c]
    floor = Z_STEP / 2.0
    loglik = -np.inf
    gam = np.empty(n_cells)
    uu = np.empty(n_cells)
    for _ in range(EM_ITERATIONS):
        pi, m0, s0, m1, s1 = start[0], start[1], start[2], start[3], start[4]
        ll = 0.0
        for c in range(n_cells):
            a = math.log(1.0 - pi) + _log_t(zc[c], m0, s0, nu) + math.log(q0[lv[c]])
            b = math.log(pi) + _log_t(zc[c], m1, s1, 0.0) + math.log(q1[lv[c]])
            top = max(a, b)
            lse = top + math.log(math.exp(a - top) + math.exp(b - top))
            ll += w[c] * lse
            gam[c] = math.exp(b - lse)
            d = (zc[c] - m0) / s0
            uu[c] = 1.0 if nu <= 0.0 else (nu + 1.0) / (nu + d * d)
        sg = 0.0
        sgz = 0.0
        s0w = 0.0
        s0wz = 0.0
        s0n = 0.0
        for c in range(n_cells):
            g = w[c] * gam[c]
            h = w[c] * (1.0 - gam[c])
            sg += g
            sgz += g * zc[c]
            s0w += h * uu[c]
            s0wz += h * uu[c] * zc[c]
            s0n += h
        pi = min(max(sg / total, 1e-4), 0.5)
        m1 = sgz / sg if sg > 0.0 else m1
        m0 = s0wz / s0w if s0w > 0.0 else m0
        v1 = 0.0
        v0 = 0.0
        for c in range(n_cells):
            d1 = zc[c] - m1
            d0 = zc[c] - m0
            v1 += w[c] * gam[c] * d1 * d1
            v0 += w[c] * (1.0 - gam[c]) * uu[c] * d0 * d0
        s0 = max(math.sqrt(v0 / s0n) if s0n > 0.0 else s0, floor)
        # a rupture's residual is its depth plus the same noise: never narrower than the null
        s1 = max(math.sqrt(v1 / sg) if sg > 0.0 else s1, s0)
        # the drop component lies below the null: a rupture is a fall of the alliance
        if m1 > m0 - s0:
            m1 = m0 - s0
        for j in range(N_LEVELS - 1):
            q0[j] = 0.5
            q1[j] = 0.5
        n0 = 0.5 * (N_LEVELS - 1)
        n1 = 0.5 * (N_LEVELS - 1)
        for c in range(n_cells):
            j = lv[c]
            if j < N_LEVELS - 1:
                q0[j] += w[c] * (1.0 - gam[c])
                q1[j] += w[c] * gam[c]
                n0 += w[c] * (1.0 - gam[c])
                n1 += w[c] * gam[c]
        for j in range(N_LEVELS - 1):
            q0[j] /= n0
            q1[j] /= n1
        start[0], start[1], start[2], start[3], start[4] = pi, m0, s0, m1, s1
        if abs(ll - loglik) < EM_TOLERANCE * max(abs(ll), 1.0):
            loglik = ll
            break
        loglik = ll
    return loglik


@numba.njit(**JIT)
def _fit_mixtures(hist: np.ndarray, nus: np.ndarray, min_residuals: float, out: np.ndarray) -> None:
    top = hist.shape[0]
    n_levels = N_LEVELS
    cum = np.zeros((N_BINS, n_levels))
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
    thr = NAN
    for s in range(top):
        n = 0.0
        for b in range(N_BINS):
            for j in range(n_levels):
                cum[b, j] += hist[s, b, j]
                n += cum[b, j]
        if n >= min_residuals and (not have or n >= REFIT_GROWTH * fitted_n):
            m = 0
            for b in range(N_BINS):
                for j in range(n_levels):
                    if cum[b, j] > 0.0:
                        m += 1
            zc = np.empty(m)
            lv = np.empty(m, dtype=np.int64)
            w = np.empty(m)
            m = 0
            for b in range(N_BINS):
                for j in range(n_levels):
                    if cum[b, j] > 0.0:
                        zc[m] = centres[b]
                        lv[m] = j
                        w[m] = cum[b, j]
                        m += 1
            best_ll = -np.inf
            cand = best.copy()
            cand_q0 = best_q0.copy()
            cand_q1 = best_q1.copy()
            cand_nu = best_nu
            for k in range(nus.shape[0] * (len(STARTS) + 1)):
                nu = nus[k % nus.shape[0]]
                which = k // nus.shape[0]
                start = np.empty(5)
                q0 = np.ones(n_levels)
                q1 = np.ones(n_levels)
                if which == len(STARTS):
                    # a refit also starts from the last fit
                    if not have:
                        continue
                    start[:] = best
                    q0[:] = best_q0
                    q1[:] = best_q1
                else:
                    if have and n < RESTART_GROWTH * started_n:
                        # the fixed starts again only once the residuals have doubled
                        continue
                    start[0] = 0.05
                    start[1] = 0.0
                    start[2] = 1.0
                    start[3] = STARTS[which]
                    start[4] = 1.0
                    for j in range(n_levels - 1):
                        q0[j] = 1.0 / (n_levels - 1)
                        q1[j] = 1.0 / (n_levels - 1)
                ll = _em(zc, lv, w, nu, start, q0, q1)
                if ll > best_ll:
                    best_ll = ll
                    cand = start.copy()
                    cand_q0 = q0.copy()
                    cand_q1 = q1.copy()
                    cand_nu = nu
            if not have or n >= RESTART_GROWTH * started_n:
                started_n = n
            best[:] = cand
            best_q0[:] = cand_q0
            best_q1[:] = cand_q1
            best_nu = cand_nu
            have = True
            fitted_n = n
            thr = _best_threshold(zc, lv, w, best, best_nu, best_q0, best_q1)
        out[0, s] = n
        if have:
            out[1, s] = best[0]
            out[2, s] = best[1]
            out[3, s] = best[2]
            out[4, s] = best_nu
            out[5, s] = best[3]
            out[6, s] = best[4]
            out[7, s] = thr
            for j in range(n_levels - 1):
                out[8 + j, s] = best_q0[j]
                out[8 + n_levels - 1 + j, s] = best_q1[j]


@numba.njit(**JIT)
def _log_ratio(
    z: float, p: np.ndarray, nu: float, q0: np.ndarray, q1: np.ndarray, level: int
) -> float:
    """log of (drop density x weight) / (null density x (1 - weight)), items included."""
    pi, m0, s0, m1, s1 = p[0], p[1], p[2], p[3], p[4]
    out = math.log(pi) - math.log(1.0 - pi) + _log_t(z, m1, s1, 0.0) - _log_t(z, m0, s0, nu)
    if level < N_LEVELS - 1:
        out += math.log(q1[level]) - math.log(q0[level])
    return out


@numba.njit(**JIT)
def _envelope_row(
    p: np.ndarray, nu: float, q0: np.ndarray, q1: np.ndarray, level: int, row: np.ndarray
) -> None:
    """Posterior of the drop component at each bin centre, made non-increasing in z below
    the null's centre (the running maximum of the likelihood ratio from there down)."""
    running = -np.inf
    for b in range(N_BINS - 1, -1, -1):
        z = -Z_LIMIT + (b + 0.5) * Z_STEP
        lr = _log_ratio(z, p, nu, q0, q1, level)
        if z <= p[1] and lr > running:
            running = lr
        value = running if z <= p[1] else lr
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
    for j in range(N_LEVELS):
        _envelope_row(p, nu, q0, q1, j, env[j])
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
def _envelopes(
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
        for j in range(N_LEVELS):
            _envelope_row(p, nu[s], a, b, j, out[s, j])


@numba.njit(**JIT)
def _posterior_flags(
    z: np.ndarray,
    session: np.ndarray,
    levels: np.ndarray,
    envelope: np.ndarray,
    threshold: np.ndarray,
    fallback_k: float,
    posterior: np.ndarray,
    flag: np.ndarray,
) -> None:
    for r in range(z.shape[0]):
        v = z[r]
        s = session[r]
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
