"""CSV files: the long item-response file in, the wide session-scores file out.

Row numbers in error messages count the header as row 1, so the first data row is row 2
(the line number a spreadsheet or text editor shows, for files without quoted line breaks).
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from bordin.errors import InputError

__all__ = ["read_csv_bytes", "read_responses_csv", "write_scores_csv"]

TEXT_COLUMNS = ("client_id", "therapist_id", "date", "instrument")


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


def write_scores_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a wide session-scores frame to CSV atomically.

    The frame is written to a temporary file in the target's folder and renamed over the
    target, so the target is either the complete new file or untouched. Scores are written
    at full precision; missing scores are empty cells.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("the output folder does not exist", file=str(path))
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            frame.to_csv(out, index=False, lineterminator="\n")
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
