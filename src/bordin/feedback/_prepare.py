"""Validate a wide session-scores frame and lay it out for the vectorised rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property

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

    ``client_id`` holds the clients and ``therapist_id`` and ``date`` the therapists and
    session dates when given (None otherwise), sorted, index 0..n-1; ``session`` the session
    numbers; ``alliance`` maps each available scale (total, bond, goal, task) to its float
    column and ``items`` each available rupture item; ``outcomes`` maps outcome ids to their
    total column; ``risk`` holds the raw risk-item columns present (any instrument's, e.g.
    ``phq9_item9``) and ``risk_from`` the response at which each signals risk.
    """

    client_id: pd.Series
    therapist_id: pd.Series | None
    date: pd.Series | None
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

    @cached_property
    def rating_int(self) -> IntArray:
        """Per row, the client's rating number: 1 + the client's earlier rows with an
        alliance total (the adaptive rupture detector's index: how many ratings its
        prediction has behind it, which skipped sessions do not add to). Where a client's
        sessions are numbered from 1 and every one is rated it is the session number; do
        not modify."""
        scale = "total" if "total" in self.alliance else next(iter(self.alliance))
        rated = (~np.isnan(self.alliance[scale])).astype(np.int64)
        before = np.cumsum(rated) - rated
        result: IntArray = before - before[self.groups.start][self.groups.code] + 1
        return result

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The identifying columns as one frame (client, therapist, session as integers,
        and the session date when given; index 0..n-1); built on first access."""
        columns: dict[str, object] = {"client_id": self.client_id}
        if self.therapist_id is not None:
            columns["therapist_id"] = self.therapist_id
        columns["session"] = self.session_int.copy()
        if self.date is not None:
            columns["date"] = self.date
        return pd.DataFrame(columns)


def _numeric(frame: pd.DataFrame, column: str, order: IntArray | None) -> FloatArray:
    """A column as floats in sorted order; a non-number names its row (header = row 1)."""
    raw = frame[column]
    dtype = raw.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        # a NumPy number column has no missing value but NaN: what ``to_numpy(np.float64,
        # na_value=np.nan)`` returns, without its check for missing values
        values = np.asarray(raw.to_numpy(), dtype=np.float64)
    elif is_float_dtype(dtype) or is_integer_dtype(dtype):
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
    increase (each compared with the one before it, as ``pd.Index.is_monotonic_increasing``
    does, without building an index: for a client's few rows that is most of the cost).
    """
    values = client.to_numpy()
    first = np.ones(values.shape[0], dtype=bool)
    try:
        if values.shape[0] > 1:
            first[1:] = values[1:] != values[:-1]
        heads = values[first]
        if pd.isna(heads).any() or not np.all(heads[1:] >= heads[:-1]):
            return None
    except TypeError:  # pd.NA in a comparison, or numbers mixed with text
        return None
    if np.any(~first[1:] & (session[1:] <= session[:-1])):
        return None
    return first


@cache
def _risk_columns() -> tuple[tuple[str, float], ...]:
    """Every shipped instrument's risk-item columns (``phq9_item9``) with the response at
    which each signals risk, in registry order (the definitions are data: read once)."""
    found: list[tuple[str, float]] = []
    for definition in list_instruments():
        for number in definition.risk_items:
            threshold = definition.item(number).risk_from
            found.append(
                (definition.item_column(number), float(threshold if threshold is not None else 1.0))
            )
    return tuple(found)


def _sorted_column(column: pd.Series, order: IntArray | None) -> pd.Series:
    """An identifying column in sorted row order (``order``, or as given when None) with
    the index 0..n-1: the caller's series itself when it already is so (no copy; pandas
    copies on write)."""
    if order is not None:
        return column.iloc[order].reset_index(drop=True)
    index = column.index
    if isinstance(index, pd.RangeIndex) and (index.start, index.step, index.name) == (0, 1, None):
        return column
    return column.reset_index(drop=True)


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
    if first is not None:  # already sorted by client and session: no reordering
        order = None
    else:
        try:
            client_codes, _ = pd.factorize(client_raw, sort=True)
        except TypeError:
            raise InputError("client_id mixes numbers and text", column="client_id") from None
        order = np.lexsort((session, client_codes)).astype(np.int64)
        codes_sorted = client_codes[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = codes_sorted[1:] != codes_sorted[:-1]
    client = _sorted_column(client_raw, order)
    sess = (session if order is None else session[order]).astype(np.int64)
    dup = np.zeros(len(sess), dtype=bool)
    if len(sess) > 1:
        dup[1:] = ~first[1:] & (sess[1:] == sess[:-1])
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"client {client.iloc[row]!r} has session {sess[row]} twice",
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
    for column, threshold in _risk_columns():
        if column in scores.columns:
            risk[column] = _numeric(scores, column, order)
            risk_from[column] = threshold
    return Prepared(
        client_id=client,
        therapist_id=(
            _sorted_column(scores["therapist_id"], order)
            if "therapist_id" in scores.columns
            else None
        ),
        date=_sorted_column(scores["date"], order) if "date" in scores.columns else None,
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
