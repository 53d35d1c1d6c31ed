"""The best simple rupture rules tuned on a clinic's own ground truth: an oracle.

Two rules, each with its parameters chosen to maximise detection F1 against the known
ruptures of the very data it is scored on, so no fixed rule of the same form can do better
on that data:

* ``previous``: flag session *t* when the alliance dropped from session *t-1* by at least a
  threshold (scale points);
* ``blend``: flag session *t* when it dropped by at least a threshold below the baseline
  :math:`b_t = w\\,x_{t-1} + (1-w)\\,\\bar x_{1..t-1}`, the previous session blended with
  the mean of all earlier sessions (``w = 1`` is the previous-session rule).

Both use only sessions up to *t*. As for the detectors, consecutive flagged sessions of a
client are one event whose onset is the first of them, and an event matches a true
rupture of the same client whose onset is within +-1 session
(:func:`bordin.feedback.validation.score_ruptures`). The grid is scored with that same
matching in vectorised form over the whole clinic; the chosen rule is scored again with
``score_ruptures`` and that is what is reported.

The gap between a detector with fixed defaults and this oracle is what the detector loses
by not knowing the data; a detector that estimates what it needs from the clinic should
come close to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from bordin.errors import InputError
from bordin.feedback.validation import score_ruptures

__all__ = [
    "OracleResult",
    "OracleRule",
    "blend_drops",
    "oracle_events",
    "tune_blend_rule",
    "tune_previous_rule",
]

OracleRule = Literal["previous", "blend"]
#: Weights of the previous session in the blend rule's grid.
WEIGHTS: Final = np.round(np.linspace(0.0, 1.0, 11), 10)
#: Thresholds per weight: this many quantiles of the clinic's positive drops.
N_THRESHOLDS: Final = 40
_QUANTILES: Final = np.linspace(0.3, 0.999, N_THRESHOLDS)


@dataclass(frozen=True)
class OracleResult:
    """The best rule of one form on one clinic.

    Attributes
    ----------
    rule
        ``previous`` or ``blend``.
    threshold
        The drop (scale points) at or above which a session is flagged.
    weight
        Weight of the previous session in the baseline (1 for ``previous``).
    n_true, n_detected, precision, recall, f1
        Detection scores of that rule (:func:`bordin.feedback.validation.score_ruptures`).
    """

    rule: OracleRule
    threshold: float
    weight: float
    n_true: int
    n_detected: int
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float | int | str]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class _Layout:
    client: np.ndarray
    session: np.ndarray
    values: np.ndarray
    first: np.ndarray
    near_true: np.ndarray
    candidates: np.ndarray
    n_true: int


def _layout(scores: pd.DataFrame, truth: pd.DataFrame, column: str) -> _Layout:
    for name in ("client_id", "session", column):
        if name not in scores.columns:
            raise InputError("required column is missing", column=name)
    frame = scores[["client_id", "session", column]].copy()
    frame["client_id"] = frame["client_id"].astype(str)
    frame = frame.sort_values(["client_id", "session"], kind="stable").reset_index(drop=True)
    values = frame[column].to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise InputError(
            f"missing value for client {frame['client_id'].iloc[row]!r}, session "
            f"{frame['session'].iloc[row]}",
            column=column,
        )
    client = frame["client_id"].to_numpy()
    session = frame["session"].to_numpy(dtype=np.int64)
    first = np.ones(len(frame), dtype=bool)
    first[1:] = client[1:] != client[:-1]
    # Each true onset, and the rows of the same client within +-1 session of it.
    keys = pd.Series(np.arange(len(frame)), index=pd.MultiIndex.from_arrays([client, session]))
    t_client = truth["client_id"].astype(str).to_numpy()
    t_onset = truth["onset_session"].to_numpy(dtype=np.int64)
    candidates = np.full((len(truth), 3), len(frame), dtype=np.int64)  # len(frame): no row
    near = np.zeros(len(frame) + 1, dtype=bool)
    for j, offset in enumerate((-1, 0, 1)):
        index = pd.MultiIndex.from_arrays([t_client, t_onset + offset])
        rows = keys.reindex(index).to_numpy()
        found = ~np.isnan(rows)
        candidates[found, j] = rows[found].astype(np.int64)
        near[candidates[found, j]] = True
    return _Layout(client, session, values, first, near[:-1], candidates, len(truth))


def blend_drops(values: np.ndarray, first: np.ndarray, weight: float) -> np.ndarray:
    """Per row (sorted by client and session, ``first`` marking each client's first row):
    the blend baseline minus the value; NaN at a client's first session."""
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    csum = np.cumsum(values)
    before_sum = csum - values - np.concatenate(([0.0], csum))[starts][group]
    count = np.arange(values.shape[0]) - starts[group]
    previous = np.empty_like(values)
    previous[1:] = values[:-1]
    previous[first] = np.nan
    mean_before = np.full_like(values, np.nan)
    earlier = count > 0
    mean_before[earlier] = before_sum[earlier] / count[earlier]
    baseline = weight * previous + (1.0 - weight) * mean_before
    baseline[first] = np.nan
    drops: np.ndarray = baseline - values
    return drops


def _grid_f1(layout: _Layout, drops: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Detection F1 of ``drops >= threshold`` for every threshold (vectorised)."""
    with np.errstate(invalid="ignore"):
        flag = drops[:, None] >= thresholds[None, :]
    onset = flag.copy()
    onset[1:] &= ~flag[:-1] | layout.first[1:, None]
    n_det = onset.sum(axis=0)
    matched_det = (onset & layout.near_true[:, None]).sum(axis=0)
    padded = np.vstack([onset, np.zeros((1, onset.shape[1]), dtype=bool)])
    matched_true = padded[layout.candidates].any(axis=1).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_det > 0, matched_det / np.maximum(n_det, 1), 0.0)
        recall = matched_true / max(layout.n_true, 1)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    result: np.ndarray = f1
    return result


def _default_thresholds(drops: np.ndarray) -> np.ndarray:
    positive = drops[np.isfinite(drops) & (drops > 0)]
    if positive.size == 0:
        return np.array([np.inf])
    result: np.ndarray = np.unique(np.quantile(positive, _QUANTILES))
    return result


def oracle_events(
    scores: pd.DataFrame, *, column: str, threshold: float, weight: float = 1.0
) -> pd.DataFrame:
    """The events of a blend rule (``weight`` 1: the previous-session rule) in the form
    :func:`bordin.feedback.validation.score_ruptures` reads: ``client_id, onset, status``
    (status ``open``: the oracle does not classify repairs)."""
    empty = pd.DataFrame({"client_id": [], "session": [], "onset_session": []})
    layout = _layout(scores, empty, column)
    drops = blend_drops(layout.values, layout.first, weight)
    with np.errstate(invalid="ignore"):
        flag = drops >= threshold
    onset = flag.copy()
    onset[1:] &= ~flag[:-1] | layout.first[1:]
    return pd.DataFrame(
        {
            "client_id": layout.client[onset],
            "onset": layout.session[onset],
            "status": "open",
        }
    )


def _tune(
    rule: OracleRule,
    scores: pd.DataFrame,
    truth: pd.DataFrame,
    column: str,
    weights: np.ndarray,
    thresholds: np.ndarray | None,
) -> OracleResult:
    layout = _layout(scores, truth, column)
    best = (-1.0, 0.0, 1.0)
    for w in weights:
        drops = blend_drops(layout.values, layout.first, float(w))
        grid = _default_thresholds(drops) if thresholds is None else np.asarray(thresholds)
        f1 = _grid_f1(layout, drops, grid)
        k = int(np.argmax(f1))
        if f1[k] > best[0]:
            best = (float(f1[k]), float(grid[k]), float(w))
    _, threshold, weight = best
    events = oracle_events(scores, column=column, threshold=threshold, weight=weight)
    scored = score_ruptures(events, truth)
    return OracleResult(
        rule=rule,
        threshold=threshold,
        weight=weight,
        n_true=scored.n_true,
        n_detected=scored.n_detected,
        precision=scored.precision,
        recall=scored.recall,
        f1=scored.f1,
    )


def tune_previous_rule(
    scores: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    column: str = "wai_sr_total",
    thresholds: np.ndarray | None = None,
) -> OracleResult:
    """The previous-session drop rule with the threshold that maximises detection F1.

    Parameters
    ----------
    scores
        Wide session scores (``client_id``, ``session``, ``column``), any row order.
    truth
        The true ruptures (``client_id``, ``onset_session``; ``repaired`` and ``censored``
        as :func:`bordin.feedback.validation.score_ruptures` reads them).
    thresholds
        Drops (scale points) to try; by default 40 quantiles (30th to 99.9th percentile) of
        the clinic's positive drops.

    Raises
    ------
    InputError
        A column is missing, or the alliance column has a missing value.
    """
    return _tune("previous", scores, truth, column, np.array([1.0]), thresholds)


def tune_blend_rule(
    scores: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    column: str = "wai_sr_total",
    weights: np.ndarray | None = None,
    thresholds: np.ndarray | None = None,
) -> OracleResult:
    """The blend rule with the weight (0, 0.1, ..., 1 by default) and threshold that
    maximise detection F1; arguments as :func:`tune_previous_rule`."""
    grid = WEIGHTS if weights is None else np.asarray(weights, dtype=np.float64)
    return _tune("blend", scores, truth, column, grid, thresholds)
