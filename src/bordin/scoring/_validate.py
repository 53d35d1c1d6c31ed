"""Checks on the long item-response frame, vectorised, with errors that say where.

Row numbers follow the file convention of :func:`bordin.interop.read_responses_csv`: the
header is row 1, so the first data row is row 2. For a frame, the row of a record is its
integer index label + 2 (a frame read from a file keeps the file's numbering even after
blank lines are dropped); a frame with a non-integer index is numbered by position.

Every column is factorised first (one hash pass), and the parsing and checking run on the
distinct values only, so the cost is a few passes over integer arrays whatever the size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bordin.errors import InputError
from bordin.instruments import InstrumentDefinition, get_instrument, list_instruments

__all__ = ["REQUIRED_COLUMNS", "Responses", "validate_responses"]

REQUIRED_COLUMNS = ("client_id", "therapist_id", "session", "instrument", "item", "value")
_TOLERANCE = 1e-9
# Attended-session counts; the bound keeps the integer record keys far from overflow.
MAX_SESSION = 100_000


@dataclass(frozen=True)
class Responses:
    """A checked response frame as integer codes and numbers, one entry per record.

    ``client`` codes are ordered like the sorted client ids, so sorting by code sorts by id.
    ``session_key`` numbers client sessions in client-then-session order, and ``order`` sorts
    the records by it (stably).
    """

    client: np.ndarray
    client_ids: np.ndarray
    therapist: np.ndarray
    therapist_ids: np.ndarray
    session: np.ndarray
    instrument: np.ndarray
    definitions: list[InstrumentDefinition]
    item: np.ndarray
    value: np.ndarray
    date: np.ndarray | None
    dates: np.ndarray | None
    row: np.ndarray
    session_key: np.ndarray
    order: np.ndarray


def _row_numbers(frame: pd.DataFrame) -> np.ndarray:
    index = frame.index
    if pd.api.types.is_integer_dtype(index.dtype):
        return np.asarray(index, dtype=np.int64) + 2
    return np.arange(len(frame), dtype=np.int64) + 2


def _show(value: object) -> str:
    """A cell as the user wrote it: text quoted, numbers plain, blanks as 'blank'."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and value != value):
        return "blank"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _strip(values: np.ndarray) -> np.ndarray:
    """Strip text values; mark blank text as missing (None)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if isinstance(v, str):
            v = v.strip()
            out[i] = v if v else None
        else:
            out[i] = v
    return out


def _factorize(series: pd.Series, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for missing or blank) and the distinct stripped values they index."""
    raw_codes, raw_uniques = pd.factorize(series, use_na_sentinel=True)
    stripped = _strip(np.asarray(raw_uniques, dtype=object))
    present = np.array([v is not None and v == v for v in stripped], dtype=bool)
    keep = stripped[present]
    if sort:
        try:
            order = np.argsort(keep, kind="stable")
        except TypeError:  # mixed types: order by their text
            order = np.argsort(keep.astype(str), kind="stable")
        keep = keep[order]
    merged_codes, merged = pd.factorize(keep) if len(keep) else (np.zeros(0, np.int64), keep)
    lookup = np.full(len(stripped) + 1, -1, dtype=np.int64)
    positions = np.flatnonzero(present)
    if sort:
        positions = positions[order]
    lookup[positions] = merged_codes
    codes = lookup[np.where(raw_codes >= 0, raw_codes, len(stripped))]
    return codes, np.asarray(merged, dtype=object)


def _missing(codes: np.ndarray, column: str, rows: np.ndarray, source: str | None) -> None:
    blank = codes < 0
    if blank.any():
        i = _first(blank)
        raise InputError("missing value", file=source, row=int(rows[i]), column=column)


def _numbers(uniques: np.ndarray) -> np.ndarray:
    return pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )


