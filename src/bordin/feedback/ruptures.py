"""Alliance rupture detection: the published criteria and Bordin's two detectors.

The adaptive detector (:mod:`bordin.feedback._adaptive`) leads by default
(``FeedbackConfig.rupture_detector``); the fixed-constant detector (``bordin``) is an
option.

A rupture is a deterioration in the collaborative relationship between client and therapist
(Safran & Muran, 2000). Session-by-session alliance ratings show it as a drop; the published
criteria differ in how large a drop must be. Every detector here is vectorised over a whole
clinic and uses, for the signal at session *t*, only sessions up to *t*.

References
----------
Gumz, A., Kästner, D., Geyer, M., Wutzler, U., Villmann, T., & Brähler, E. (2012). Course of
the therapeutic alliance and ruptures in psychodynamic psychotherapy.
Frontiers in Psychology, 3 (clinic vs own within-client SD).
Strauss, J. L., et al. (2006). Early alliance, alliance ruptures, and symptom change in a
nonrandomized trial of cognitive therapy for avoidant and obsessive-compulsive personality
disorders. doi:10.1037/0022-006X.74.2.337 (k = 1).
Stiles, W. B., et al. (2004). Patterns of alliance development and the rupture-repair
hypothesis. doi:10.1037/0022-0167.51.1.81 (k = 2).
Jacobson, N. S., & Truax, P. (1991). Clinical significance. doi:10.1037/0022-006X.59.1.12
Safran, J. D., & Muran, J. C. (2000). Negotiating the therapeutic alliance. Guilford.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

import numba
import numpy as np

from bordin.errors import InputError
from bordin.feedback._adaptive import (
    AdaptiveDetection,
    AdaptiveParams,
    adaptive_detect,
    combine_detections,
    combined_thresholds,
    fit_adaptive,
    fit_sample,
    item_levels,
)
from bordin.feedback._groups import BoolArray, FloatArray
from bordin.feedback._instruments import instrument_facts
from bordin.feedback._jit import BIG, JIT, NAN
from bordin.feedback._prepare import Prepared
from bordin.feedback._scales import ScaleStats, scale_stats, scale_z
from bordin.feedback.config import FeedbackConfig

__all__ = [
    "COMPONENTS",
    "DETECTORS",
    "MARKERS",
    "Detection",
    "Detector",
    "RuptureInputs",
    "run_detector",
]

Detector = Literal["bordin", "sd_k1", "sd_k2", "reliable_change", "items", "adaptive"]
DETECTORS: Final[tuple[str, ...]] = get_args(Detector)
COMPONENTS: Final = ("bond", "goal", "task", "total")
#: The alliance subscales whose evidence the adaptive detector adds to the total's.
SUBSCALES: Final = COMPONENTS[:3]
MARKERS: Final = ("withdrawal", "confrontation", "unknown")


def joined_scales(alliance: Mapping[str, Any]) -> list[str]:
    """The alliance scales of a frame whose adaptive posteriors join in one on the total
    (:func:`bordin.feedback._adaptive.combine_detections`): the total and the subscales it
    has. Each is fitted with its bootstrap's level shared among them
    (:func:`bordin.feedback._adaptive.fit_adaptive`, ``joined``)."""
    return [scale for scale in ("total", *SUBSCALES) if scale in alliance]


@dataclass(frozen=True)
class Detection:
    """Per-row output of one detector on one scale (aligned with ``Prepared.frame``).

    ``flag`` marks sessions that meet the criterion, ``onset`` the first session of each run
    of flagged sessions (one rupture event), ``pre_level`` the alliance the rupture is
    measured against, ``depth`` the drop from it, ``evidence`` the detector's statistic
    (drop in SD units for the SD and Bordin detectors, the posterior probability of a
    rupture for the adaptive one), ``component`` and ``marker`` the
    rupture type (indices into :data:`COMPONENTS` and :data:`MARKERS`).
    """

    detector: str
    scale: str
    flag: BoolArray
    onset: BoolArray
    pre_level: FloatArray
    depth: FloatArray
    evidence: FloatArray
    component: np.ndarray
    marker: np.ndarray
    values: FloatArray


class RuptureInputs:
    """The per-scale quantities every detector needs, computed once per clinic frame.

    Several detectors run on the same frame (``compute_feedback`` runs eleven); they share
    the previous values, SD scales, running baselines, rupture types and item evidence.
    ``clinic_sd(scale, T)`` gives the clinic's within-client SD for session numbers
    0..T-1 from the clinic norms; without it each scale's is pooled from this frame.
    """

    def __init__(
        self,
        prepared: Prepared,
        config: FeedbackConfig,
        *,
        clinic_sd: Callable[[str, int], FloatArray] | None = None,
        adaptive_params: Callable[[str], AdaptiveParams | None] | None = None,
        levels: np.ndarray | None = None,
    ) -> None:
        self.prepared = prepared
        self.config = config
        self.clinic_sd = clinic_sd
        self.adaptive_params = adaptive_params
        self._memo: dict[tuple[str, str], Any] = {}
        if levels is not None:  # :meth:`item_levels`, made already by the caller
            self._memo[("levels", "")] = levels

    def _get(self, key: tuple[str, str], make: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def stats(self, scale: str, *, baseline: bool = False) -> ScaleStats:
        """:func:`scale_stats` of a scale (with Bordin's baseline when asked for)."""
        got: ScaleStats | None = self._memo.get(("stats", scale))
        if got is None or (baseline and got.baseline is None):
            v = self.prepared.alliance[scale]
            given = self.clinic_sd
            got = scale_stats(
                v,
                self.prepared,
                self.config,
                baseline=baseline,
                clinic_sd=None if given is None else (lambda top: given(scale, top)),
            )
            self._memo[("stats", scale)] = got
        return got

    def previous(self, scale: str) -> FloatArray:
        return self.stats(scale).previous

    def blended(self, scale: str) -> FloatArray:
        """Bordin's baseline: previous session blended with the running level."""
        base = self.stats(scale, baseline=True).baseline
        assert base is not None
        return base

    def _drop_z(self, scale: str, blended: bool) -> tuple[FloatArray, FloatArray]:
        def make() -> tuple[FloatArray, FloatArray]:
            stats = self.stats(scale, baseline=blended)
            pre = self.blended(scale) if blended else stats.previous
            drop, z = scale_z(
                self.prepared.alliance[scale],
                pre,
                stats.own_sd,
                stats.clinic_sd,
                self.prepared.session_int,
            )
            return drop, z

        result: tuple[FloatArray, FloatArray] = self._get(
            ("drop_z_blended" if blended else "drop_z", scale), make
        )
        return result

    def drop(self, scale: str, *, blended: bool = False) -> FloatArray:
        """Drop from the previous session (or from Bordin's baseline) to this one."""
        return self._drop_z(scale, blended)[0]

    def z(self, scale: str, *, blended: bool = False) -> FloatArray:
        """:meth:`drop` in units of the scale's SD."""
        return self._drop_z(scale, blended)[1]

    def item_levels(self) -> np.ndarray:
        """Each row's summed rupture items as a level 0..12 (13: none asked)."""
        n = self.prepared.groups.n_rows
        result: np.ndarray = self._get(("levels", ""), lambda: item_levels(self.features()[4], n))
        return result

    def fitted_adaptive(self, scale: str) -> AdaptiveParams:
        """The adaptive detector's parameters of a scale: from the clinic norms when given
        (and fitted for the scale), otherwise fitted on this frame."""
        given = self.adaptive_params(scale) if self.adaptive_params is not None else None
        if given is not None:
            return given

        def make() -> AdaptiveParams:
            p = self.prepared
            sess = p.rating_int
            return fit_adaptive(
                p.alliance[scale],
                p.groups.first,
                sess,
                self.item_levels(),
                int(sess.max()) + 1 if sess.size else 1,
                maximum=instrument_facts(p.alliance_id, scale).maximum,
                min_scale_n=self.config.clinic_sd_min_df,
                min_residuals=self.config.adaptive_min_residuals,
                joined=len(joined_scales(p.alliance)),
            )

        result: AdaptiveParams = self._get(("adaptive_params", scale), make)
        return result

    def adaptive_scale(self, scale: str) -> AdaptiveDetection:
        """The adaptive detector's prediction, drop, posterior and flag on one scale alone."""

        def make() -> AdaptiveDetection:
            p = self.prepared
            return adaptive_detect(
                p.alliance[scale],
                p.groups.first,
                p.rating_int,
                self.item_levels(),
                self.fitted_adaptive(scale),
                self.config.sd_k_strict,
            )

        result: AdaptiveDetection = self._get(("adaptive_scale", scale), make)
        return result

    def combined_threshold(self) -> FloatArray:
        """The threshold on the combined posterior of the total and its subscales, per
        rating number: from the clinic norms when given, otherwise fitted on this frame."""
        p = self.prepared
        top = int(p.rating_int.max()) + 1 if p.rating_int.size else 1
        stored = self.fitted_adaptive("total").extended(top).combined_threshold
        if stored is not None:
            return stored
        posterior = self._combined(np.zeros(top)).posterior
        keep = fit_sample(p.groups.first)  # the rows the parameters were fitted on
        if keep is not None:
            return combined_thresholds(posterior[keep], p.rating_int[keep], top)
        return combined_thresholds(posterior, p.rating_int, top)

    def _combined(self, threshold: FloatArray) -> AdaptiveDetection:
        subs = [self.adaptive_scale(s) for s in SUBSCALES if s in self.prepared.alliance]
        return combine_detections(
            self.adaptive_scale("total"), subs, self.prepared.rating_int, threshold
        )

    def adaptive(self, scale: str) -> AdaptiveDetection:
        """The adaptive detector on a scale. On the total of an instrument with subscales
        the subscales' evidence joins the total's
        (:func:`bordin.feedback._adaptive.combine_detections`): a rupture of one subscale
        moves the total by a third of its depth."""
        if scale != "total" or not any(s in self.prepared.alliance for s in SUBSCALES):
            return self.adaptive_scale(scale)
        given = self.adaptive_params("total") if self.adaptive_params is not None else None
        if given is not None and given.combined_threshold is None:
            # norms stored before the subscales joined: the total alone, as fitted then
            return self.adaptive_scale("total")
        result: AdaptiveDetection = self._get(
            ("adaptive", scale), lambda: self._combined(self.combined_threshold())
        )
        return result

    def component_of(self, scale: str) -> np.ndarray:
        """The component column of a subscale's detections: that subscale on every row."""
        n = self.prepared.groups.n_rows
        result: np.ndarray = self._get(
            ("component", scale), lambda: np.full(n, COMPONENTS.index(scale), dtype=np.int8)
        )
        return result

    def features(self) -> tuple[np.ndarray, FloatArray, np.ndarray, FloatArray, FloatArray]:
        """Per row: the subscale that dropped most from the previous session and that drop
        in its SD units; the rupture marker; the strongest rupture item; the items' sum.

        The marker follows Safran & Muran (2000): withdrawal when the client moves away
        (wanting to hold back), confrontation when the client moves against the therapist
        (tension or disagreement, feeling misunderstood or criticised), unknown when neither
        reaches ``item_threshold`` or the items were not asked. The item sum (0-12) is NaN
        when no item was asked.
        """

        def make() -> tuple[np.ndarray, FloatArray, np.ndarray, FloatArray, FloatArray]:
            none = np.zeros(0)
            alliance, items = self.prepared.alliance, self.prepared.items
            zs = [self.z(s) if s in alliance else none for s in ("bond", "goal", "task")]
            its = [items.get(i, none) for i in ("tension", "misunderstood", "withdrawal")]
            result: tuple[np.ndarray, FloatArray, np.ndarray, FloatArray, FloatArray]
            result = row_features(zs, its, self.config.item_threshold, self.prepared.groups.n_rows)
            return result

        result: tuple[np.ndarray, FloatArray, np.ndarray, FloatArray, FloatArray] = self._get(
            ("features", ""), make
        )
        return result


def _onsets(flag: BoolArray, prepared: Prepared) -> BoolArray:
    """First flagged session of each run of flagged sessions of a client."""
    onset: BoolArray = flag.copy()
    if flag.shape[0] > 1:
        onset[1:] &= ~flag[:-1] | prepared.groups.first[1:]
    return onset


def run_detector(
    prepared: Prepared,
    *,
    detector: Detector,
    config: FeedbackConfig,
    scale: str = "total",
    reliable_change: float | None = None,
    inputs: RuptureInputs | None = None,
) -> Detection:
    """Run one rupture detector on one alliance scale of a prepared clinic frame.

    Parameters
    ----------
    detector
        ``sd_k1``: a drop from the previous session of at least ``sd_k_sensitive`` x SD
        (Strauss et al., 2006); ``sd_k2``: at least ``sd_k_strict`` x SD (Stiles et al.,
        2004); the SD is the larger of the client's own within-client SD so far and the
        clinic's within-client SD (Gumz et al., 2012). ``reliable_change``: a drop of at
        least the scale's reliable-change threshold (Jacobson & Truax, 1991).
        ``items``: a self-reported rupture item (tension, feeling misunderstood, wanting to
        withdraw) at or above ``item_threshold``. ``bordin``: the project's fixed-constant
        detector, below (an option; it led before the adaptive detector).
        ``adaptive``: every parameter estimated from the clinic (prediction weight, residual
        scale, a t-null/normal-drop mixture with the rupture items as a second feature, an
        expected-F1 posterior threshold; on the total, the subscales' posteriors join the
        total's), per rating number (a client's n-th rated session) without look-ahead,
        from the clinic norms when given
        (:mod:`bordin.feedback._adaptive`); its evidence is the posterior probability of a
        rupture.
    scale
        ``total``, ``bond``, ``goal`` or ``task``.

    Notes
    -----
    Bordin's detector compares the session with a baseline that blends the previous session
    with the client's exponentially weighted running level,
    :math:`b_t = w x_{t-1} + (1-w)\\,\\mathrm{EWM}(x_{1..t-1})`, in units of the same SD
    as the published criteria, :math:`z_t = (b_t - x_t)/\\mathrm{SD}_t`. The evidence adds
    the subscale that dropped most from the previous session, :math:`z^{sub}_t` in that
    subscale's SD units, and the self-reported rupture items:
    :math:`E_t = z_t + \\tfrac12\\max(0, z^{sub}_t - z_t) + \\lambda I_t`, with :math:`I_t`
    the sum of the rupture items (tension, feeling misunderstood, withdrawal; 0-12) and
    :math:`\\lambda` = ``bordin_item_weight``, and a rupture is flagged when the alliance
    fell and :math:`E_t \\ge` ``bordin_threshold`` (``bordin_threshold_no_items`` in a
    session without rupture items, e.g. the WAI-SR).
    A single noisy high session inflates the previous-session baseline; the running level
    damps it, and rupture items reveal ruptures that a ceiling hides.
    """
    if detector not in DETECTORS:
        raise InputError(f"unknown rupture detector {detector!r}; use one of {DETECTORS}")
    if scale not in prepared.alliance:
        raise InputError("alliance scale is missing", column=f"{prepared.alliance_id}_{scale}")
    inputs = inputs if inputs is not None else RuptureInputs(prepared, config)
    x = prepared.alliance[scale]
    bordin = detector == "bordin"
    component, sub_z, marker, item_max, item_sum = inputs.features()
    evidence: FloatArray
    if detector == "adaptive":
        found = inputs.adaptive(scale)
        pre_level, drop, evidence, flag = (
            found.prediction,
            found.drop,
            found.posterior,
            found.flag,
        )
        # A clinic's first days: until it has ``clinic_sd_min_df`` prediction residuals up
        # to a session number the detector has no residual scale there (and predicts from
        # the previous session), so neither its mixture nor its own 2-SD fallback can judge
        # a drop. The published criterion stands in: a drop from the previous session of
        # ``sd_k_strict`` SDs, the SD the client's own or the clinic's within-client SD,
        # from the bundled norms while the clinic has too few clients (Stiles et al., 2004).
        unscaled = np.isnan(found.z) & ~np.isnan(found.prediction) & ~np.isnan(x)
        if unscaled.any():
            with np.errstate(invalid="ignore"):
                stand_in = inputs.z(scale) >= config.sd_k_strict
            flag = np.where(unscaled, stand_in, flag)
    else:
        pre_level = inputs.blended(scale) if bordin else inputs.previous(scale)
        drop = inputs.drop(scale, blended=bordin)
        z = inputs.z(scale, blended=bordin)
        if detector in ("sd_k1", "sd_k2"):
            k = config.sd_k_sensitive if detector == "sd_k1" else config.sd_k_strict
            evidence = z
            flag = z >= k  # False for NaN
        elif detector == "reliable_change":
            if reliable_change is None or not np.isfinite(reliable_change):
                raise InputError(f"no reliable-change threshold for {prepared.alliance_id}_{scale}")
            evidence = drop
            flag = drop >= reliable_change - 1e-12
        elif detector == "items":
            evidence = item_max
            flag = item_max >= config.item_threshold
        else:
            # "fell": by more than floating-point noise in the running level
            evidence, flag = bordin_evidence(
                z,
                drop,
                sub_z,
                item_sum,
                config.bordin_item_weight,
                config.bordin_threshold,
                config.bordin_threshold_no_items,
            )
    if scale != "total":
        component = inputs.component_of(scale)
    flag = np.asarray(flag, dtype=bool)
    return Detection(
        detector=detector,
        scale=scale,
        flag=flag,
        onset=_onsets(flag, prepared),
        pre_level=pre_level,
        depth=drop,
        evidence=np.asarray(evidence, dtype=np.float64),
        component=component,
        marker=marker,
        values=x,
    )


# ---- compiled kernels (numba; shared options in bordin.feedback._jit) ----


def row_features(
    z_subscales: Sequence[np.ndarray], items: Sequence[np.ndarray], item_threshold: float, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the subscale that dropped most (0 bond, 1 goal, 2 task, 3 none) and that
    drop in its SD units; the marker (0 withdrawal, 1 confrontation, 2 unknown); the
    strongest rupture item and the sum of the items (NaN when none was asked).

    ``z_subscales`` are the bond, goal and task drops in SD units and ``items`` the tension,
    feeling misunderstood and withdrawal items; an array of length 0 is a subscale or item
    the instrument does not have.
    """
    codes = np.empty((2, n), dtype=np.int8)
    floats = np.empty((3, n))
    z_bond, z_goal, z_task = z_subscales
    tension, misunderstood, withdrawal = items
    _row_features(
        z_bond, z_goal, z_task, tension, misunderstood, withdrawal, item_threshold, codes, floats
    )
    return codes[0], floats[0], codes[1], floats[1], floats[2]


@numba.njit(**JIT)
def _row_features(
    z_bond: np.ndarray,
    z_goal: np.ndarray,
    z_task: np.ndarray,
    tension: np.ndarray,
    misunderstood: np.ndarray,
    withdrawal: np.ndarray,
    item_threshold: float,
    codes: np.ndarray,
    floats: np.ndarray,
) -> None:
    for r in range(codes.shape[1]):
        index = 3
        best = -np.inf
        if z_bond.shape[0] and z_bond[r] > best:
            best = z_bond[r]
            index = 0
        if z_goal.shape[0] and z_goal[r] > best:
            best = z_goal[r]
            index = 1
        if z_task.shape[0] and z_task[r] > best:
            best = z_task[r]
            index = 2
        codes[0, r] = index
        floats[0, r] = NAN if math.isinf(best) else best
        t = tension[r] if tension.shape[0] else NAN
        m = misunderstood[r] if misunderstood.shape[0] else NAN
        w = withdrawal[r] if withdrawal.shape[0] else NAN
        # fmax: the larger value that is present, NaN when neither is
        confront = m if math.isnan(t) else (t if math.isnan(m) else max(t, m))
        strongest = w if math.isnan(confront) else (confront if math.isnan(w) else max(confront, w))
        floats[1, r] = strongest
        c = -1.0 if math.isnan(confront) else confront
        wd = -1.0 if math.isnan(w) else w
        mark = 2
        if c >= item_threshold and c > wd:
            mark = 1
        if wd >= item_threshold and wd >= c:
            mark = 0
        codes[1, r] = mark
        if math.isnan(t) and math.isnan(m) and math.isnan(w):
            floats[2, r] = NAN
        else:
            total = 0.0
            if not math.isnan(t):
                total += t
            if not math.isnan(m):
                total += m
            if not math.isnan(w):
                total += w
            floats[2, r] = total


def bordin_evidence(
    z: np.ndarray,
    drop: np.ndarray,
    sub_z: np.ndarray,
    item_sum: np.ndarray,
    item_weight: float,
    threshold: float,
    threshold_no_items: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Bordin's evidence :math:`z + \\tfrac12\\max(0, z^{sub} - z) + \\lambda I` and its
    flag (evidence at or above the threshold and the alliance fell by more than noise)."""
    evidence, flag = np.empty(z.shape[0]), np.empty(z.shape[0], dtype=bool)
    _bordin_evidence(
        z, drop, sub_z, item_sum, item_weight, threshold, threshold_no_items, evidence, flag
    )
    return evidence, flag


@numba.njit(**JIT)
def _bordin_evidence(
    z: np.ndarray,
    drop: np.ndarray,
    sub_z: np.ndarray,
    item_sum: np.ndarray,
    item_weight: float,
    threshold: float,
    threshold_no_items: float,
    evidence: np.ndarray,
    flag: np.ndarray,
) -> None:
    for r in range(z.shape[0]):
        zr = z[r]
        # numpy.nan_to_num: NaN to 0, infinities to the largest finite values
        z0 = 0.0 if math.isnan(zr) else (BIG if zr == np.inf else (-BIG if zr == -np.inf else zr))
        s = sub_z[r]
        boost = 0.0 if math.isnan(s) else 0.5 * max(s - z0, 0.0)
        items = item_sum[r]
        asked = not math.isnan(items)
        e = zr + boost + item_weight * (items if asked else 0.0)
        evidence[r] = e
        flag[r] = e >= (threshold if asked else threshold_no_items) and drop[r] > 1e-9
