"""The one column vocabulary for result tables (``to_frame()``), fixed here and tested.

Every results object's tidy table uses only these names for statistics, so the same statistic
never has two names. The confidence level is a value (``level``), never part of a name.
"""

from __future__ import annotations

from typing import Final

__all__ = ["RESULT_COLUMNS", "check_result_columns"]

RESULT_COLUMNS: Final[tuple[str, ...]] = (
    "term",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "statistic",
    "p_value",
    "df",
    "n",
    "k",
    "tau2",
    "i2",
    "q",
    "level",
    "group",
    "method",
)


def check_result_columns(columns: list[str] | tuple[str, ...]) -> list[str]:
    """Return the column names that are not in the vocabulary (empty when all are)."""
    allowed = set(RESULT_COLUMNS)
    return [c for c in columns if c not in allowed]
