"""Checks on the long item-response frame, vectorised, with errors that say where.

Row numbers follow the file convention of :func:`bordin.interop.read_responses_csv`: the
header is row 1, so the first data row is row 2. For a frame, the row of a record is its
integer index label + 2 (a frame read from a file keeps the file's numbering even after
blank lines are dropped); a frame with a non-integer index is numbered by position.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bordin.errors import InputError
from bordin.instruments import InstrumentDefinition, get_instrument, list_instruments

__all__ = ["REQUIRED_COLUMNS", "validate_responses"]

REQUIRED_COLUMNS = ("client_id", "therapist_id", "session", "instrument", "item", "value")
_TOLERANCE = 1e-9


def _row_numbers(frame: pd.DataFrame) -> np.ndarray:
    index = frame.index
    if pd.api.types.is_integer_dtype(index.dtype):
        return np.asarray(index, dtype=np.int64) + 2
    return np.arange(len(frame), dtype=np.int64) + 2


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _blank(series: pd.Series) -> np.ndarray:
    values = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        stripped = series.astype("string").str.strip()
        values = values | (stripped == "").fillna(True).to_numpy(dtype=bool)
    return values


def _as_integer(
    series: pd.Series, column: str, rows: np.ndarray, source: str | None, what: str
) -> np.ndarray:
    """Convert a column to int64, or raise naming the first bad row."""
    numeric = pd.to_numeric(series, errors="coerce")
    as_float = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(as_float) | (np.abs(as_float - np.round(as_float)) > _TOLERANCE)
    if bad.any():
        i = _first(bad)
        raise InputError(
            f"{what} must be a whole number, got {series.iloc[i]!r}",
            file=source,
            row=int(rows[i]),
            column=column,
        )
    return np.round(as_float).astype(np.int64)


def _check_ids(frame: pd.DataFrame, rows: np.ndarray, source: str | None) -> None:
    for column in ("client_id", "therapist_id", "instrument"):
        blank = _blank(frame[column])
        if blank.any():
            i = _first(blank)
            raise InputError("missing value", file=source, row=int(rows[i]), column=column)


def _instrument_ids(
    instrument: pd.Series, rows: np.ndarray, source: str | None
) -> tuple[np.ndarray, list[InstrumentDefinition]]:
    """Codes into the list of instruments present, after checking every id is known."""
    names = instrument.astype("string").str.strip().str.lower()
    codes, uniques = pd.factorize(names, sort=True)
    known = {d.id for d in list_instruments()}
    for k, name in enumerate(uniques):
        if str(name) not in known:
            i = _first(codes == k)
            raise InputError(
                f"unknown instrument {instrument.iloc[i]!r} (known: {', '.join(sorted(known))})",
                file=source,
                row=int(rows[i]),
                column="instrument",
            )
    return codes.astype(np.int64), [get_instrument(str(name)) for name in uniques]


def _check_items(
    codes: np.ndarray,
    definitions: list[InstrumentDefinition],
    item: np.ndarray,
    value: np.ndarray,
    frame: pd.DataFrame,
    rows: np.ndarray,
    source: str | None,
) -> None:
    """Item numbers exist; answered values are in range and on the response grid."""
    n_items = np.array([d.n_items for d in definitions], dtype=np.int64)[codes]
    bad = (item < 1) | (item > n_items)
    if bad.any():
        i = _first(bad)
        d = definitions[codes[i]]
        raise InputError(
            f"{d.id} has items 1..{d.n_items}, got item {item[i]}",
            file=source,
            row=int(rows[i]),
            column="item",
            item=f"{d.id} {item[i]}",
        )
    # Per-instrument lookup tables indexed by item number (index 0 unused).
    width = int(n_items.max()) + 1 if len(n_items) else 1
    lo = np.full((len(definitions), width), np.nan)
    hi = np.full((len(definitions), width), np.nan)
    step = np.full((len(definitions), width), np.nan)
    for k, d in enumerate(definitions):
        for it in d.items:
            lo[k, it.number] = it.min_value
            hi[k, it.number] = it.max_value
            step[k, it.number] = it.step
    vlo, vhi, vstep = lo[codes, item], hi[codes, item], step[codes, item]
    answered = ~np.isnan(value)
    out = answered & ((value < vlo - _TOLERANCE) | (value > vhi + _TOLERANCE))
    steps = (value - vlo) / vstep
    off_grid = answered & ~out & (np.abs(steps - np.round(steps)) > 1e-6)
    for bad_mask, problem in ((out, "out of range"), (off_grid, "not an allowed response code")):
        if bad_mask.any():
            i = _first(bad_mask)
            d = definitions[codes[i]]
            it = d.item(int(item[i]))
            grid = "whole numbers" if it.step == 1 else f"steps of {it.step:g}"
            raise InputError(
                f"value {frame['value'].iloc[i]!r} is {problem} "
                f"({d.id} item {it.number} takes {it.min_value:g}..{it.max_value:g} in {grid})",
                file=source,
                row=int(rows[i]),
                column="value",
                item=f"{d.id} {it.number}",
            )


def validate_responses(
    frame: pd.DataFrame, *, source: str | None = None
) -> tuple[pd.DataFrame, list[InstrumentDefinition]]:
    """Check a long item-response frame and return it normalised.

    Returns the frame with ``session`` and ``item`` as int64, ``value`` as float64 (NaN for
    an unanswered item), ``instrument`` as an integer code into the returned list of
    definitions, and a ``row`` column with the file row of each record.

    Raises
    ------
    InputError
        Naming the file, row, column or item of the first problem found.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing required column(s) {', '.join(missing)}; "
            f"expected {', '.join(REQUIRED_COLUMNS)} (and optionally date)",
            file=source,
            column=missing[0],
        )
    rows = _row_numbers(frame)
    _check_ids(frame, rows, source)
    session = _as_integer(frame["session"], "session", rows, source, "session")
    bad_session = session < 1
    if bad_session.any():
        i = _first(bad_session)
        raise InputError(
            f"session numbers start at 1, got {session[i]}",
            file=source,
            row=int(rows[i]),
            column="session",
        )
    item = _as_integer(frame["item"], "item", rows, source, "item number")
    codes, definitions = _instrument_ids(frame["instrument"], rows, source)

    raw_value = frame["value"]
    blank_value = _blank(raw_value)
    numeric = pd.to_numeric(raw_value.where(~blank_value), errors="coerce")
    value = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    non_numeric = np.isnan(value) & ~blank_value
    if non_numeric.any():
        i = _first(non_numeric)
        raise InputError(
            f"value must be a number, got {raw_value.iloc[i]!r}",
            file=source,
            row=int(rows[i]),
            column="value",
            item=f"{definitions[codes[i]].id} {item[i]}",
        )
    _check_items(codes, definitions, item, value, frame, rows, source)

    normal = pd.DataFrame(
        {
            "client_id": frame["client_id"].to_numpy(),
            "therapist_id": frame["therapist_id"].to_numpy(),
            "session": session,
            "instrument": codes,
            "item": item,
            "value": value,
            "row": rows,
        }
    )
    if "date" in frame.columns:
        normal["date"] = _parse_dates(frame["date"], rows, source)
    keys = ["client_id", "session", "instrument", "item"]
    dup = normal.duplicated(keys, keep="first").to_numpy()
    if dup.any():
        i = _first(dup)
        first = normal.loc[normal[keys].eq(normal.loc[i, keys]).all(axis=1), "row"].iloc[0]
        d = definitions[codes[i]]
        raise InputError(
            f"{d.id} item {item[i]} answered twice in session {session[i]} of client "
            f"{normal.at[i, 'client_id']} (first at row {first})",
            file=source,
            row=int(rows[i]),
            item=f"{d.id} {item[i]}",
        )
    _check_session_constants(normal, source)
    return normal, definitions


