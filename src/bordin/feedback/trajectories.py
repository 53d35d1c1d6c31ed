"""Expected recovery curves and not-on-track status (Finch, Lambert & Schaalje, 2001).

The expected change from intake at session *t* is modelled on log(session), conditional on
intake severity:

.. math:: y_t - y_1 = (c + d\\,y_1)\\log t + \\varepsilon_t,
          \\qquad \\operatorname{Var}\\varepsilon_t = \\sigma^2 \\log t,

so that change is zero at intake, fastest early (the log-linear dose-response of Howard et
al., 1986) and its spread grows with time. The coefficients are estimated by weighted least
squares. A client whose change is above the one-sided upper prediction limit at level
``not_on_track_level`` is *not on track* (Finch et al., 2001; Lambert et al., 2002). Finch
et al. used 0.90; the default 0.95 was chosen by the burden analysis of docs/alert-validity.md
on the simulator, and a clinic can set it back.

The curve at session *t* is fitted on the clinic's sessions numbered 2..*t* (so a later
session never changes an earlier signal) when at least ``min_clinic_clients`` clients
contribute; otherwise on the bundled norms (simulated clinics, see ``norms.json``), and the
output says which.

Colours (after Lambert's OQ-45 feedback system): **red** above the upper prediction limit
(not on track; risk of treatment failure); **white** in the non-clinical range (below the
caseness cutoff) and not red; **yellow** worse than the expected curve but within the limit
(less than expected progress); **green** at or better than expected. No colour at intake.

References
----------
Finch, A. E., Lambert, M. J., & Schaalje, B. G. (2001). Psychotherapy quality control: the
statistical generation of expected recovery curves for integration into an early warning
system. doi:10.1002/cpp.286
Lambert, M. J., Whipple, J. L., Bishop, M. J., et al. (2002). Comparison of empirically
derived and rationally derived methods for identifying patients at risk for treatment
failure. Clinical Psychology & Psychotherapy, 9(3).
Howard, K. I., Kopta, S. M., Krause, M. S., & Orlinsky, D. E. (1986). The dose-effect
relationship in psychotherapy. doi:10.1037/0003-066X.41.2.159
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import numba
import numpy as np
import pandas as pd
from scipy import special

from bordin.feedback._categorical import from_codes
from bordin.feedback._groups import FloatArray
from bordin.feedback._jit import JIT, NAN
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.outcomes import OutcomeSignals

__all__ = [
    "COLOURS",
    "CURVE_SOURCES",
    "CurveNorm",
    "TrajectorySignals",
    "assess_trajectory",
    "curve_sums",
    "expected_curves",
    "fit_curve_norm",
    "load_norms",
]

COLOURS: Final = ("red", "yellow", "green", "white")
CURVE_SOURCES: Final = ("clinic", "norms", "none")


@dataclass(frozen=True)
class CurveNorm:
    """A fitted expected-recovery model for one outcome instrument (severity orientation).

    ``coef`` is (c, d); ``xtx_inv`` the inverse of the weighted cross-product matrix; ``sigma``
    the residual SD per unit log(session); ``df`` its degrees of freedom; ``n_clients`` the
    clients it was fitted on; ``source`` a sentence saying where it comes from.
    """

    instrument: str
    coef: tuple[float, float]
    xtx_inv: tuple[tuple[float, float], tuple[float, float]]
    sigma: float
    df: int
    n_clients: int
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "coef": list(self.coef),
            "xtx_inv": [list(r) for r in self.xtx_inv],
            "sigma": self.sigma,
            "df": self.df,
            "n_clients": self.n_clients,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CurveNorm:
        (a, b), (c, d) = data["xtx_inv"]
        return cls(
            instrument=str(data["instrument"]),
            coef=(float(data["coef"][0]), float(data["coef"][1])),
            xtx_inv=((float(a), float(b)), (float(c), float(d))),
            sigma=float(data["sigma"]),
            df=int(data["df"]),
            n_clients=int(data["n_clients"]),
            source=str(data["source"]),
        )


def load_norms() -> dict[str, CurveNorm]:
    """The bundled norms (expected-recovery models derived from simulated clinics)."""
    text = resources.files("bordin.feedback").joinpath("norms.json").read_text("utf-8")
    data = json.loads(text)
    return {k: CurveNorm.from_dict(v) for k, v in data["norms"].items()}


@dataclass(frozen=True)
class TrajectorySignals:
    """Per-row expected change, upper prediction limit, colour and model source."""

    instrument: str
    expected: FloatArray
    upper: FloatArray
    change: FloatArray
    off_track: np.ndarray
    colour: pd.Categorical
    source: pd.Categorical


def _log_sessions(top: int) -> FloatArray:
    """log(session) for session numbers 0..top-1 (0 for sessions 0 and 1)."""
    result: FloatArray = np.log(np.arange(top, dtype=np.float64).clip(1))
    return result


def _sign(outcome: OutcomeSignals, prepared: Prepared) -> float:
    """+1 when higher scores are worse (severity orientation), -1 when higher is better."""
    return -1.0 if prepared.outcome_facts[outcome.instrument].higher_is_better else 1.0


def curve_sums(outcome: OutcomeSignals, prepared: Prepared) -> FloatArray:
    """Per session number (columns 0..T-1): the model's weighted least-squares sums (rows
    s11, s12, s22, r1, r2, rr, n) and the clients whose first follow-up it is (row 7).

    These are what the clinic norms keep for each outcome
    (:class:`bordin.feedback.ClinicNorms`); accumulated over session numbers up to *t* they
    give the curve at session *t*.
    """
    sess = prepared.session_int
    top = int(sess.max()) + 1 if sess.size else 1
    sums: FloatArray = trajectory_sums(
        outcome.intake,
        outcome.change,
        prepared.groups.first,
        sess,
        _log_sessions(top),
        _sign(outcome, prepared),
        top,
    )
    return sums


def _solve(
    s11: FloatArray,
    s12: FloatArray,
    s22: FloatArray,
    r1: FloatArray,
    r2: FloatArray,
    rr: FloatArray,
    n: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        det = s11 * s22 - s12 * s12
        i11 = s22 / det
        i12 = -s12 / det
        i22 = s11 / det
        c = i11 * r1 + i12 * r2
        d = i12 * r1 + i22 * r2
        sse = rr - (c * r1 + d * r2)
        df = n - 2
        sigma = np.sqrt(np.clip(sse, 0, None) / df)
    return c, d, i11, i12, i22, sigma, df


def fit_curve_norm(outcome: OutcomeSignals, prepared: Prepared, *, source: str) -> CurveNorm:
    """Fit the expected-recovery model on all of a clinic's sessions (used to make norms)."""
    total = curve_sums(outcome, prepared).sum(axis=1, keepdims=True)
    c, d, i11, i12, i22, sigma, df = _solve(*total[:7])
    n_clients = int(total[7, 0])
    return CurveNorm(
        instrument=outcome.instrument,
        coef=(float(c[0]), float(d[0])),
        xtx_inv=((float(i11[0]), float(i12[0])), (float(i12[0]), float(i22[0]))),
        sigma=float(sigma[0]),
        df=int(df[0]),
        n_clients=n_clients,
        source=source,
    )


