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

The "session number" of this module is the client's rating number: 1 + the client's
earlier sessions with an alliance rating (:attr:`bordin.feedback._prepare.Prepared.rating_int`),
how many ratings the prediction has behind it. Where every session is rated it is the
session number. Indexed by the session number itself, a clinic whose clients skip
ratings pooled clients with one earlier rating and clients with four at session number 5,
and the mixture split the residuals there in two (validation family, sparse attendance
with half the sessions rated, seed 1313: a drop component holding 47-50% of the residuals
at session numbers 4-6, where 12-14% are onsets; 883 sessions flagged at 4-5 against 275
onsets; F1 0.538, 0.601 by rating number).

Every parameter at session number *s* is fitted on the clinic's sessions numbered up to
*s* alone, so a session added later never changes a signal at an earlier session number;
given the fitted parameters (stored in :class:`bordin.feedback.ClinicNorms`), a client's
signals depend on that client's sessions alone. A clinic of more than
:data:`FIT_MAX_ROWS` rows is fitted on the rows of every k-th client (:func:`fit_sample`).

Steps, each estimated per session number *s* on the sessions numbered up to *s*:

1. *Prediction.* :math:`\\hat x_t = \\phi x_{t-1} + (1-\\phi) L_{t-1}`, the previous
   session blended with the client's level :math:`L`, the mean of their earlier sessions
   each weighted by :math:`\\delta^{age}` (:math:`\\delta = 1`: the plain mean; half-lives of
   1, 2, 4 or 8 sessions otherwise). :math:`\\phi` (0, 0.1, ..., 1) and :math:`\\delta` are
   chosen together to minimise the mean absolute one-step prediction error (an L1
   criterion, so the ruptures themselves weigh little): :math:`\\phi` near 1 or a short
   half-life says the alliance wanders, :math:`\\phi` near 0 with the plain mean that it
   fluctuates around a stable level. The prediction then moves on each session's residual
   clipped at Huber's (1964) 1.345 residual SDs, not on the session itself, so that a
   rupture session does not drag down the baseline of the sessions after it.
2. *Scale.* The residual :math:`r_t = x_t - \\hat x_t` is divided by the clinic's mean
   absolute residual (of the unclipped prediction) at that session number times
   :math:`\\sqrt{\\pi/2}` (the normal standard deviation with that mean absolute deviation),
   pooled with the session numbers just before it until ``clinic_sd_min_df`` residuals are
   reached.