def _parse_dates(series: pd.Series, rows: np.ndarray, source: str | None) -> pd.Series:
    blank = _blank(series)
    text = series.astype("string").str.strip().where(~blank)
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    bad = parsed.isna().to_numpy() & ~blank
    if bad.any():
        i = _first(bad)
        raise InputError(
            f"date must be ISO 8601 (YYYY-MM-DD), got {series.iloc[i]!r}",
            file=source,
            row=int(rows[i]),
            column="date",
        )
    return pd.Series(text.to_numpy(dtype=object, na_value=None), dtype=object)


def _check_session_constants(normal: pd.DataFrame, source: str | None) -> None:
    """One therapist per client session; a client session has one date (when given)."""
    labels: Mapping[str, str] = {"therapist_id": "therapist", "date": "date"}
    for column, label in labels.items():
        if column not in normal.columns:
            continue
        sub = normal[["client_id", "session", column, "row"]].dropna(subset=[column])
        first = sub.groupby(["client_id", "session"], sort=False)[column].transform("first")
        bad = (sub[column] != first).to_numpy()
        if bad.any():
            i = _first(bad)
            rec = sub.iloc[i]
            raise InputError(
                f"session {rec['session']} of client {rec['client_id']} has more than one "
                f"{label}: {rec[column]!r} here, {first.iloc[i]!r} in an earlier row",
                file=source,
                row=int(rec["row"]),
                column=column,
            )
