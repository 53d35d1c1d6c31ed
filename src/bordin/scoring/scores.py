"""Item responses to scale scores: the long item-response frame to the wide session frame.

Scoring is vectorised: each instrument's responses are scattered into one
``sessions x items`` matrix, and every scale is computed from column slices of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bordin.instruments import InstrumentDefinition, ScaleDefinition, get_instrument
from bordin.scoring._validate import validate_responses

__all__ = ["score_item_matrix", "score_responses", "score_scale"]


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

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame(
    ...     {
    ...         "client_id": ["c1"] * 7,
    ...         "therapist_id": ["t1"] * 7,
    ...         "session": [1] * 7,
    ...         "instrument": ["gad7"] * 7,
    ...         "item": range(1, 8),
    ...         "value": [2, 2, 1, 1, 0, 3, None],
    ...     }
    ... )
    >>> score_responses(long)[["client_id", "session", "gad7_total"]]
      client_id  session  gad7_total
    0        c1        1        10.5
    """
    checked = validate_responses(responses, source=source)
    definitions = checked.definitions
    # Client sessions in client-then-session order (client codes follow the sorted ids).
    order = checked.order
    sorted_keys = checked.session_key[order]
    starts = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]] if len(order) else order > 0
    session_code = np.empty(len(order), dtype=np.int64)
    session_code[order] = np.cumsum(starts) - 1
    first = order[starts]
    n_sessions = len(first)
    ids = {
        "client_id": _column(checked.client_ids, checked.client[first]),
        "therapist_id": _column(checked.therapist_ids, checked.therapist[first]),
        "session": checked.session[first].astype(np.int64),
    }
    if checked.date is not None and checked.dates is not None:
        # Every record of a session has the same date or none; take any given one.
        date_code = np.full(n_sessions, -1, dtype=np.int64)
        given = checked.date >= 0
        date_code[session_code[given]] = checked.date[given]
        dates = np.empty(len(checked.dates) + 1, dtype=object)
        dates[:-1] = checked.dates  # the extra last entry (None) is "no date"
        ids["date"] = dates[np.where(date_code >= 0, date_code, len(checked.dates))]

    columns: dict[str, np.ndarray] = {}
    for k, definition in enumerate(definitions):
        mask = checked.instrument == k
        matrix = np.full((n_sessions, definition.n_items), np.nan)
        matrix[session_code[mask], checked.item[mask] - 1] = checked.value[mask]
        given_sessions = np.zeros(n_sessions, dtype=bool)
        given_sessions[session_code[mask]] = True
        scores = score_item_matrix(definition, matrix[given_sessions])
        for scale in definition.scales:
            column = np.full(n_sessions, np.nan)
            column[given_sessions] = scores[scale.name]
            columns[definition.column(scale.name)] = column
        for number in definition.risk_items:
            columns[definition.item_column(number)] = matrix[:, number - 1]
    return pd.DataFrame({**ids, **columns})


def _column(uniques: np.ndarray, codes: np.ndarray) -> pd.Series:
    """Identifier values for the given codes, with their natural dtype (int ids stay int)."""
    return pd.Series(uniques[codes], dtype=object).infer_objects()
