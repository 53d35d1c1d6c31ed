"""Alliance rupture detection: the published criteria and Bordin's default detector.

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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

import numpy as np

from bordin.errors import InputError
from bordin.feedback._groups import (
    BoolArray,
    FloatArray,
    ewm_previous,
    expanding_moments_previous,
    shift,
)
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig

__all__ = [
    "COMPONENTS",
    "DETECTORS",
    "MARKERS",
    "Detection",
    "Detector",
    "RuptureInputs",
    "clinic_within_sd",
    "run_detector",
]

Detector = Literal["bordin", "sd_k1", "sd_k2", "reliable_change", "items"]
DETECTORS: Final[tuple[str, ...]] = get_args(Detector)
COMPONENTS: Final = ("bond", "goal", "task", "total")
MARKERS: Final = ("withdrawal", "confrontation", "unknown")


@dataclass(frozen=True)
class Detection:
    """Per-row output of one detector on one scale (aligned with ``Prepared.frame``).

    ``flag`` marks sessions that meet the criterion, ``onset`` the first session of each run
    of flagged sessions (one rupture event), ``pre_level`` the alliance the rupture is
    measured against, ``depth`` the drop from it, ``evidence`` the detector's statistic
    (drop in SD units for the SD and Bordin detectors), ``component`` and ``marker`` the
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


def clinic_within_sd(
    values: FloatArray,
    prepared: Prepared,
    *,
    min_df: int,
    moments: tuple[FloatArray, FloatArray] | None = None,
) -> FloatArray:
    """The clinic's pooled within-client SD, using only sessions up to each row's session.

    Each client's sum of squared deviations from their own mean grows session by session
    (Welford's update); pooling these over clients for all sessions numbered up to *t* gives
    the clinic's within-client SD at session *t* (Gumz et al., 2012 use the clinic's
    within-client SD as the floor of the rupture scale). Computing it cumulatively by
    session number keeps the rule free of look-ahead: a session added later never changes a
    signal at an earlier session number. NaN until the clinic has ``min_df`` pooled
    within-client degrees of freedom. ``moments`` are the count and mean of each client's
    earlier values when already computed.
    """
    if moments is None:
        n_prev, mean_prev, _ = expanding_moments_previous(values, prepared.groups)
    else:
        n_prev, mean_prev = moments
    groups = prepared.groups
    sess = prepared.session_int
    top = int(sess.max()) + 1 if sess.size else 1
    dss = (values - mean_prev) ** 2
    dss *= n_prev
    if n_prev is groups.position_float and not np.isnan(values).any():
        # no missing values: every row after the client's first counts
        dss /= groups.position_float_plus_one
        dss[groups.first] = 0.0
        df = prepared.followups_by_session(top)
    else:
        contrib = ~np.isnan(values) & (n_prev >= 1)
        dss /= n_prev + 1.0
        dss[~contrib] = 0.0
        df = np.cumsum(np.bincount(sess[contrib], minlength=top)).astype(np.float64)
    ss = np.cumsum(np.bincount(sess, weights=dss, minlength=top))
    with np.errstate(invalid="ignore", divide="ignore"):
        sd_by_session = np.where(df >= max(min_df, 1), np.sqrt(ss / np.maximum(df, 1)), np.nan)
    out: FloatArray = sd_by_session[sess]
    return out


def _scale_sd(values: FloatArray, prepared: Prepared, config: FeedbackConfig) -> FloatArray:
    """max(client's own within-client SD so far, clinic within-client SD) (Gumz et al., 2012)."""
    n_prev, mean_prev, own = expanding_moments_previous(values, prepared.groups)
    if n_prev is prepared.groups.position_float:  # no missing values: n_prev is the position
        own[prepared.groups.position_below(config.sd_min_sessions)] = np.nan
    else:
        own = np.where(n_prev >= config.sd_min_sessions, own, np.nan)
    clinic = clinic_within_sd(
        values, prepared, min_df=config.clinic_sd_min_df, moments=(n_prev, mean_prev)
    )
    scale: FloatArray = np.fmax(own, clinic)
    return scale


