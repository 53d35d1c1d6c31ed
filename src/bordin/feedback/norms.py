"""Clinic norms: every quantity the feedback rules estimate from more than one client.

A client's feedback depends on the client's own sessions and on a few clinic-wide
references: the clinic's pooled within-client SD of each alliance scale by session number
(the scale of the SD rupture criteria and of Bordin's detector; Gumz et al., 2012), the
expected-recovery curve of each outcome by session number (Finch, Lambert & Schaalje,
2001), and the clinic percentile that weak early alliance is judged against when the
instrument has no concern cutoff (Zilcha-Mano, 2017), and the parameters of the adaptive
rupture detector (:mod:`bordin.feedback._adaptive`: the prediction weight, residual scale and
two-component mixture of each session number). :class:`ClinicNorms` holds all of them as
one versioned, serialisable value fitted on a clinic's scores.

Given the same norms, a client's signals depend on that client's sessions alone: the
service recomputes one client at a submission against its stored snapshot, and
:func:`bordin.feedback.compute_feedback` on the clinic's export with the same snapshot gives
the same answer. Without norms, ``compute_feedback`` fits them from the frame it is given
(:func:`fit_clinic_norms`), which is what the CLI and the report do by default.

What the norms store are sums, not the fitted values: per session number, the pooled
within-client sum of squares and its degrees of freedom, and the weighted least-squares
sums of the recovery model. The rules accumulate them over session numbers up to *t*, so a
signal at session *t* uses only the clinic's sessions numbered up to *t*, and the
thresholds (``clinic_sd_min_df``, ``min_clinic_clients``) are applied when the norms are
used. The adaptive detector's parameters are stored fitted, per session number, each fitted
on the sessions numbered up to it. Everything is written to JSON with full float precision,
so a snapshot read back gives bit-identical signals.

Format 2 added the adaptive detector's parameters (``rupture_model``). A format-1 document
still loads, with the same version (its content is unchanged); the adaptive detector then
fits its parameters on the frame it is given, and refitting the norms stores them.

References
----------
Gumz, A., et al. (2012). Course of the therapeutic alliance and ruptures in psychodynamic
psychotherapy. Frontiers in Psychology, 3.
Finch, A. E., Lambert, M. J., & Schaalje, B. G. (2001). Psychotherapy quality control: the
statistical generation of expected recovery curves for integration into an early warning
system. doi:10.1002/cpp.286
Zilcha-Mano, S. (2017). Is the alliance really therapeutic? Revisiting this question in
light of recent methodological advances. doi:10.1037/a0040435
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final, TypeVar

import numpy as np
import pandas as pd

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
from bordin.feedback._groups import FloatArray
from bordin.feedback._instruments import instrument_facts
from bordin.feedback._prepare import Prepared, instrument_id, prepare_scores
from bordin.feedback._scales import scale_stats
from bordin.feedback._threads import executor
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.early import INSTRUMENT_CUTOFF, early_reference
from bordin.feedback.outcomes import OutcomeSignals, assess_outcome
from bordin.feedback.ruptures import SUBSCALES, joined_scales, row_features
from bordin.feedback.trajectories import CurveNorm, curve_sums, expected_curves, load_norms

__all__ = [
    "NORMS_FORMAT",
    "ClinicNorms",
    "FittedOn",
    "MODELLED_SCALES",
    "fit_clinic_norms",
    "fit_norms",
    "fit_rupture_model",
    "rupture_item_levels",
    "scores_date_range",
]

NORMS_FORMAT: Final = 2
_READABLE_FORMATS: Final = (1, 2)
#: The alliance scales whose adaptive-detector parameters the norms store.
MODELLED_SCALES: Final[tuple[str, ...]] = ("total", *SUBSCALES)
_FITTING_FIELDS: Final = ("early_session", "early_percentile")


@dataclass(frozen=True)
class FittedOn:
    """The data a snapshot was fitted on: clients, sessions, their date range (ISO dates,
    None when the scores carry no dates) and the highest session number."""

    n_clients: int
    n_sessions: int
    first_date: str | None
    last_date: str | None
    last_session: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_clients": self.n_clients,
            "n_sessions": self.n_sessions,
            "first_date": self.first_date,
            "last_date": self.last_date,
            "last_session": self.last_session,
        }


def _readonly(values: Any) -> FloatArray:
    array: FloatArray = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


#: At most this many per-session references kept by one norms value (a clinic's clients
#: ask for a few dozen: scales x their highest session numbers, and the outcomes' curves).
_KEPT_MAX: Final = 512


def _extended(sums: FloatArray, top: int) -> FloatArray:
    """Per-session sums for session numbers 0..top-1: sessions past the fitted ones add
    nothing (the clinic had none), sessions not yet reached are cut."""
    rows = sums.shape[0]
    out: FloatArray = np.zeros((rows, top))
    width = min(top, sums.shape[1])
    out[:, :width] = sums[:, :width]
    return out


@dataclass(frozen=True, eq=False)
class ClinicNorms:
    """Every clinic-wide reference of the feedback rules, fitted on one clinic's scores.

    Attributes
    ----------
    alliance
        Alliance instrument id the norms were fitted for.
    outcomes
        Outcome instrument ids; the service uses these for every client of the clinic.
    within_sd
        For each alliance scale (``total``, ``bond``, ``goal``, ``task``) a 2 x T array:
        per session number 0..T-1 the clinic's pooled within-client sum of squares and its
        degrees of freedom (Welford's update of each client's running mean).
    curves
        For each outcome an 8 x T array: per session number the weighted least-squares sums
        of the expected-recovery model and the clients whose first follow-up it is
        (:func:`bordin.feedback.trajectories.curve_sums`).
    fallback
        The bundled expected-recovery models used at session numbers where the clinic has
        too few clients (``min_clinic_clients``); they come from simulated clients.
    early_reference
        The value early alliance is compared with (NaN when none can be had).
    early_reference_source
        Where it comes from: the instrument's concern cutoff, or the clinic percentile and
        how many clients it rests on.
    early_session, early_percentile
        The settings the early reference was fitted with.
    fitted_on
        The data the norms were fitted on.
    rupture_model
        For each alliance scale in :data:`MODELLED_SCALES` the adaptive rupture detector's
        parameters per session number (:class:`bordin.feedback._adaptive.AdaptiveParams`);
        empty for norms read from a format-1 document.
    fitted_at
        When they were fitted (ISO timestamp), if recorded; not part of :attr:`version`.
    """

    alliance: str
    outcomes: tuple[str, ...]
    within_sd: Mapping[str, FloatArray]
    curves: Mapping[str, FloatArray]
    fallback: Mapping[str, CurveNorm]
    early_reference: float
    early_reference_source: str
    early_session: int
    early_percentile: float
    fitted_on: FittedOn
    fitted_at: str | None = field(default=None)
    rupture_model: Mapping[str, AdaptiveParams] = field(default_factory=dict)

    # ---- use
    @property
    def lacks_rupture_model(self) -> bool:
        """Whether the norms have alliance scales but no adaptive rupture model: stored
        before the model was (a format-1 document, or a format-2 one fitted with
        ``adaptive_in_norms`` off). The adaptive detector then fits its parameters on the
        frame it is given; the service refits such a snapshot."""
        return not self.rupture_model and any(s in self.within_sd for s in MODELLED_SCALES)

    def clinic_sd(self, scale: str, top: int, *, min_df: int) -> FloatArray:
        """The clinic's pooled within-client SD at session numbers 0..top-1, from the
        sessions numbered up to each (NaN until ``min_df`` pooled degrees of freedom)."""
        return self._kept(
            ("clinic_sd", scale, top, min_df), lambda: self._clinic_sd(scale, top, min_df)
        )

    def _clinic_sd(self, scale: str, top: int, min_df: int) -> FloatArray:
        sums = self.within_sd.get(scale)
        if sums is None:
            return np.full(top, np.nan)
        ext = _extended(sums, top)
        ss = np.cumsum(ext[0])
        df = np.cumsum(ext[1])
        with np.errstate(invalid="ignore", divide="ignore"):
            result: FloatArray = np.where(
                df >= max(min_df, 1), np.sqrt(ss / np.maximum(df, 1)), np.nan
            )
        return result

    def curve_sums(self, outcome: str, top: int) -> FloatArray:
        """The recovery-model sums of ``outcome`` at session numbers 0..top-1 (zeros where the
        clinic had no data)."""
        sums = self.curves.get(outcome)
        if sums is None:
            return np.zeros((8, top))
        return _extended(sums, top)

    def expected_curves(self, outcome: str, top: int, config: FeedbackConfig) -> FloatArray:
        """The expected-recovery model of ``outcome`` at session numbers 0..top-1
        (:func:`bordin.feedback.trajectories.expected_curves`: the clinic's curves where
        ``config.min_clinic_clients`` clients contribute, else the bundled ones)."""
        return self._kept(
            ("curves", outcome, top, config),  # a frozen dataclass: hashed by its values
            lambda: expected_curves(
                self.curve_sums(outcome, top), self.fallback.get(outcome), config
            ),
        )

    @cached_property
    def _derived(self) -> dict[tuple[Any, ...], FloatArray]:
        """What :meth:`clinic_sd` and :meth:`expected_curves` made, by their arguments."""
        return {}

    def _kept(self, key: tuple[Any, ...], make: Callable[[], FloatArray]) -> FloatArray:
        """``make()``, made once per key: the service judges every client of a clinic against
        one norms value, and these per-session references depend on the norms and the
        arguments alone (the norms' arrays are read-only). Each caller gets its own copy."""
        kept = self._derived
        found = kept.get(key)
        if found is None:
            found = make()
            found.flags.writeable = False
            if len(kept) >= _KEPT_MAX:  # bounded whatever the callers ask for
                kept.clear()
            kept[key] = found
        return found.copy()

    def check_config(self, config: FeedbackConfig) -> None:
        """Refuse a configuration whose early-alliance settings differ from the fitted ones.

        Raises
        ------
        InputError
            ``early_session`` or ``early_percentile`` differ; refit the norms.
        """
        fitted = {"early_session": self.early_session, "early_percentile": self.early_percentile}
        for name in _FITTING_FIELDS:
            if float(getattr(config, name)) != float(fitted[name]):
                raise InputError(
                    f"the clinic norms were fitted with {name}={fitted[name]:g} but the "
                    f"configuration has {getattr(config, name):g}; refit the norms with it"
                )

    # ---- what they rest on
    def describe(self, config: FeedbackConfig | None = None) -> dict[str, dict[str, str]]:
        """For each quantity, its ``origin`` (``clinic``, ``instrument``, ``bundled`` or
        ``none``) and a sentence (``text``) saying what it rests on."""
        config = config or FeedbackConfig()
        out: dict[str, dict[str, str]] = {}
        for scale, sums in self.within_sd.items():
            df = int(sums[1].sum())
            if df >= max(config.clinic_sd_min_df, 1):
                out[f"within_sd_{scale}"] = {
                    "origin": "clinic",
                    "text": f"this clinic's pooled within-client SD ({df} degrees of freedom)",
                }
            else:
                out[f"within_sd_{scale}"] = {
                    "origin": "none",
                    "text": f"not available: this clinic has {df} pooled degrees of freedom, "
                    f"fewer than {config.clinic_sd_min_df}; each client's own SD is used",
                }
        for oid in self.outcomes:
            clients = int(self.curves[oid][7].sum()) if oid in self.curves else 0
            fallback = self.fallback.get(oid)
            if clients >= config.min_clinic_clients:
                out[f"curve_{oid}"] = {
                    "origin": "clinic",
                    "text": f"this clinic's data ({clients} clients with a follow-up session)",
                }
            elif fallback is not None:
                out[f"curve_{oid}"] = {
                    "origin": "bundled",
                    "text": f"bundled norms ({fallback.source}): this clinic has {clients} "
                    f"clients with a follow-up session, fewer than {config.min_clinic_clients}",
                }
            else:
                out[f"curve_{oid}"] = {
                    "origin": "none",
                    "text": f"not available: this clinic has {clients} clients with a "
                    f"follow-up session, fewer than {config.min_clinic_clients}, and no "
                    "bundled norms exist for this instrument",
                }
        for scale, params in sorted(self.rupture_model.items()):
            n = params.fitted_residuals()
            if params.top and np.isfinite(params.threshold[-1]):
                found = params.fit_summary(config.sd_k_strict)
                out[f"rupture_model_{scale}"] = {
                    "origin": "clinic",
                    "text": "the adaptive rupture detector's mixture fitted on this clinic's "
                    f"data ({n} prediction residuals)" + (f": {found}" if found else ""),
                }
            else:
                out[f"rupture_model_{scale}"] = {
                    "origin": "none",
                    "text": f"not available: this clinic has {n} prediction residuals, too "
                    "few for the mixture; the adaptive detector flags a drop of "
                    f"{config.sd_k_strict:g} residual SDs",
                }
        cutoff = self.early_reference_source == INSTRUMENT_CUTOFF
        missing = math.isnan(self.early_reference)
        out["early_reference"] = {
            "origin": "instrument" if cutoff else ("none" if missing else "clinic"),
            "text": self.early_reference_source,
        }
        return out

    def source(self, config: FeedbackConfig | None = None) -> str:
        """``clinic`` when every clinic-estimated quantity comes from this clinic,
        ``bundled`` when none does (the clinic is too small: bundled norms or the
        instrument's own values are used), ``mixed`` otherwise."""
        origins = [d["origin"] for d in self.describe(config).values()]
        estimated = [o for o in origins if o != "instrument"]
        own = sum(o == "clinic" for o in estimated)
        if own == len(estimated):
            return "clinic"
        return "mixed" if own else "bundled"

    # ---- serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready content (full float precision; NaN as null)."""
        ref = self.early_reference
        return {
            "format": NORMS_FORMAT,
            "version": self.version,
            "fitted_at": self.fitted_at,
            "alliance": self.alliance,
            "outcomes": list(self.outcomes),
            "fitted_on": self.fitted_on.to_dict(),
            **self._content(),
            "early_reference": None if math.isnan(ref) else ref,
        }

    def _content(self) -> dict[str, Any]:
        ref = self.early_reference
        # Without a rupture model (a format-1 document) the content, and so the version, is
        # what format 1 wrote.
        model = (
            {"rupture_model": {k: v.to_dict() for k, v in sorted(self.rupture_model.items())}}
            if self.rupture_model
            else {}
        )
        return {
            **model,
            "alliance": self.alliance,
            "outcomes": list(self.outcomes),
            "within_sd": {k: v.tolist() for k, v in sorted(self.within_sd.items())},
            "curves": {k: v.tolist() for k, v in sorted(self.curves.items())},
            "fallback": {k: v.to_dict() for k, v in sorted(self.fallback.items())},
            "early_reference": None if math.isnan(ref) else ref,
            "early_reference_source": self.early_reference_source,
            "early_session": self.early_session,
            "early_percentile": self.early_percentile,
            "fitted_on": self.fitted_on.to_dict(),
        }

    @cached_property
    def version(self) -> str:
        """A content hash (16 hex digits): equal norms have equal versions."""
        text = json.dumps(self._content(), sort_keys=True, allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "norms") -> ClinicNorms:
        """Read norms written by :meth:`to_dict`.

        Raises
        ------
        InputError
            Not a norms document, another format, or a field missing or malformed (the
            message names the field).
        """
        if not isinstance(data, Mapping) or data.get("format") not in _READABLE_FORMATS:
            raise InputError(
                "not a Bordin clinic-norms document of format "
                f"{' or '.join(map(str, _READABLE_FORMATS))}",
                file=where,
            )
        try:
            fitted_on = data["fitted_on"]
            ref = data["early_reference"]
            norms = cls(
                alliance=str(data["alliance"]),
                outcomes=tuple(str(o) for o in data["outcomes"]),
                within_sd={str(k): _readonly(v) for k, v in data["within_sd"].items()},
                curves={str(k): _readonly(v) for k, v in data["curves"].items()},
                fallback={str(k): CurveNorm.from_dict(v) for k, v in data["fallback"].items()},
                early_reference=math.nan if ref is None else float(ref),
                early_reference_source=str(data["early_reference_source"]),
                early_session=int(data["early_session"]),
                early_percentile=float(data["early_percentile"]),
                fitted_on=FittedOn(
                    n_clients=int(fitted_on["n_clients"]),
                    n_sessions=int(fitted_on["n_sessions"]),
                    first_date=fitted_on["first_date"],
                    last_date=fitted_on["last_date"],
                    last_session=int(fitted_on["last_session"]),
                ),
                fitted_at=data.get("fitted_at"),
                rupture_model={
                    str(k): AdaptiveParams.from_dict(v)
                    for k, v in data.get("rupture_model", {}).items()
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"malformed clinic norms: {exc!r}", file=where) from None
        for name, arrays, rows in (("within_sd", norms.within_sd, 2), ("curves", norms.curves, 8)):
            for key, array in arrays.items():
                if array.ndim != 2 or array.shape[0] != rows:
                    raise InputError(f"malformed clinic norms: {name}.{key}", file=where)
        stated = data.get("version")
        if stated is not None and stated != norms.version:
            raise InputError(
                f"clinic norms do not match their version {stated!r} (edited by hand?)",
                file=where,
            )
        return norms

    @classmethod
    def from_json(cls, text: str, *, where: str = "norms") -> ClinicNorms:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc.msg} (line {exc.lineno})", file=where) from None
        return cls.from_dict(data, where=where)


def scores_date_range(scores: pd.DataFrame) -> tuple[str | None, str | None]:
    """The first and last ISO date of a scores frame's ``date`` column (None without)."""
    if "date" not in scores.columns:
        return None, None
    column = scores["date"]
    if pd.api.types.infer_dtype(column, skipna=True) == "string":
        # each distinct date string parsed once (a clinic has a few hundred dates over a
        # million sessions); equal strings parse to equal dates, and the distinct values
        # keep the order they first appear in, so the format is inferred from the same
        # first value
        column = pd.Series(column.unique(), dtype=column.dtype)
    dates = pd.to_datetime(column, errors="coerce").dropna()
    if dates.empty:
        return None, None
    return dates.min().date().isoformat(), dates.max().date().isoformat()


def fit_norms(
    prepared: Prepared,
    config: FeedbackConfig,
    *,
    dates: tuple[str | None, str | None] = (None, None),
    fallback: Mapping[str, CurveNorm] | None = None,
    fitted_at: str | None = None,
    pool: Executor | None = None,
    scale_sums: Mapping[str, FloatArray] | None = None,
    outcome_signals: Mapping[str, OutcomeSignals] | None = None,
    rupture_model: Mapping[str, AdaptiveParams] | None = None,
) -> ClinicNorms:
    """Fit the clinic norms on a prepared frame (the engine's "fit norms" step).

    ``scale_sums`` (each alliance scale's :attr:`~bordin.feedback._scales.ScaleStats.clinic_sums`)
    and ``outcome_signals`` (each outcome's :func:`~bordin.feedback.outcomes.assess_outcome`)
    may be given when the caller has computed them already; otherwise they are computed
    here, the outcome side in ``pool``'s worker thread when one is given (the kernels
    release the GIL). ``rupture_model`` (:func:`fit_rupture_model`) likewise. The result is
    the same either way.
    """
    fallback = load_norms() if fallback is None else fallback
    outcomes = tuple(prepared.outcomes)

    def curves() -> dict[str, FloatArray]:
        return {
            oid: _readonly(
                curve_sums(
                    outcome_signals[oid]
                    if outcome_signals is not None
                    else assess_outcome(prepared, oid, config),
                    prepared,
                )
            )
            for oid in outcomes
        }

    pending = pool.submit(curves) if pool is not None else None
    within = {
        scale: _readonly(
            scale_sums[scale]
            if scale_sums is not None
            else scale_stats(values, prepared, config, baseline=False).clinic_sums
        )
        for scale, values in prepared.alliance.items()
    }
    reference, source = early_reference(prepared, config)
    sess = prepared.session_int
    model = (
        rupture_model if rupture_model is not None else fit_rupture_model(prepared, config, pool)
    )
    return ClinicNorms(
        alliance=prepared.alliance_id,
        outcomes=outcomes,
        within_sd=within,
        curves=pending.result() if pending is not None else curves(),
        fallback={k: v for k, v in fallback.items() if k in outcomes},
        early_reference=reference,
        early_reference_source=source,
        early_session=config.early_session,
        early_percentile=float(config.early_percentile),
        fitted_on=FittedOn(
            n_clients=int(prepared.groups.start.shape[0]),
            n_sessions=int(prepared.groups.n_rows),
            first_date=dates[0],
            last_date=dates[1],
            last_session=int(sess.max()) if sess.size else 0,
        ),
        fitted_at=fitted_at,
        rupture_model=model,
    )


_T = TypeVar("_T")


def _map_shared(
    make: Callable[[str], _T], keys: Sequence[str], pool: Executor | None
) -> dict[str, _T]:
    """``{key: make(key)}`` in the order of ``keys``. With a pool, every key but the first
    is submitted to it while this thread makes the first; then this thread takes back the
    ones no worker has started (``Future.cancel`` succeeds only on those) and makes them
    itself, so neither the pool's other work nor a busy worker leaves it idle. Each
    ``make`` only reads shared inputs (the kernels release the GIL), so the result is the
    same as without a pool."""
    if pool is None or len(keys) < 2:
        return {key: make(key) for key in keys}
    pending = {key: pool.submit(make, key) for key in keys[1:]}
    done = {keys[0]: make(keys[0])}
    for key in reversed(keys[1:]):
        if pending[key].cancel():
            done[key] = make(key)
    return {key: done[key] if key in done else pending[key].result() for key in keys}


def rupture_item_levels(prepared: Prepared, config: FeedbackConfig) -> np.ndarray:
    """Each row's summed rupture items as a level 0..12 (13: none asked), exactly as the
    detectors compute it (:meth:`bordin.feedback.ruptures.RuptureInputs.item_levels`)."""
    n = prepared.groups.n_rows
    none = np.zeros(0)
    items = [prepared.items.get(i, none) for i in ("tension", "misunderstood", "withdrawal")]
    item_sum = row_features([none, none, none], items, config.item_threshold, n)[4]
    return item_levels(item_sum, n)


def fit_rupture_model(
    prepared: Prepared,
    config: FeedbackConfig,
    pool: Executor | None = None,
    *,
    levels: np.ndarray | None = None,
) -> dict[str, AdaptiveParams]:
    """The adaptive rupture detector's parameters of each scale in :data:`MODELLED_SCALES`
    that the frame has (:func:`bordin.feedback._adaptive.fit_adaptive`); none unless
    ``config.adaptive_in_norms``. With a ``pool``, the scales are fitted on its threads
    beside the calling thread (the result is the same). ``levels``: the rows' item levels
    (:func:`rupture_item_levels`) when the caller has them."""
    if not config.adaptive_in_norms:
        return {}
    sess = prepared.rating_int
    top = int(sess.max()) + 1 if sess.size else 1
    if levels is None:
        levels = rupture_item_levels(prepared, config)
    # the rows the parameters are fitted on (bordin.feedback._adaptive.fit_sample), taken
    # once for every scale
    keep = fit_sample(prepared.groups.first)
    rows = slice(None) if keep is None else keep
    first, at, at_levels = prepared.groups.first[rows], sess[rows], levels[rows]

    def fit(scale: str) -> AdaptiveParams:
        return fit_adaptive(
            prepared.alliance[scale][rows],
            first,
            at,
            at_levels,
            top,
            maximum=instrument_facts(prepared.alliance_id, scale).maximum,
            min_scale_n=config.clinic_sd_min_df,
            min_residuals=config.adaptive_min_residuals,
            sampled=True,
            joined=len(scales),
        )

    scales = joined_scales(prepared.alliance)
    model: dict[str, AdaptiveParams] = _map_shared(fit, scales, pool)
    if "total" in model and len(model) > 1:
        # the threshold on the combined posterior of the total and its subscales, fitted on
        # the same sessions (bordin.feedback._adaptive.combined_thresholds)
        # on the rows the parameters were fitted on
        def detect(scale: str) -> AdaptiveDetection:
            return adaptive_detect(
                prepared.alliance[scale][rows],
                first,
                at,
                at_levels,
                model[scale],
                config.sd_k_strict,
            )

        found = _map_shared(detect, scales, pool)
        subs = [found[s] for s in SUBSCALES if s in found]
        posterior = combine_detections(found["total"], subs, at, np.zeros(top)).posterior
        model["total"] = dataclasses.replace(
            model["total"],
            combined_threshold=_readonly_copy(combined_thresholds(posterior, at, top)),
        )
    return model


def _readonly_copy(values: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=np.float64)
    out.flags.writeable = False
    return out


def fit_clinic_norms(
    scores: pd.DataFrame,
    *,
    alliance: str = "sac",
    outcomes: Sequence[str] = ("phq9",),
    config: FeedbackConfig | None = None,
    fallback: Mapping[str, CurveNorm] | None = None,
    fitted_at: str | None = None,
) -> ClinicNorms:
    """Fit every clinic-wide reference of the feedback rules on a clinic's session scores.

    Parameters
    ----------
    scores
        Wide session scores (DESIGN.md), one row per client and session, any row order.
    alliance, outcomes
        Instrument ids (or their ``_total`` columns) as for ``compute_feedback``.
    config
        The early-alliance settings used for the percentile; thresholds of the other rules
        are applied when the norms are used.
    fallback
        Expected-recovery models for session numbers where the clinic has too few
        clients; defaults to the bundled norms (derived from simulated clients).
    fitted_at
        A timestamp to record (the service records when it fitted a snapshot).

    Returns
    -------
    ClinicNorms

    Raises
    ------
    InputError
        As :func:`bordin.feedback.compute_feedback`.
    """
    config = config or FeedbackConfig()
    prepared = prepare_scores(scores, alliance=instrument_id(alliance), outcomes=tuple(outcomes))
    # on two threads for a large frame, as in compute_feedback (the same norms either way)
    with executor(prepared.groups.n_rows) as pool:
        return fit_norms(
            prepared,
            config,
            pool=pool,
            dates=scores_date_range(scores),
            fallback=fallback,
            fitted_at=fitted_at,
        )
