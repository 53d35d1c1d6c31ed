from __future__ import annotations

import pytest

from bordin.columns import RESULT_COLUMNS, check_result_columns
from bordin.errors import BordinError, InputError


def test_input_error_names_location() -> None:
    err = InputError("value 7 outside 0-3", file="r.csv", row=12, column="value", item="phq9:3")
    assert str(err) == "file r.csv, row 12, column 'value', item phq9:3: value 7 outside 0-3"
    assert err.row == 12 and err.detail == "value 7 outside 0-3"
    assert isinstance(err, BordinError) and isinstance(err, ValueError)


def test_input_error_without_location() -> None:
    assert str(InputError("empty")) == "empty"


def test_column_vocabulary() -> None:
    assert len(set(RESULT_COLUMNS)) == len(RESULT_COLUMNS)
    assert check_result_columns(["term", "estimate", "ci_low"]) == []
    assert check_result_columns(["term", "ci_lower"]) == ["ci_lower"]


def test_errors_all_sorted() -> None:
    import bordin.errors as e

    assert e.__all__ == sorted(e.__all__)
    with pytest.raises(InputError):
        raise InputError("x")