3. *Mixture.* On a histogram of the scaled residuals (and the item sums), EM fits the null
   :math:`t_\\nu(\\mu_0, s_0)`, the drop component :math:`N(\\mu_1, \\sigma_1)` with
   :math:`\\mu_1 \\le \\mu_0 - s_0` and :math:`\\sigma_1 \\ge s_0` (a rupture's residual is
   its depth plus the same noise) and
   :math:`\\sigma_1^2 \\le s_0^2 + ((\\mu_0 - \\mu_1) / 1.96)^2` (its depths are falls: 97.5%
   of a normal distribution of depths below zero; a component whose depths spread across
   zero is the null's own skew, as near a ceiling, where a rating can fall further than
   it can rise), its weight :math:`\\pi`, and per component the
   distribution of the summed rupture items (0-12). Ratings are what the scale lets them
   be: a rating rounded to the scale's resolution (a mean of *k* whole-point items moves
   in steps of 1/*k*; the smallest step between the distinct ratings of the sessions
   numbered up to *s*) is interval-censored, and its residual is spread evenly over the
   rounding interval; a rating at the scale maximum could not have been higher, and its
   residual is right-censored (the E-step spreads it over the cells above it in
   proportion to the fitted density). Three starts per :math:`\\nu`, the best likelihood
   winning; :math:`\\nu` itself (3, 5, 10, 30 or a normal) is chosen by how well the null
   describes the upper half of the residuals, which ruptures (falls) do not reach, so the
   drop component cannot pass off the null's own lower tail as ruptures (Efron's empirical
   null, fitted where the non-null cases are absent); a fit whose drop weight is at its
   bound (half of the residuals) is the null split in two, its null fitted to the upper
   half, and its shape is taken only where every shape's fit is one. EM runs to
   convergence, accelerated by SQUAREM (Varadhan & Roland, 2008): the likelihood is nearly
   flat along a ridge of drop weight against depth, and a fit stopped after a fixed number
   of steps stayed near where it started. The mixture is refitted at a session
   number once the pooled residuals have grown by 10% (each null shape from its own last
   fit, and from all starts again once they have doubled).
4. *Threshold.* The posterior is made monotone in the residual (a larger drop is never less
   of a rupture: the likelihood ratio is replaced by its running maximum towards larger
   drops) and the posterior threshold maximises the expected F1 under the fitted mixture,
   :math:`2\\,TP/(2\\,TP + FP + FN)` with expected counts. Where the null alone
   (refitted) describes the residuals better by AIC (Akaike, 1974; the drop component's
   weight, location, scale and item distribution counted as its parameters), there is no
   drop component and nothing is flagged: EM otherwise splits a rupture-free null in two.
   The null alone takes the mixture's shape or a lighter-tailed one, whichever fits best
   (a heavier-tailed null beside a drop component can pass for a lighter-tailed null
   split in two). Where AIC keeps the null alone, a parametric bootstrap of the
   likelihood-ratio statistic under the fitted null alone (McLachlan, 1987; at most 99
   samples, stopped once enough exceed the statistic that the test cannot pass: Besag &
   Clifford, 1991) keeps the drop component when the statistic is in the upper 5% of its
   distribution there (on an instrument with subscales the 5% is shared among the scales,
   step 5). A drop component at its weight's bound under every null shape (half the
   residuals: the null split in two, step 3) is never kept, whatever its likelihood.
   Where the test on the
   pooled residuals keeps the null alone, a drop component is also fitted on the session
   number's own residuals (pooled back until ``adaptive_min_residuals``) beside the pooled
   null alone, held (the residuals are scaled per session number: chance movement is the
   same at every session number), and tested the same way (the bootstrap at half the
   level): the pooled residuals dilute a session number's ruptures with those of the
   session numbers before it, which may have had none; where that test finds a drop
   component, the session number is judged by its own fit.

   The share of ruptures differs between session numbers (none can start at a client's
   first rated session, and few at the next), and the pooled residuals of the session
   numbers before *s* dilute the share at *s*. Where there is a drop component, the
   weight at *s* is therefore the session number's own: the weight that maximises the
   likelihood of the residuals at *s* (pooled with the session numbers just before it
   until ``adaptive_min_residuals``), the components kept as the pooled fit has them,
   and it replaces the pooled weight where twice the log-likelihood ratio of the two
   exceeds 3.841 (chi-squared, 1 df, 5%); the threshold maximises the expected F1 of
   the residuals at *s* under that weight (Efron, 2008: one null and alternative for the
   classes, a prior probability per class).
5. *Subscales.* On an instrument with bond, goal and task subscales, steps 1-4 run on each
   subscale as well (a rupture of one subscale moves the total by a third of its depth);
   each scale's bootstrap tests run at the level divided by the number of scales
   (Bonferroni: a drop component one scale finds by chance flags sessions whichever scale
   it is on); a session's posterior is the largest of the scales' posteriors, and one
   threshold on it, chosen per session number to maximise the expected F1 of that
   combined rule on the clinic's sessions up to it, decides (:func:`combined_thresholds`).

Before the clinic has ``adaptive_min_residuals`` scaled residuals up to a session number
the mixture is not fitted there, and a drop of at least ``sd_k_strict`` scaled units
(Stiles et al., 2004) is flagged instead.

References
----------
Akaike, H. (1974). A new look at the statistical model identification. IEEE Transactions
on Automatic Control, 19, 716-723. doi:10.1109/TAC.1974.1100705
Dempster, A. P., Laird, N. M., & Rubin, D. B. (1977). Maximum likelihood from incomplete
data via the EM algorithm. Journal of the Royal Statistical Society B, 39, 1-38.
Huber, P. J. (1964). Robust estimation of a location parameter. Annals of Mathematical
Statistics, 35, 73-101. doi:10.1214/aoms/1177703732
Peel, D., & McLachlan, G. J. (2000). Robust mixture modelling using the t distribution.
Statistics and Computing, 10, 339-348. doi:10.1023/A:1008981510081
Efron, B. (2004). Large-scale simultaneous hypothesis testing: the choice of a null
hypothesis. doi:10.1198/016214504000000089 (an empirical null fitted to the data).
Efron, B. (2008). Simultaneous inference: when should hypothesis testing problems be
combined? Annals of Applied Statistics, 2, 197-223. doi:10.1214/07-AOAS141
Lipton, Z. C., Elkan, C., & Naryanaswamy, B. (2014). Optimal thresholding of classifiers to
maximize F1 measure. doi:10.1007/978-3-662-44851-9_15
Varadhan, R., & Roland, C. (2008). Simple and globally convergent methods for accelerating
the convergence of any EM algorithm. Scandinavian Journal of Statistics, 35, 335-353.
doi:10.1111/j.1467-9469.2007.00585.x
Stiles, W. B., et al. (2004). Patterns of alliance development and the rupture-repair
hypothesis. doi:10.1037/0022-0167.51.1.81
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from bordin.feedback._adaptive_kernels import (
    BOOT_ALPHA,
    N_BINS,
    N_LEVELS,
    combined_flags,
    envelopes,
    fit_mixtures,
    histogram,
    join_posterior,
    phi_sums,
    pool_back,
    posterior_flags,
    predict,
)
from bordin.feedback._groups import FloatArray

__all__ = [
    "ADAPTIVE_FIELDS",
    "AdaptiveParams",
    "adaptive_detect",
    "combine_detections",
    "combined_thresholds",
    "fit_adaptive",
    "fit_sample",
]

#: Huber's (1964) clipping constant, in residual SDs (95% efficiency at the normal): the
#: baseline moves on a session's residual clipped at this many SDs.
HUBER_K: Final = 1.345
#: More distinct values than this and a scale counts as continuous (no rounding to undo):
#: the mean of up to 40 items rated 0-10.
MAX_LEVELS: Final = 401
PHI_GRID: Final = np.round(np.linspace(0.0, 1.0, 11), 10)
#: Decay per session of the weight of an earlier session in the client's level: half-lives
#: of 1, 2, 4 and 8 sessions, and 1 (every earlier session weighs the same: the mean).
DECAY_GRID: Final = np.array([0.5, 0.5**0.5, 0.5**0.25, 0.5**0.125, 1.0])
NU_GRID: Final = np.array([3.0, 5.0, 10.0, 30.0, 0.0])  # 0: a normal null
#: A clinic with more rows than this is fitted on a sample of whole clients (every k-th
#: client, k the smallest that brings the rows under it): the mixture is fitted on a
#: histogram whatever the number of residuals, and beyond some 10,000 residuals per session
#: number the sampling error of the prediction weights, the scale and the mixture is far
#: below the differences between their grid points.
FIT_MAX_ROWS: Final = 100_000

#: Per-session-number arrays of :class:`AdaptiveParams` (each of length T), then the
#: per-level item distributions (T x 13).
ADAPTIVE_FIELDS: Final = (
    "phi",
    "decay",
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
#: The fields the posterior envelope depends on (:meth:`AdaptiveParams.envelope`).
_ENVELOPE_FIELDS: Final = (
    *ADAPTIVE_FIELDS[ADAPTIVE_FIELDS.index("weight") : ADAPTIVE_FIELDS.index("threshold")],
    *_ITEM_FIELDS,
)


def _readonly(values: Any, ndim: int) -> FloatArray:
    array: FloatArray = np.array(values, dtype=np.float64, ndmin=ndim)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class AdaptiveParams:
    """The adaptive detector's parameters for one alliance scale, per session number.

    Every array has one entry per session number 0..T-1, fitted on the clinic's sessions
    numbered up to it (NaN where there is nothing to fit). ``phi`` is the weight of the
    previous session in the prediction, ``decay`` the weight per session of age of an
    earlier session in the client's level (1: the plain mean), ``scale`` the residual scale
    (alliance points), ``n_residuals`` the scaled residuals the mixture at that session
    number rests on, ``weight`` the drop component's share at that session number (step
    4), ``null_location``, ``null_scale`` and ``null_df`` the null component (``null_df``
    0 for a normal), ``drop_location`` and ``drop_scale`` the drop component,
    ``threshold`` the posterior probability at or above which a session is flagged (NaN
    where the mixture is not fitted; 1, with ``weight`` 1e-9, where the null alone
    describes the residuals better by AIC: nothing is flagged), and
    ``null_items``/``drop_items`` (T x 13) each component's distribution of
    the summed rupture items 0-12 (uniform when the instrument asks none).

    The posterior a session's scaled residual is looked up in (:meth:`envelope`) depends
    on these parameters alone and is kept with them once computed.
    """

    phi: FloatArray
    decay: FloatArray
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
    combined_threshold: FloatArray | None = None
    _envelope: list[FloatArray] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def top(self) -> int:
        return int(self.phi.shape[0])

    def envelope(self, top: int) -> FloatArray:
        """The drop component's posterior per session number 0..top-1, item level and
        histogram bin, made non-increasing in the residual below the null's centre (step 4
        of :mod:`bordin.feedback._adaptive`; NaN where the mixture is not fitted): what a
        session's scaled residual is looked up in. Past the fitted session numbers the last
        one's holds, as in :meth:`extended`.

        It depends on the parameters alone, so it is computed on first use and kept with
        them (read-only): the service parses a stored snapshot once and recomputes each
        client against it, and a refitted snapshot is a new object with its own. Parameters
        held in writable arrays (built by hand rather than fitted or read) could change
        afterwards, so theirs is computed afresh on every call.
        """
        if self._envelope:
            full = self._envelope[0]
        else:
            full = np.full((self.top, N_LEVELS, N_BINS), np.nan)
            envelopes(
                self.weight,
                self.null_location,
                self.null_scale,
                self.null_df,
                self.drop_location,
                self.drop_scale,
                self.null_items,
                self.drop_items,
                full,
            )
            if not any(getattr(self, name).flags.writeable for name in _ENVELOPE_FIELDS):
                full.flags.writeable = False
                self._envelope.append(full)
        if top <= self.top:
            return full[:top]
        if self.top == 0:
            return np.full((top, N_LEVELS, N_BINS), np.nan)
        out: FloatArray = np.concatenate([full, np.repeat(full[-1:], top - self.top, axis=0)])
        return out

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
        combined = self.combined_threshold
        if combined is not None:
            if top <= self.top:
                combined = combined[:top]
            else:
                combined = np.concatenate([combined, np.repeat(combined[-1:], top - self.top)])
        return AdaptiveParams(**fields, combined_threshold=combined)

    def fitted_residuals(self) -> int:
        """Scaled residuals the mixture at the last session number rests on."""
        last = self.n_residuals[-1] if self.top else 0.0
        return int(last) if np.isfinite(last) else 0

    def drop_sessions(self) -> tuple[list[int], list[int]]:
        """The session numbers where the mixture is fitted, and those of them where it has
        a drop component (ruptures that stand apart from chance movement: a posterior
        threshold below 1). Where it has none the null alone describes the residuals and
        this scale's posterior flags nothing there."""
        fitted = np.flatnonzero(np.isfinite(self.threshold))
        found = fitted[self.threshold[fitted] < 1.0]
        return [int(s) for s in fitted], [int(s) for s in found]

    def fit_summary(self, fallback_k: float) -> str:
        """One sentence on what the mixture found, for a clinic's norms summary: the
        session numbers with and without a drop component, its share of the residuals
        there and its depth below the null at the last session number that has one, and
        before the first fitted session number the fallback (a drop of ``fallback_k``
        residual SDs)."""
        fitted, found = self.drop_sessions()
        if not fitted:
            return ""
        if not found:
            return (
                "no drop stands apart from chance movement at any rating number "
                f"({_ranges(fitted)}, a client's n-th rated session): no flag from this scale"
            )
        shares = self.weight[found]
        last = found[-1]
        depth = (self.null_location[last] - self.drop_location[last]) / self.null_scale[last]
        low, high = _percent(float(shares.min())), _percent(float(shares.max()))
        share = f"{low}%" if low == high else f"{low}-{high}%"
        text = (
            f"ruptures stand apart from chance movement at rating numbers {_ranges(found)} "
            f"(a client's n-th rated session; a drop component holding {share} of the "
            f"residuals there, {depth:.1f} null SDs below the null at rating {last})"
        )
        missing = sorted(set(fitted) - set(found))
        if missing:
            text += f"; at {_ranges(missing)} they do not (no flag from this scale there)"
        if fitted[0] > 2:  # a client's second rated session is the first with a residual
            text += (
                f"; before rating number {fitted[0]} the clinic has too few residuals for "
                f"the mixture, and a drop of at least {fallback_k:g} residual SDs is flagged "
                "there"
            )
        return text

    def to_dict(self) -> dict[str, list[Any]]:
        """JSON-ready lists (full float precision; NaN as null)."""
        out = {name: [_json_float(v) for v in getattr(self, name)] for name in ADAPTIVE_FIELDS} | {
            name: [[_json_float(v) for v in row] for row in getattr(self, name)]
            for name in _ITEM_FIELDS
        }
        if self.combined_threshold is not None:
            out["combined_threshold"] = [_json_float(v) for v in self.combined_threshold]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AdaptiveParams:
        """Read :meth:`to_dict` (KeyError/TypeError/ValueError on a malformed document)."""
        if "decay" not in data:
            # stored before the level's decay was estimated: the plain mean of earlier sessions
            data = {**data, "decay": [1.0 if v is not None else None for v in data["phi"]]}
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
        combined = None
        if data.get("combined_threshold") is not None:
            combined = _readonly(_nan_list(data["combined_threshold"]), 1)
            if combined.ndim != 1 or combined.shape[0] != top:
                raise ValueError(f"combined_threshold must have {top} values")
        return cls(**fields, **items, combined_threshold=combined)


def _percent(share: float) -> str:
    """A share as a percentage: whole points, one decimal below 1%."""
    value = 100.0 * share
    return f"{value:.1f}" if value < 0.95 else f"{value:.0f}"


def _ranges(numbers: list[int]) -> str:
    """Sorted whole numbers as runs: [2, 3, 4, 7] -> "2-4, 7"."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)


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
    sampled: bool = False,
    joined: int = 1,
) -> AdaptiveParams:
    """Fit the adaptive detector's parameters on one alliance scale of a clinic.

    ``levels`` are :func:`item_levels`; ``top`` the number of session numbers (highest + 1);
    ``maximum`` the scale's maximum (sessions rated at it are left out of the mixture);
    ``min_scale_n`` the residuals the scale at a session number needs (pooled with the
    session numbers before it until reached); ``min_residuals`` the scaled residuals the
    mixture needs. ``sampled``: the rows are already those of :func:`fit_sample` (a caller
    fitting several scales of one clinic takes them once). ``joined``: the alliance scales
    whose posteriors a session's combined posterior is the largest of (the total and its
    subscales, :func:`combine_detections`; 1 for a scale judged alone).

    The bootstrap test of the drop component (step 4 of the module docstring) runs at
    :data:`~bordin.feedback._adaptive_kernels.BOOT_ALPHA` divided by ``joined``
    (Bonferroni): a session is flagged when any of the joined scales' posteriors is high
    enough, so a drop component that one scale's test finds by chance flags sessions
    whichever scale it is on, and the chance that one of them does is what the level
    bounds. At the full level on each of four scales, a subscale's first fit (a client's
    second rated session, 2000 residuals) split a rupture-free session number in two on
    three of 32 draws of the validation family's AR(1) setting with rare deep ruptures
    (a drop component holding 39% of the residuals: a quarter to a third of the clients
    flagged at that session); at the shared level two of the three are not split (the
    third's statistic is beyond all 99 bootstrap samples).
    """
    keep = None if sampled else fit_sample(first)
    if keep is not None:
        values, first, session, levels = values[keep], first[keep], session[keep], levels[keep]
    n_dec = DECAY_GRID.shape[0]
    abs_sums = np.zeros((PHI_GRID.shape[0] * n_dec, top))
    counts = np.zeros(top)
    phi_sums(values, first, session, PHI_GRID, DECAY_GRID, abs_sums, counts)
    cum_abs = np.cumsum(abs_sums, axis=1)
    cum_n = np.cumsum(counts)
    phi = np.full(top, np.nan)
    decay = np.full(top, np.nan)
    has = cum_n > 0
    if has.any():
        best = np.argmin(cum_abs[:, has], axis=0)
        phi[has] = PHI_GRID[best // n_dec]
        decay[has] = DECAY_GRID[best % n_dec]
    plain, _ = predict_residuals(values, first, session, phi, decay, np.full(top, np.nan))
    scale = _scales(plain, session, top, min_scale_n)
    residual, _ = predict_residuals(values, first, session, phi, decay, HUBER_K * scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = residual / scale[session]
    hist = np.zeros((top, N_BINS, N_LEVELS))
    censored = np.zeros((top, N_BINS, N_LEVELS))
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.nan_to_num(0.5 * resolution(values, session, top) / scale)
    # a rating at the scale maximum could not have been higher: its residual is only known
    # to be at least what it is (right-censored; rounded, at least the lower end of the
    # rounding interval), and taken at face value the pile of them at the ceiling would
    # pass for a narrow null
    with np.errstate(invalid="ignore"):
        at_top = values >= maximum - 1e-9
    histogram(np.where(at_top, np.nan, z), half, session, levels, hist)
    histogram(np.where(at_top, z - half[session], np.nan), half * 0.0, session, levels, censored)
    k = len(ADAPTIVE_FIELDS) - 3
    out = np.full((k + 2 * (N_LEVELS - 1), top), np.nan)
    fit_mixtures(hist, censored, NU_GRID, float(min_residuals), BOOT_ALPHA / max(joined, 1), out)
    return AdaptiveParams(
        phi=_readonly(phi, 1),
        decay=_readonly(decay, 1),
        scale=_readonly(scale, 1),
        **{name: _readonly(out[i], 1) for i, name in enumerate(ADAPTIVE_FIELDS[3:])},
        null_items=_readonly(out[k : k + N_LEVELS - 1].T, 2),
        drop_items=_readonly(out[k + N_LEVELS - 1 :].T, 2),
    )


def fit_sample(first: np.ndarray) -> np.ndarray | None:
    """The rows a clinic's parameters are fitted on (None: all of them): beyond
    :data:`FIT_MAX_ROWS` rows, the rows of every k-th client (``first`` marks each client's
    first row; a client's rows are contiguous)."""
    n = first.shape[0]
    if n <= FIT_MAX_ROWS:
        return None
    stride = -(-n // FIT_MAX_ROWS)
    client = np.cumsum(first) - 1
    keep: np.ndarray = client % stride == 0
    return keep


def resolution(values: FloatArray, session: np.ndarray, top: int) -> FloatArray:
    """Per session number, the rating resolution of a scale on the sessions numbered up to
    it: the smallest step between the distinct values seen so far (a mean of k items
    answered in whole points moves in steps of 1/k), 0 when they are continuous (more
    distinct values than a rounded scale can take) or fewer than two."""
    out = np.zeros(top)
    ok = ~np.isnan(values)
    distinct, which = np.unique(values[ok], return_inverse=True)
    first = np.full(distinct.shape[0], top, dtype=np.int64)  # session number first seen
    np.minimum.at(first, which, session[ok])
    for s in range(top):
        seen = distinct[first <= s]
        if seen.shape[0] > MAX_LEVELS:
            break  # continuous from here on
        if seen.shape[0] >= 2:
            out[s] = float(np.diff(seen).min())
    return out


def _scales(residual: FloatArray, session: np.ndarray, top: int, min_n: int) -> FloatArray:
    """Per session number: sqrt(pi/2) x mean absolute residual, pooled backwards over the
    session numbers before it until ``min_n`` residuals are reached (NaN before)."""
    ok = ~np.isnan(residual)
    sums = np.bincount(session[ok], weights=np.abs(residual[ok]), minlength=top)[:top]
    counts = np.bincount(session[ok], minlength=top)[:top].astype(np.float64)
    out = np.full(top, np.nan)
    pool_back(sums, counts, float(max(min_n, 1)), out)
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
    residual, prediction = predict_residuals(
        values, first, session, p.phi, p.decay, HUBER_K * p.scale
    )
    envelope = params.envelope(top)
    z = np.empty(values.shape[0])  # residual / p.scale[session], made in the same pass
    posterior = np.empty(values.shape[0])
    flag = np.empty(values.shape[0], dtype=bool)
    posterior_flags(
        residual, p.scale, session, levels, envelope, p.threshold, fallback_k, z, posterior, flag
    )
    return AdaptiveDetection(
        prediction=prediction, drop=-residual, z=z, posterior=posterior, flag=flag
    )


# ---- the total and its subscales together


#: Resolution of the posterior grid the combined threshold is chosen on.
_POSTERIOR_STEPS: Final = 1000


def combined_thresholds(posterior: FloatArray, session: np.ndarray, top: int) -> FloatArray:
    """Per session number, the threshold on the combined posterior (the largest of the
    total's and the subscales' posteriors of a session) that maximises the expected F1 of
    the clinic's sessions numbered up to it, each session's combined posterior taken as
    its probability of a rupture (NaN before any session has a posterior).

    Each scale's own threshold maximises the expected F1 of that scale alone; flagging a
    session when any of four scales passes its own threshold adds up their false alarms
    (four chances at a chance drop), so the decision is taken once, on the combined
    posterior, with the expected counts of the sessions the combined rule would flag
    (Lipton et al., 2014). The posterior is rounded down to a grid of 1/1000.
    """
    ok = np.isfinite(posterior)
    grid = np.minimum(np.floor(posterior[ok] * _POSTERIOR_STEPS).astype(np.int64), _POSTERIOR_STEPS)
    cells = top * (_POSTERIOR_STEPS + 1)
    where = session[ok] * (_POSTERIOR_STEPS + 1) + grid
    counts = np.bincount(where, minlength=cells).reshape(top, -1).astype(np.float64)
    sums = np.bincount(where, weights=posterior[ok], minlength=cells).reshape(top, -1)
    counts = np.cumsum(counts, axis=0)[:, ::-1]  # descending posterior
    sums = np.cumsum(sums, axis=0)[:, ::-1]
    flagged = np.cumsum(counts, axis=1)
    true_pos = np.cumsum(sums, axis=1)
    positives = true_pos[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(positives > 0.0, 2.0 * true_pos / (flagged + positives), 0.0)
    # a posterior below the grid's first step is never enough (a clinic, or the early
    # session numbers, where the mixture finds no ruptures at all)
    best = np.argmax(f1[:, :_POSTERIOR_STEPS], axis=1)
    out: FloatArray = (_POSTERIOR_STEPS - best) / _POSTERIOR_STEPS
    out[flagged[:, -1] == 0] = np.nan
    return out


def combine_detections(
    total: AdaptiveDetection,
    subscales: list[AdaptiveDetection],
    session: np.ndarray,
    threshold: FloatArray,
) -> AdaptiveDetection:
    """The total's detection with the subscales' evidence: a session's posterior is the
    largest of the scales' posteriors, and a session is flagged when the total fell and
    that posterior reaches ``threshold`` at its session number (:func:`combined_thresholds`).
    Where the total's mixture is not fitted yet, a fallback flag on any scale counts."""
    posterior = total.posterior.copy()
    fallback = total.flag.copy()
    for sub in subscales:
        join_posterior(total.posterior, sub.posterior, sub.flag, posterior, fallback)
    flag = np.empty(posterior.shape[0], dtype=bool)
    combined_flags(total.posterior, total.z, posterior, fallback, session, threshold, flag)
    return AdaptiveDetection(
        prediction=total.prediction, drop=total.drop, z=total.z, posterior=posterior, flag=flag
    )


def predict_residuals(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    phi: FloatArray,
    decay: FloatArray,
    bound: FloatArray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row the residual x_t - prediction and the prediction (phi of the session number
    x the previous value + the rest x the client's level, the mean of their earlier values
    weighted by ``decay`` to the power of their age; NaN at a client's first value). Where
    nothing was fitted the prediction is the previous value."""
    which = np.searchsorted(DECAY_GRID, np.nan_to_num(decay, nan=1.0) - 1e-12)
    which = np.minimum(which, DECAY_GRID.shape[0] - 1).astype(np.int64)
    residual, prediction = np.empty(values.shape[0]), np.empty(values.shape[0])
    predict(
        values,
        first,
        session,
        np.nan_to_num(phi, nan=1.0),
        which,
        DECAY_GRID,
        bound,
        residual,
        prediction,
    )
    return residual, prediction
