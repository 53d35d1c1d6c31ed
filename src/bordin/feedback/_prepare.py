"""Validate a wide session-scores frame and lay it out for the vectorised rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from pandas.api.types import is_float_dtype, is_integer_dtype

from bordin.errors import InputError
from bordin.feedback._groups import BoolArray, FloatArray, Groups, IntArray, make_groups
from bordin.feedback._instruments import InstrumentFacts, instrument_facts
from bordin.instruments import list_instruments

__all__ = ["ALLIANCE_SCALES", "RUPTURE_ITEMS", "Prepared", "instrument_id", "prepare_scores"]

ALLIANCE_SCALES = ("total", "bond", "goal", "task")
RUPTURE_ITEMS = ("tension", "misunderstood", "withdrawal", "resolution")


def instrument_id(name: str) -> str:
    """Accept an instrument id (``sac``) or its total column (``sac_total``)."""
    return name[: -len("_total")] if name.endswith("_total") else name


@dataclass(frozen=True)
class Prepared:
    """A validated scores frame, sorted by client and session, with its row layout.

    ``frame`` holds the identifying columns (client, therapist, session, and the session
    date when given; sorted, index
    0..n-1); ``alliance`` maps each
    available scale (total, bond, goal, task) to its float column and ``items`` each available
    rupture item; ``outcomes`` maps outcome ids to their total column; ``risk`` holds the
    raw risk-item columns present (any instrument's, e.g. ``phq9_item9``) and ``risk_from``
    the response at which each signals risk.
    """

    frame: pd.DataFrame
    groups: Groups
    session: FloatArray
    alliance_id: str
    alliance_facts: InstrumentFacts
    alliance: dict[str, FloatArray]
    items: dict[str, FloatArray]
    outcomes: dict[str, FloatArray]
    outcome_facts: dict[str, InstrumentFacts]
    risk: dict[str, FloatArray]
    risk_from: dict[str, float]

    @cached_property
    def session_int(self) -> IntArray:
        """``session`` as integers; do not modify."""
        result: IntArray = self.session.astype(np.int64)
        return result

    @property
    def client_id(self) -> pd.Series:
        return self.frame["client_id"]


def _numeric(frame: pd.DataFrame, column: str, order: IntArray | None) -> FloatArray:
    """A column as floats in sorted order; a non-number names its row (header = row 1)."""
    raw = frame[column]
    if is_float_dtype(raw.dtype) or is_integer_dtype(raw.dtype):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        coerced = pd.to_numeric(raw, errors="coerce")
        bad = coerced.isna().to_numpy() & raw.notna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"not a number: {raw.iloc[row]!r}", row=row + 2, column=column)
        values = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    result: FloatArray = values if order is None else values[order]
    # Read-only: the rules never write to the input; where the rows were already sorted this
    # is a view of the caller's data, and the engine copies what it puts in its output.
    result.flags.writeable = False
    return result


def _first_rows_if_sorted(client: pd.Series, session: FloatArray) -> BoolArray | None:
    """Each client's first row when the rows are already sorted by client, then session, and
    no client_id is missing; else None.

    A missing value differs from its neighbours, so it starts a run of equal values: the
    runs' first values hold every missing value, and the column is sorted when they
    increase.
    """
    values = client.to_numpy()
    first = np.ones(values.shape[0], dtype=bool)
    try:
        if values.shape[0] > 1:
            first[1:] = values[1:] != values[:-1]
        heads = values[first]
        if pd.isna(heads).any() or not pd.Index(heads).is_monotonic_increasing:
            return None
    except TypeError:  # pd.NA in a comparison, or numbers mixed with text
        return None
    if np.any(~first[1:] & (session[1:] <= session[:-1])):
        return None
    return first


def prepare_scores(
    scores: pd.DataFrame, *, alliance: str, outcomes: Sequence[str] = ()
) -> Prepared:
    """Check the frame and lay it out sorted by client and session.

    Only the columns the rules use are read; error messages name the row of the input as
    a file would number it (header = row 1).

    Raises
    ------
    InputError
        A required column is missing, a session number is not a positive whole number, a
        value is not numeric, or a client has the same session twice.
    """
    alliance_id = instrument_id(alliance)
    facts = instrument_facts(alliance_id)
    for column in ("client_id", "session", f"{alliance_id}_total"):
        if column not in scores.columns:
            raise InputError("required column is missing", column=column)
    outcome_ids = [instrument_id(name) for name in outcomes]
    outcome_facts = {oid: instrument_facts(oid) for oid in outcome_ids}
    for oid in outcome_ids:
        if f"{oid}_total" not in scores.columns:
            raise InputError("outcome column is missing", column=f"{oid}_total")
    client_raw = scores["client_id"]
    session = _numeric(scores, "session", None)
    bad = np.isnan(session) | (session < 1) | (session != np.floor(session))
    first = _first_rows_if_sorted(client_raw, session)
    if first is None and client_raw.isna().any():
        row = int(np.flatnonzero(client_raw.isna().to_numpy())[0])
        raise InputError("client_id is empty", row=row + 2, column="client_id")
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"session must be a whole number >= 1, got {scores['session'].iloc[row]!r}",
            row=row + 2,
            column="session",
        )
    keep = [c for c in ("client_id", "therapist_id", "session", "date") if c in scores.columns]
    if first is not None:  # already sorted by client and session: no reordering
        order = None
        frame = scores[keep].reset_index(drop=True)
    else:
        try:
            client_codes, _ = pd.factorize(client_raw, sort=True)
        except TypeError:
            raise InputError("client_id mixes numbers and text", column="client_id") from None
        order = np.lexsort((session, client_codes)).astype(np.int64)
        codes_sorted = client_codes[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = codes_sorted[1:] != codes_sorted[:-1]
        frame = scores[keep].iloc[order].reset_index(drop=True)
    sess = (session if order is None else session[order]).astype(np.int64)
    frame["session"] = sess
    dup = np.zeros(len(frame), dtype=bool)
    if len(frame) > 1:
        dup[1:] = ~first[1:] & (sess[1:] == sess[:-1])
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        client = frame["client_id"].iloc[row]
        raise InputError(
            f"client {client!r} has session {sess[row]} twice",
            row=(row if order is None else int(order[row])) + 2,
            column="session",
        )
    groups = make_groups(first)

    scales = {
        s: _numeric(scores, f"{alliance_id}_{s}", order)
        for s in ALLIANCE_SCALES
        if f"{alliance_id}_{s}" in scores.columns
    }
    items = {
        i: _numeric(scores, f"{alliance_id}_{i}", order)
        for i in RUPTURE_ITEMS
        if f"{alliance_id}_{i}" in scores.columns
    }
    outcome_columns = {oid: _numeric(scores, f"{oid}_total", order) for oid in outcome_ids}
    risk: dict[str, FloatArray] = {}
    risk_from: dict[str, float] = {}
    for definition in list_instruments():
        for number in definition.risk_items:
            column = definition.item_column(number)
            if column in scores.columns:
                risk[column] = _numeric(scores, column, order)
                threshold = definition.item(number).risk_from
                risk_from[column] = float(threshold if threshold is not None else 1.0)
    return Prepared(
        frame=frame,
        groups=groups,
        session=sess.astype(np.float64),
        alliance_id=alliance_id,
        alliance_facts=facts,
        alliance=scales,
        items=items,
        outcomes=outcome_columns,
        outcome_facts=outcome_facts,
        risk=risk,
        risk_from=risk_from,
    )
