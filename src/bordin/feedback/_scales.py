"""The SD scale of the rupture criteria and the running quantities of an alliance scale.

Previous value, the client's own within-client SD so far, the clinic's pooled within-client
SD by session number (Gumz et al., 2012) and Bordin's blended baseline, in one pass over the
rows; and a drop expressed in units of that SD.

References
----------
Gumz, A., Kästner, D., Geyer, M., Wutzler, U., Villmann, T., & Brähler, E. (2012). Course of
the therapeutic alliance and ruptures in psychodynamic psychotherapy.
Frontiers in Psychology, 3.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from bordin.feedback._groups import FloatArray
from bordin.feedback._jit import JIT, NAN
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig

__all__ = ["ScaleStats", "scale_pass", "scale_stats", "scale_z"]


@dataclass(frozen=True)
class ScaleStats:
    """One alliance scale's running quantities (aligned with ``Prepared.frame``).

    ``previous`` is the previous session's value; ``own_sd`` the client's own within-client
    SD of the earlier sessions (NaN until ``sd_min_sessions`` of them); ``clinic_sd`` the
    clinic's pooled within-client SD at each session number, using only sessions numbered up
    to it (NaN until the clinic has ``clinic_sd_min_df`` pooled degrees of freedom), taken
    from the clinic norms; ``clinic_sums`` this frame's own pooled sums by session number
    (2 x T: sum of squares, degrees of freedom), what the norms are fitted from; and
    ``baseline`` Bordin's blended baseline (None unless asked for).
    """

    previous: FloatArray
    own_sd: FloatArray
    clinic_sd: FloatArray
    clinic_sums: FloatArray
    baseline: FloatArray | None


def scale_stats(
    values: FloatArray,
    prepared: Prepared,
    config: FeedbackConfig,
    *,
    baseline: bool,
    clinic_sd: Callable[[int], FloatArray] | None = None,
) -> ScaleStats:
    """The SD scale of the rupture criteria and Bordin's baseline for one alliance scale.

    The scale is max(client's own within-client SD so far, clinic within-client SD) (Gumz et
    al., 2012). Each client's sum of squared deviations from their own mean grows session by
    session (Welford's update); pooling these over clients for all sessions numbered up to
    *t* gives the clinic's within-client SD at session *t*. Computing it cumulatively by
    session number keeps the rule free of look-ahead: a session added later never changes a
    signal at an earlier session number.

    ``clinic_sd`` gives the clinic's SD for session numbers 0..T-1 (from the clinic norms,
    :meth:`bordin.feedback.ClinicNorms.clinic_sd`); without it the frame's own pooled sums
    are used.
    """
    groups = prepared.groups
    sess = prepared.session_int
    top = int(sess.max()) + 1 if sess.size else 1
    decay = 0.5 ** (1.0 / config.bordin_halflife) if baseline else 0.0
    previous, own, base, sums = _passed(
        values, groups.first, sess, top, config.sd_min_sessions, decay, config.bordin_blend
    )
    if clinic_sd is not None:
        clinic = clinic_sd(top)
    else:
        ss = np.cumsum(sums[0])
        df = np.cumsum(sums[1])
        with np.errstate(invalid="ignore", divide="ignore"):
            clinic = np.where(
                df >= max(config.clinic_sd_min_df, 1), np.sqrt(ss / np.maximum(df, 1)), np.nan
            )
    return ScaleStats(
        previous=previous,
        own_sd=own,
        clinic_sd=clinic,
        clinic_sums=sums,
        baseline=base if baseline else None,
    )


# ---- compiled kernels (numba; shared options in bordin.feedback._jit) ----


def scale_pass(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    top: int,
    sd_min_sessions: int,
    decay: float,
    blend: float,
) -> tuple[np.ndarray, ...]:
    """One alliance scale, row by row: the previous value, the client's own within-client SD
    of the earlier sessions (ddof 1; NaN until ``sd_min_sessions`` earlier values), Bordin's
    baseline (``blend`` x the previous value + (1 - ``blend``) x the exponentially weighted
    level of the earlier sessions, ``decay`` per session; the previous value alone before
    there is a level; skipped when ``decay`` is 0), and per session number the clinic's
    pooled within-client sum of squares and degrees of freedom (Welford's update of each
    client's own mean).

    Sums are taken around the client's first value (a client-local centre, for accuracy).
    """
    previous, own, baseline, by_session = _passed(
        values, first, session, top, sd_min_sessions, decay, blend
    )
    return previous, own, baseline, by_session[0], by_session[1]


def _passed(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    top: int,
    sd_min_sessions: int,
    decay: float,
    blend: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`scale_pass` with the sums by session number as one 2 x ``top`` array."""
    n = values.shape[0]
    out = (np.empty(n), np.empty(n), np.empty(n if decay > 0.0 else 0), np.zeros((2, top)))
    _scale_pass(values, first, session, sd_min_sessions, decay, blend, *out)
    return out


@numba.njit(**JIT)
def _scale_pass(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    sd_min_sessions: int,
    decay: float,
    blend: float,
    prev: np.ndarray,
    own: np.ndarray,
    baseline: np.ndarray,
    by_session: np.ndarray,
) -> None:
    n = values.shape[0]
    centre = 0.0
    count = 0.0
    s1 = 0.0
    s2 = 0.0
    ew_s = 0.0
    ew_w = 0.0
    for r in range(n):
        v = values[r]
        if first[r]:
            centre = 0.0 if math.isnan(v) else v
            count = 0.0
            s1 = 0.0
            s2 = 0.0
            ew_s = 0.0
            ew_w = 0.0
            prev[r] = NAN
        else:
            prev[r] = values[r - 1]
        if decay > 0.0:
            p = prev[r]
            baseline[r] = blend * p + (1.0 - blend) * (ew_s / ew_w) if ew_w > 1e-12 else p
        if count >= 2.0 and count >= sd_min_sessions:
            mean_c = s1 / count
            var = (s2 - s1 * mean_c) / (count - 1.0)
            own[r] = math.sqrt(var) if var > 0.0 else 0.0
        else:
            own[r] = NAN
        ok = not math.isnan(v)
        if ok and count >= 1.0:
            d = v - (s1 / count + centre)
            by_session[0, session[r]] += d * d * count / (count + 1.0)
            by_session[1, session[r]] += 1.0
        if ok:
            dv = v - centre
            count += 1.0
            s1 += dv
            s2 += dv * dv
        if decay > 0.0:
            ew_s = (v if ok else 0.0) + decay * ew_s
            ew_w = (1.0 if ok else 0.0) + decay * ew_w


def scale_z(
    values: np.ndarray,
    baseline: np.ndarray,
    own: np.ndarray,
    clinic_by_session: np.ndarray,
    session: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Drop from ``baseline`` to this session and that drop in units of
    max(own SD, clinic SD at this session number) (NaN where both are missing)."""
    drop, z = np.empty(values.shape[0]), np.empty(values.shape[0])
    _scale_z(values, baseline, own, clinic_by_session, session, drop, z)
    return drop, z


@numba.njit(**JIT)
def _scale_z(
    values: np.ndarray,
    baseline: np.ndarray,
    own: np.ndarray,
    clinic_by_session: np.ndarray,
    session: np.ndarray,
    drop: np.ndarray,
    z: np.ndarray,
) -> None:
    for r in range(values.shape[0]):
        d = baseline[r] - values[r]
        a = own[r]
        b = clinic_by_session[session[r]]
        sd = b if math.isnan(a) else (a if math.isnan(b) else max(a, b))
        drop[r] = d
        z[r] = d / sd
