"""CSV files: the long item-response file in, the wide session-scores file in and out.

Every command that reads a session-scores file reads it with :func:`read_scores_csv`, so
every one of them checks the same things: numbers where numbers belong, and instrument
scores within what the instrument can produce.

Row numbers in error messages count the header as row 1, so the first data row is row 2
(the line number a spreadsheet or text editor shows, for files without quoted line breaks).
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bordin.errors import InputError
from bordin.interop.spreadsheet_safety import formula_safe_csv

__all__ = [
    "ENDINGS",
    "read_csv_bytes",
    "read_endings_bytes",
    "read_endings_csv",
    "read_responses_csv",
    "read_scores_csv",
    "write_scores_csv",
]

TEXT_COLUMNS = ("client_id", "therapist_id", "date", "instrument")
SCORE_TEXT_COLUMNS = ("client_id", "therapist_id", "date")


def read_responses_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a long item-response CSV file.

    Identifiers, instrument and date are read as text (identifiers keep leading zeros);
    session, item and value are parsed as numbers when the whole column is numeric and kept
    as text otherwise, so a bad entry is reported with its row when scored. Blank lines are
    dropped, but the index keeps each record's position in the file: a record's file row is
    its index + 2.

    Raises
    ------
    InputError
        The file does not exist, is empty, or is not readable as CSV.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    return _read(path, path.name)


def read_csv_bytes(data: bytes, *, name: str) -> pd.DataFrame:
    """Read an uploaded CSV file (long responses or wide scores) as
    :func:`read_responses_csv` reads a file; ``name`` is the file name for error messages.

    Raises
    ------
    InputError
        The upload is empty or not readable as CSV.
    """
    return _read(io.BytesIO(data), name)


def _read(source: Path | io.BytesIO, name: str) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            # A first data row longer than the header would silently lose fields.
            warnings.simplefilter("error", category=pd.errors.ParserWarning)
            frame = pd.read_csv(
                source,
                dtype={column: object for column in TEXT_COLUMNS},
                keep_default_na=False,
                na_values=[""],
                skip_blank_lines=False,
                index_col=False,
                low_memory=False,  # one type per column, however long the file
                encoding="utf-8-sig",
            )
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty (no header row)", file=name) from None
    except pd.errors.ParserWarning:
        raise InputError(
            "not a readable CSV file: a row has more fields than the header", file=name
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())
        raise InputError(f"not a readable CSV file: {detail}", file=name) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    blank = frame.isna().all(axis=1)
    if blank.any():
        frame = frame.loc[~blank.to_numpy()]
    return frame


#: How a treatment ended, as the service closes an episode: as planned, by dropout, by
#: referral elsewhere.
ENDINGS = ("planned", "dropout", "referral")
_TRUE_FALSE = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def read_endings_csv(
    path: str | os.PathLike[str], *, clients: set[str] | None = None
) -> dict[str, str]:
    """Read how each client's treatment ended: client id -> ``planned``, ``dropout`` or
    ``referral`` (:data:`ENDINGS`), in the file's order.

    The file has a ``client_id`` column and either ``ended`` (``planned``, ``dropout`` or
    ``referral``, as the service closes an episode) or ``dropped_out`` (true/false, yes/no
    or 1/0; the simulator's ``clients.csv``). A client without a row has no recorded ending.

    Parameters
    ----------
    clients
        The clients of the scores the endings go with; a client of the file not among them
        is refused (a file of another clinic or export).

    Raises
    ------
    InputError
        No such file, a missing column, a blank or repeated client, an unknown ending, or
        a client not in ``clients``; with the file, row and column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    return _endings(_read(path, path.name), path.name, clients)


def read_endings_bytes(
    data: bytes, *, name: str, clients: set[str] | None = None
) -> dict[str, str]:
    """:func:`read_endings_csv` of an uploaded file; ``name`` is its name for messages."""
    return _endings(_read(io.BytesIO(data), name), name, clients)


def _endings(frame: pd.DataFrame, name: str, clients: set[str] | None) -> dict[str, str]:
    if "client_id" not in frame.columns:
        raise InputError("required column is missing", file=name, column="client_id")
    column = next((c for c in ("ended", "dropped_out") if c in frame.columns), None)
    if column is None:
        raise InputError(
            "no column says how treatment ended: give 'ended' (planned, dropout or "
            "referral) or 'dropped_out' (true or false)",
            file=name,
        )
    out: dict[str, str] = {}
    seen: dict[str, int] = {}
    for index, client, value in zip(frame.index, frame["client_id"], frame[column], strict=True):
        row = int(index) + 2
        code = "" if pd.isna(client) else str(client).strip()
        if not code:
            raise InputError("the client is blank", file=name, row=row, column="client_id")
        if code in seen:
            raise InputError(
                f"client {code!r} is listed twice (first on row {seen[code]})",
                file=name,
                row=row,
                column="client_id",
            )
        seen[code] = row
        if clients is not None and code not in clients:
            raise InputError(
                f"client {code!r} is not in the scores", file=name, row=row, column="client_id"
            )
        text = "" if pd.isna(value) else str(value).strip().lower()
        if column == "ended":
            if text not in ENDINGS:
                raise InputError(
                    f"the ending is one of {', '.join(ENDINGS)}, not {text!r}",
                    file=name,
                    row=row,
                    column=column,
                )
            out[code] = text
        else:
            if text not in _TRUE_FALSE:
                raise InputError(
                    f"dropped_out is true or false (yes/no, 1/0), not {text!r}",
                    file=name,
                    row=row,
                    column=column,
                )
            out[code] = "dropout" if _TRUE_FALSE[text] else "planned"
    return out


def read_scores_csv(
    path: str | os.PathLike[str],
    *,
    numeric: tuple[str, ...] | list[str] = (),
    required: tuple[str, ...] | list[str] = ("client_id", "session"),
) -> pd.DataFrame:
    """Read a wide session-scores CSV file (one row per client and session).

    Identifiers and the date are text (``client_id`` keeps leading zeros). ``session``,
    the ``numeric`` columns and every column an instrument defines (``phq9_total``,
    ``sac_bond``, ``phq9_item9``, ...; see :func:`bordin.instruments.score_columns`) must
    hold numbers or be empty, and an instrument's column must lie within the range the
    instrument can produce (its items' codes: a sum from the sum of the lowest to the
    sum of the highest, a mean or an item within the codes).

    Parameters
    ----------
    path
        The CSV file.
    numeric
        Other columns that must be numbers (an adherence column, say); each must exist.
    required
        Columns that must exist.

    Raises
    ------
    InputError
        The file is missing, empty or not CSV; a required or numeric column is missing;
        a cell is not a number; or a score is outside its instrument's range. Naming the
        file, the row (the header is row 1) and the column.
    """
    from bordin.instruments import score_column

    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    try:
        frame = pd.read_csv(
            path,
            dtype={column: str for column in SCORE_TEXT_COLUMNS},
            low_memory=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty (no header row)", file=str(path)) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())
        raise InputError(f"not a readable CSV file: {detail}", file=str(path)) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    blank = frame.isna().all(axis=1)
    if blank.any():  # the index keeps each record's place in the file (row = index + 2)
        frame = frame.loc[~blank.to_numpy()]
    for column in (*required, *numeric):
        if column not in frame.columns:
            raise InputError(
                f"column not found; the columns are {', '.join(frame.columns)}",
                file=str(path),
                column=column,
            )
    checked = ["session", *numeric]
    checked += [c for c in frame.columns if score_column(c) is not None]
    for column in dict.fromkeys(c for c in checked if c in frame.columns):
        frame[column] = _numbers(frame[column], path, column)
        known = score_column(column)
        if known is None:
            continue
        values = frame[column].to_numpy(dtype=float)
        tolerance = 1e-9 * max(1.0, abs(known.maximum))
        outside = ~np.isnan(values) & (
            ~np.isfinite(values)
            | (values < known.minimum - tolerance)
            | (values > known.maximum + tolerance)
        )
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            what = f"item {known.item}" if known.item is not None else f"{known.scale} scale"
            raise InputError(
                f"{values[i]:g} is outside the {known.instrument} {what}'s range "
                f"{known.minimum:g}-{known.maximum:g}",
                file=str(path),
                row=int(frame.index[i]) + 2,
                column=column,
            )
    return frame.reset_index(drop=True)


def _numbers(values: pd.Series, path: Path, column: str) -> pd.Series:
    """``values`` as floats; a cell that is not a number is an InputError naming its row."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if bool(bad.any()):
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{values.iloc[i]!r} is not a number",
            file=str(path),
            row=int(values.index[i]) + 2,
            column=column,
        )
    return numbers


def write_scores_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a wide session-scores frame to CSV atomically.

    The frame is written to a temporary file in the target's folder and renamed over the
    target, so the target is either the complete new file or untouched. Scores are written
    at full precision; missing scores are empty cells. Text cells a spreadsheet would run
    as formulas get a leading apostrophe (:mod:`bordin.interop.spreadsheet_safety`).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("the output folder does not exist", file=str(path))
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            formula_safe_csv(frame, out)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
