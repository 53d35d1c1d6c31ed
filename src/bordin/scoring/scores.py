"""Item responses to scale scores: the long item-response frame to the wide session frame.

Scoring is vectorised: each instrument's responses are scattered into one
``sessions x items`` matrix, and every scale is computed from column slices of it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bordin.instruments import InstrumentDefinition, ScaleDefinition, get_instrument
from bordin.scoring._validate import validate_responses

__all__ = ["score_item_matrix", "score_responses", "score_scale"]

ID_COLUMNS = ("client_id", "therapist_id", "session", "date")


def _keyed(definition: InstrumentDefinition, matrix: np.ndarray) -> np.ndarray:
    """Apply reverse keys and ask-conditions to a raw ``n x items`` matrix."""
    keyed = np.array(matrix, dtype=np.float64, copy=True)
    for item in definition.items:
        col = item.number - 1
        if item.reverse:
            keyed[:, col] = item.min_value + item.max_value - keyed[:, col]
        if item.asked_if is not None:
            gate = matrix[:, item.asked_if.item - 1]
            asked = ~np.isnan(gate) & (gate >= item.asked_if.min_value)
            keyed[~asked, col] = np.nan
    return keyed


def score_scale(scale: ScaleDefinition, keyed: np.ndarray) -> np.ndarray:
    """Score one scale from a keyed ``n x items`` matrix (NaN = not answered).

    The mean is over the answered items; a sum is the prorated sum (mean of answered items
    times the number of items), which equals the plain sum when nothing is missing. The
    score is NaN when fewer than ``scale.min_answered`` items are answered.
    """
    sub = keyed[:, [i - 1 for i in scale.items]]
    present = ~np.isnan(sub)
    answered = present.sum(axis=1)
    total = np.where(present, sub, 0.0).sum(axis=1)
    mean = total / np.maximum(answered, 1)
    score = mean * len(scale.items) if scale.method == "sum" else mean
    if scale.method == "sum":
        # Exact (unprorated) sum when complete, so integer totals stay exact integers.
        score = np.where(answered == len(scale.items), total, score)
    return np.where(answered >= scale.min_answered, score, np.nan)


def score_item_matrix(
    definition: InstrumentDefinition | str, matrix: np.ndarray
) -> dict[str, np.ndarray]:
    """Score every scale of an instrument from a raw response matrix.

    Parameters
    ----------
    definition
        The instrument, or its id.
    matrix
        ``n x n_items`` raw response codes, column ``j`` holding item ``j + 1``; NaN marks an
        unanswered item. Values are not range-checked here (:func:`score_responses` does).

    Returns
    -------
    dict
        Scale name to an array of ``n`` scores (NaN where the missing-item rule fails).
    """
    if isinstance(definition, str):
        definition = get_instrument(definition)
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != definition.n_items:
        raise ValueError(
            f"{definition.id} needs a matrix with {definition.n_items} columns, "
            f"got shape {matrix.shape}"
        )
    keyed = _keyed(definition, matrix)
    return {scale.name: score_scale(scale, keyed) for scale in definition.scales}


def score_responses(responses: pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    """Score a long item-response frame into the wide session-scores frame.

    Parameters
    ----------
    responses
        One row per answered item with columns ``client_id, therapist_id, session,
        instrument, item, value`` and optionally ``date`` (DESIGN.md, data contracts). An
        empty ``value`` is an unanswered item.
    source
        The file name to put in error messages.

    Returns
    -------
    pandas.DataFrame
        One row per client and session, sorted by ``client_id`` then ``session``, with
        ``client_id, therapist_id, session`` (and ``date`` when given), then for each
        instrument present (in id order) its scales as ``<instrument>_<scale>`` followed by
        its raw risk items as ``<instrument>_item<N>``. Scores are float (NaN when the
        instrument was not given that session or too many items are missing).

    Raises
    ------
    InputError
        A required column is missing; an id, session or item is blank or malformed; an
        instrument is unknown; an item number does not exist; a value is out of range or
        not a response code; an item is answered twice in one session; a session has two
        therapists or two dates. The message names the file, row (header = row 1),
        column and item.
    """
    normal, definitions = validate_responses(responses, source=source)
    has_date = "date" in normal.columns
    ordered = normal.sort_values(["client_id", "session"], kind="stable")
    session_code = ordered.groupby(["client_id", "session"], sort=False).ngroup().to_numpy()
    firsts = ~ordered.duplicated(["client_id", "session"]).to_numpy()
    keys = ordered.loc[firsts, ["client_id", "therapist_id", "session"]].reset_index(drop=True)
    if has_date:
        dates = ordered[["date"]].assign(code=session_code).dropna(subset=["date"])
        first_date = dates.drop_duplicates("code").set_index("code")["date"]
        keys["date"] = first_date.reindex(np.arange(len(keys))).to_numpy()
    n_sessions = len(keys)

    columns: dict[str, np.ndarray] = {}
    inst = ordered["instrument"].to_numpy()
    items = ordered["item"].to_numpy()
    values = ordered["value"].to_numpy()
    for k, definition in enumerate(definitions):
        mask = inst == k
        matrix = np.full((n_sessions, definition.n_items), np.nan)
        matrix[session_code[mask], items[mask] - 1] = values[mask]
        given = np.zeros(n_sessions, dtype=bool)
        given[session_code[mask]] = True
        scores = score_item_matrix(definition, matrix[given])
        for scale in definition.scales:
            column = np.full(n_sessions, np.nan)
            column[given] = scores[scale.name]
            columns[definition.column(scale.name)] = column
        for number in definition.risk_items:
            columns[definition.item_column(number)] = matrix[:, number - 1]
    return _assemble(keys, columns)


def _assemble(keys: pd.DataFrame, columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    wide = pd.concat([keys, pd.DataFrame(dict(columns), index=keys.index)], axis=1)
    wide["session"] = wide["session"].astype(np.int64)
    return wide