class RuptureInputs:
    """The per-scale quantities every detector needs, computed once per clinic frame.

    Several detectors run on the same frame (``compute_feedback`` runs eleven); they share
    the previous values, SD scales, running baselines, rupture types and item evidence.
    """

    def __init__(self, prepared: Prepared, config: FeedbackConfig) -> None:
        self.prepared = prepared
        self.config = config
        self._memo: dict[tuple[str, str], Any] = {}

    def _get(self, key: tuple[str, str], make: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def previous(self, scale: str) -> FloatArray:
        v = self.prepared.alliance[scale]
        result: FloatArray = self._get(
            ("previous", scale), lambda: shift(v, self.prepared.groups, 1)
        )
        return result

    def scale_sd(self, scale: str) -> FloatArray:
        v = self.prepared.alliance[scale]
        result: FloatArray = self._get(
            ("sd", scale), lambda: _scale_sd(v, self.prepared, self.config)
        )
        return result

    def blended(self, scale: str) -> FloatArray:
        """Bordin's baseline: previous session blended with the running level."""

        def make() -> FloatArray:
            v = self.prepared.alliance[scale]
            p = self.previous(scale)
            run = ewm_previous(v, self.prepared.groups, self.config.bordin_halflife)
            w = self.config.bordin_blend
            out: FloatArray = np.where(np.isnan(run), p, w * p + (1.0 - w) * run)
            return out

        result: FloatArray = self._get(("blended", scale), make)
        return result

    def drop(self, scale: str, *, blended: bool = False) -> FloatArray:
        """Drop from the previous session (or from Bordin's baseline) to this one."""

        def make() -> FloatArray:
            pre = self.blended(scale) if blended else self.previous(scale)
            out: FloatArray = pre - self.prepared.alliance[scale]
            return out

        result: FloatArray = self._get(("drop_blended" if blended else "drop", scale), make)
        return result

    def z(self, scale: str, *, blended: bool = False) -> FloatArray:
        """:meth:`drop` in units of the scale's SD."""

        def make() -> FloatArray:
            drop = self.drop(scale, blended=blended)
            with np.errstate(invalid="ignore", divide="ignore"):
                out: FloatArray = drop / self.scale_sd(scale)
            return out

        result: FloatArray = self._get(("z_blended" if blended else "z", scale), make)
        return result

    def component_of(self, scale: str) -> np.ndarray:
        """The component column of a subscale's detections: that subscale on every row."""
        n = self.prepared.groups.n_rows
        result: np.ndarray = self._get(
            ("component", scale), lambda: np.full(n, COMPONENTS.index(scale), dtype=np.int8)
        )
        return result

    def components(self) -> tuple[np.ndarray, FloatArray]:
        """The subscale that dropped most from the previous session, in its SD units."""

        def make() -> tuple[np.ndarray, FloatArray]:
            subs: list[str] = [s for s in ("bond", "goal", "task") if s in self.prepared.alliance]
            return _components(self.prepared, {s: self.z(s) for s in subs})

        result: tuple[np.ndarray, FloatArray] = self._get(("components", ""), make)
        return result

    def markers(self) -> np.ndarray:
        result: np.ndarray = self._get(
            ("markers", ""), lambda: _markers(self.prepared, self.config)
        )
        return result

    def item_max(self) -> FloatArray:
        result: FloatArray = self._get(
            ("item_max", ""), lambda: _item_evidence(self.prepared, self.config)
        )
        return result

    def item_sum(self) -> FloatArray:
        result: FloatArray = self._get(("item_sum", ""), lambda: _item_sum(self.prepared))
        return result


def _onsets(flag: BoolArray, prepared: Prepared) -> BoolArray:
    """First flagged session of each run of flagged sessions of a client."""
    onset: BoolArray = flag.copy()
    if flag.shape[0] > 1:
        onset[1:] &= ~flag[:-1] | prepared.groups.first[1:]
    return onset


def _item(prepared: Prepared, name: str) -> FloatArray:
    got = prepared.items.get(name)
    return got if got is not None else np.full(prepared.groups.n_rows, np.nan)


def _markers(prepared: Prepared, config: FeedbackConfig) -> np.ndarray:
    """Withdrawal vs confrontation marker from the rupture items (Safran & Muran, 2000).

    Withdrawal: the client moves away (wanting to hold back). Confrontation: the client moves
    against the therapist (tension or disagreement, feeling misunderstood or criticised).
    Unknown when neither reaches ``item_threshold`` or the items were not asked.
    """
    withdraw = np.nan_to_num(_item(prepared, "withdrawal"), nan=-1.0)
    confront = np.fmax(_item(prepared, "tension"), _item(prepared, "misunderstood"))
    confront = np.nan_to_num(confront, nan=-1.0)
    thr = config.item_threshold
    marker = np.full(prepared.groups.n_rows, 2, dtype=np.int8)
    marker[(confront >= thr) & (confront > withdraw)] = 1
    marker[(withdraw >= thr) & (withdraw >= confront)] = 0
    return marker


def _item_evidence(prepared: Prepared, config: FeedbackConfig) -> FloatArray:
    """Strongest self-reported rupture item this session (0-4), NaN when not asked."""
    tension, misunderstood, withdrawal = (
        _item(prepared, n) for n in ("tension", "misunderstood", "withdrawal")
    )
    # fmax skips NaN: the largest item asked, NaN when none was
    best: FloatArray = np.fmax(np.fmax(tension, misunderstood), withdrawal)
    return best


def _item_sum(prepared: Prepared) -> FloatArray:
    """Sum of the self-reported rupture items this session (0-12), NaN when none was asked."""
    n = prepared.groups.n_rows
    total: FloatArray = np.zeros(n)  # from +0.0, then each item in turn, as np.nansum adds
    none = np.ones(n, dtype=bool)
    for name in ("tension", "misunderstood", "withdrawal"):
        item = _item(prepared, name)
        missing = np.isnan(item)
        total += np.where(missing, 0.0, item)
        none &= missing
    total[none] = np.nan
    return total


def _components(prepared: Prepared, drops: dict[str, FloatArray]) -> tuple[np.ndarray, FloatArray]:
    """Which subscale dropped most, in its own SD units (``drops``); and that largest drop."""
    n = prepared.groups.n_rows
    subs = [s for s in ("bond", "goal", "task") if s in prepared.alliance]
    index = np.full(n, COMPONENTS.index("total"), dtype=np.int8)
    best = np.full(n, -np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in subs:
            z = drops[name]
            better = z > best  # False for NaN, so a missing subscale never wins
            best = np.where(better, z, best)
            index[better] = COMPONENTS.index(name)
    best[np.isinf(best)] = np.nan
    return index, best


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
        withdraw) at or above ``item_threshold``. ``bordin``: the project's default, below.
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
    pre_level = inputs.blended(scale) if bordin else inputs.previous(scale)
    drop = inputs.drop(scale, blended=bordin)
    z = inputs.z(scale, blended=bordin)
    component, sub_z = inputs.components()
    marker = inputs.markers()
    evidence: FloatArray
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
        items = inputs.item_max()
        evidence = items
        flag = items >= config.item_threshold
    else:
        boost = np.where(np.isnan(sub_z), 0.0, 0.5 * np.clip(sub_z - np.nan_to_num(z), 0, None))
        item_sum = inputs.item_sum()
        asked = ~np.isnan(item_sum)
        evidence = z + boost + config.bordin_item_weight * np.nan_to_num(item_sum, nan=0.0)
        threshold = np.where(asked, config.bordin_threshold, config.bordin_threshold_no_items)
        # "fell": by more than floating-point noise in the running level
        flag = (evidence >= threshold) & (drop > 1e-9)  # False for NaN
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