def expected_curves(
    by_session: FloatArray, norm: CurveNorm | None, config: FeedbackConfig
) -> FloatArray:
    """The expected-recovery model at each session number, as :func:`assess_trajectory`
    applies it.

    ``by_session`` are the clinic's model sums by session number (:func:`curve_sums`, from
    the clinic norms), at least as many columns as the frame's highest session number + 1;
    ``norm`` the bundled model used where the clinic has too few clients. Rows of the
    result: c, d, the inverse cross-product's 11, 12 and 22 entries, the upper limit's
    spread (t quantile x sigma) and the source code (0 clinic, 1 bundled norms, 2 none).
    It depends on the norms and two settings only, so the clinic norms keep it
    (:meth:`bordin.feedback.ClinicNorms.expected_curves`).
    """
    cum = np.cumsum(by_session, axis=1)
    clients_by_t = cum[7]
    c, d, i11, i12, i22, sigma, df = _solve(*cum[:7])
    # Everything here is per session number (a few dozen values), gathered per row later.
    clinic_ok = (clients_by_t >= config.min_clinic_clients) & (df > 0) & np.isfinite(sigma)
    if norm is not None:
        (n11, n12), (_, n22) = norm.xtx_inv
        coef_c = np.where(clinic_ok, c, norm.coef[0])
        coef_d = np.where(clinic_ok, d, norm.coef[1])
        j11 = np.where(clinic_ok, i11, n11)
        j12 = np.where(clinic_ok, i12, n12)
        j22 = np.where(clinic_ok, i22, n22)
        sig = np.where(clinic_ok, sigma, norm.sigma)
        dfs = np.where(clinic_ok, df, norm.df)
        source_by_t = np.where(clinic_ok, 0, 1)
    else:
        coef_c = np.where(clinic_ok, c, np.nan)
        coef_d, j11, j12, j22, sig, dfs = d, i11, i12, i22, sigma, df
        source_by_t = np.where(clinic_ok, 0, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        # the t quantile (what scipy.stats.t.ppf computes, without importing scipy.stats)
        q = special.stdtrit(np.maximum(np.nan_to_num(dfs, nan=1.0), 1), config.not_on_track_level)
        spread = q * sig
    model: FloatArray = np.vstack([coef_c, coef_d, j11, j12, j22, spread, source_by_t]).astype(
        np.float64
    )
    return model


def assess_trajectory(
    prepared: Prepared, outcome: OutcomeSignals, model: FloatArray
) -> TrajectorySignals:
    """Expected change, upper prediction limit and colour at every session of one outcome.

    ``model`` is the expected-recovery model by session number (:func:`expected_curves`),
    at least as many columns as the frame's highest session number + 1.
    """
    sign = _sign(outcome, prepared)
    sess = prepared.session_int
    expected, upper, change, off, code, source = trajectory_rows(
        outcome.intake,
        outcome.change,
        outcome.caseness,
        sess,
        _log_sessions(model.shape[1]),
        sign,
        model,
    )
    return TrajectorySignals(
        instrument=outcome.instrument,
        expected=expected,
        upper=upper,
        change=change,
        off_track=off,
        colour=from_codes(code, COLOURS),
        source=from_codes(source, CURVE_SOURCES),
    )


# ---- compiled kernels (numba; shared options in bordin.feedback._jit) ----


@numba.njit(**JIT)
def trajectory_sums(
    intake: np.ndarray,
    change: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    log_session: np.ndarray,
    sign: float,
    top: int,
) -> np.ndarray:
    """Per session number, the weighted least-squares sums of the expected-recovery model
    over follow-up sessions with a score and an intake, the number of such sessions, and
    the clients whose first such session it is (rows of the result, in that order:
    s11, s12, s22, r1, r2, rr, n, clients)."""
    sums = np.zeros((8, top))
    seen = False
    for r in range(intake.shape[0]):
        if first[r]:
            seen = False
        t = session[r]
        y1 = sign * intake[r]
        delta = sign * change[r]
        if t < 2 or math.isnan(delta) or math.isnan(y1):
            continue
        lt = log_session[t]
        sums[0, t] += lt
        sums[1, t] += y1 * lt
        sums[2, t] += y1 * y1 * lt
        sums[3, t] += delta
        sums[4, t] += y1 * delta
        sums[5, t] += delta * delta / lt
        sums[6, t] += 1.0
        if not seen:
            sums[7, t] += 1.0
            seen = True
    return sums


def trajectory_rows(
    intake: np.ndarray,
    change: np.ndarray,
    caseness: np.ndarray,
    session: np.ndarray,
    log_session: np.ndarray,
    sign: float,
    by_session: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Expected change, upper prediction limit and colour code (0 red, 1 yellow, 2 green,
    3 white, -1 none) per row, from the per-session model in ``by_session`` (rows: c, d,
    the inverse cross-product's 11, 12 and 22 entries, the limit's spread t x sigma, and the
    source code), all on the severity scale and returned on the instrument's own."""
    n = intake.shape[0]
    floats = np.empty((3, n))  # expected, upper, change where shown
    off = np.zeros(n, dtype=bool)
    codes = np.full((2, n), -1, dtype=np.int8)  # colour, source
    _trajectory_rows(
        intake, change, caseness, session, log_session, sign, by_session, floats, off, codes
    )
    return floats[0], floats[1], floats[2], off, codes[0], codes[1]


@numba.njit(**JIT)
def _trajectory_rows(
    intake: np.ndarray,
    change: np.ndarray,
    caseness: np.ndarray,
    session: np.ndarray,
    log_session: np.ndarray,
    sign: float,
    by_session: np.ndarray,
    floats: np.ndarray,
    off: np.ndarray,
    codes: np.ndarray,
) -> None:
    for r in range(intake.shape[0]):
        t = session[r]
        y1 = sign * intake[r]
        lt = log_session[t]
        e = (by_session[0, t] + by_session[1, t] * y1) * lt
        lev = lt * (by_session[2, t] + 2 * y1 * by_session[3, t] + y1 * y1 * by_session[4, t])
        u = e + by_session[5, t] * math.sqrt(lt * (1.0 + lev))
        c = sign * change[r]
        if t < 2 or math.isnan(c) or math.isnan(u):
            floats[0, r] = NAN
            floats[1, r] = NAN
            floats[2, r] = NAN
            continue
        floats[0, r] = sign * e
        floats[1, r] = sign * u
        floats[2, r] = change[r]
        codes[1, r] = np.int8(by_session[6, t])
        if c > u:
            off[r] = True
            codes[0, r] = 0
        elif not caseness[r]:
            codes[0, r] = 3
        elif c > e:
            codes[0, r] = 1
        else:
            codes[0, r] = 2