def _numeric_column(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The column as float64 (NaN where blank) and a mask of entries that are not numbers."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.zeros(len(values), dtype=bool)
    codes, uniques = _factorize(series)
    numbers = _numbers(uniques)
    if len(numbers):
        values = np.where(codes >= 0, numbers[np.maximum(codes, 0)], np.nan)
    else:
        values = np.full(len(series), np.nan)
    return values, (codes >= 0) & np.isnan(values)


def _integers(
    series: pd.Series, column: str, rows: np.ndarray, source: str | None, what: str
) -> np.ndarray:
    """Convert a column to int64, or raise naming the first bad row."""
    values, _ = _numeric_column(series)
    bad = np.isnan(values) | (np.abs(values - np.round(values)) > _TOLERANCE)
    if bad.any():
        i = _first(bad)
        raise InputError(
            f"{what} must be a whole number, got {_show(series.iloc[i])}",
            file=source,
            row=int(rows[i]),
            column=column,
        )
    return np.round(values).astype(np.int64)


def _instruments(
    series: pd.Series, rows: np.ndarray, source: str | None
) -> tuple[np.ndarray, list[InstrumentDefinition]]:
    """Codes into the list of instruments present (sorted by id), checking every id."""
    codes, uniques = _factorize(series)
    _missing(codes, "instrument", rows, source)
    names = np.array([str(u).lower() for u in uniques], dtype=object)
    known = {d.id for d in list_instruments()}
    for k, name in enumerate(names):
        if name not in known:
            i = _first(codes == k)
            raise InputError(
                f"unknown instrument {_show(series.iloc[i])} (known: {', '.join(sorted(known))})",
                file=source,
                row=int(rows[i]),
                column="instrument",
            )
    present = sorted(set(names))
    position = {name: j for j, name in enumerate(present)}
    remap = np.array([position[name] for name in names], dtype=np.int64)
    return remap[codes], [get_instrument(name) for name in present]


def _check_items(
    codes: np.ndarray,
    definitions: list[InstrumentDefinition],
    item: np.ndarray,
    value: np.ndarray,
    raw_value: pd.Series,
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
    width = max(d.n_items for d in definitions) + 1
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
                f"value {_show(raw_value.iloc[i])} is {problem} "
                f"({d.id} item {it.number} takes {it.min_value:g}..{it.max_value:g} in {grid})",
                file=source,
                row=int(rows[i]),
                column="value",
                item=f"{d.id} {it.number}",
            )


def _values(
    series: pd.Series,
    codes: np.ndarray,
    defs: list[InstrumentDefinition],
    item: np.ndarray,
    rows: np.ndarray,
    source: str | None,
) -> np.ndarray:
    value, non_numeric = _numeric_column(series)
    if non_numeric.any():
        i = _first(non_numeric)
        raise InputError(
            f"value must be a number, got {_show(series.iloc[i])}",
            file=source,
            row=int(rows[i]),
            column="value",
            item=f"{defs[codes[i]].id} {item[i]}",
        )
    return value


def _dates(
    series: pd.Series, rows: np.ndarray, source: str | None
) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = _factorize(series)
    text = pd.Series([str(u) for u in uniques], dtype=object)
    parsed = pd.Series(
        [pd.to_datetime(t, format="ISO8601", errors="coerce") for t in text], dtype=object
    )
    bad_unique = parsed.isna().to_numpy()
    bad = (codes >= 0) & bad_unique[np.maximum(codes, 0)] if len(uniques) else codes < -1
    if bad.any():
        i = _first(bad)
        raise InputError(
            f"date must be ISO 8601 (YYYY-MM-DD), got {_show(series.iloc[i])}",
            file=source,
            row=int(rows[i]),
            column="date",
        )
    # A session is dated by its calendar day: instruments submitted at different times of
    # the same day belong to one session.
    days = np.array(
        [None if bad_unique[k] else p.strftime("%Y-%m-%d") for k, p in enumerate(parsed)],
        dtype=object,
    )
    if not len(days):
        return codes, days
    day_codes, day_names = pd.factorize(days)
    return np.where(codes >= 0, day_codes[np.maximum(codes, 0)], -1), np.asarray(
        day_names, dtype=object
    )


def _group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """True where a run of equal keys starts."""
    if not len(sorted_keys):
        return np.zeros(0, dtype=bool)
    return np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]


def _first_of_run(starts: np.ndarray) -> np.ndarray:
    """For each position, the position where its run of equal keys starts."""
    return np.maximum.accumulate(np.where(starts, np.arange(len(starts)), 0))


def _check_one_per_session(
    order: np.ndarray,
    session_key: np.ndarray,
    where: tuple[np.ndarray, np.ndarray, np.ndarray],
    codes: np.ndarray,
    names: np.ndarray,
    column: str,
    label: str,
    rows: np.ndarray,
    source: str | None,
) -> None:
    """Every record of a client session has the same code (missing codes are skipped).

    ``order`` sorts the records by session key (file order within a session).
    """
    given = order[codes[order] >= 0]
    keys, values = session_key[given], codes[given]
    first_of_group = _first_of_run(_group_starts(keys))
    differs = values != values[first_of_group]
    if differs.any():
        positions = given[differs]
        j = int(np.argmin(rows[positions]))
        i = int(positions[j])
        first_value = names[values[first_of_group[np.flatnonzero(differs)[j]]]]
        client, client_ids, session = where
        raise InputError(
            f"session {session[i]} of client {client_ids[client[i]]} has more than one "
            f"{label}: {_show(names[codes[i]])} here, {_show(first_value)} in an earlier row",
            file=source,
            row=int(rows[i]),
            column=column,
        )


def validate_responses(frame: pd.DataFrame, *, source: str | None = None) -> Responses:
    """Check a long item-response frame and return it as codes and numbers.

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
    client, client_ids = _factorize(frame["client_id"], sort=True)
    _missing(client, "client_id", rows, source)
    therapist, therapist_ids = _factorize(frame["therapist_id"])
    _missing(therapist, "therapist_id", rows, source)
    inst, definitions = _instruments(frame["instrument"], rows, source)
    session = _integers(frame["session"], "session", rows, source, "session")
    bad_session = (session < 1) | (session > MAX_SESSION)
    if bad_session.any():
        i = _first(bad_session)
        raise InputError(
            f"session numbers run from 1 to {MAX_SESSION:,}, got {session[i]}",
            file=source,
            row=int(rows[i]),
            column="session",
        )
    item = _integers(frame["item"], "item", rows, source, "item number")
    value = _values(frame["value"], inst, definitions, item, rows, source)
    date, dates = (None, None)
    if "date" in frame.columns:
        date, dates = _dates(frame["date"], rows, source)
    if len(frame):
        _check_items(inst, definitions, item, value, frame["value"], rows, source)

    session_key = client * (int(session.max(initial=0)) + 1) + session
    width = max((d.n_items for d in definitions), default=0) + 1
    record_key = (session_key * max(len(definitions), 1) + inst) * width + item
    # One stable sort serves every check: records by client, session, instrument, item, and
    # in file order within equal keys.
    order = np.argsort(record_key, kind="stable")
    sorted_keys = record_key[order]
    starts = _group_starts(sorted_keys)
    dup = ~starts
    if dup.any():
        positions = order[dup]
        j = int(np.argmin(rows[positions]))
        i = int(positions[j])
        first = int(rows[order[_first_of_run(starts)[np.flatnonzero(dup)[j]]]])
        d = definitions[inst[i]]
        raise InputError(
            f"{d.id} item {item[i]} answered twice in session {session[i]} of client "
            f"{client_ids[client[i]]} (first at row {first})",
            file=source,
            row=int(rows[i]),
            item=f"{d.id} {item[i]}",
        )
    where = (client, client_ids, session)
    _check_one_per_session(
        order,
        session_key,
        where,
        therapist,
        therapist_ids,
        "therapist_id",
        "therapist",
        rows,
        source,
    )
    if date is not None and dates is not None:
        _check_one_per_session(order, session_key, where, date, dates, "date", "date", rows, source)
    return Responses(
        client=client,
        client_ids=client_ids,
        therapist=therapist,
        therapist_ids=therapist_ids,
        session=session,
        instrument=inst,
        definitions=definitions,
        item=item,
        value=value,
        date=date,
        dates=dates,
        row=rows,
        session_key=session_key,
        order=order,
    )
