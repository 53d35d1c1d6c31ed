"""score_responses: the long item-response frame to the wide session-scores frame."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bordin.errors import InputError
from bordin.scoring import score_responses

COLUMNS = ["client_id", "therapist_id", "session", "date", "instrument", "item", "value"]


def _rows(client: str, session: int, instrument: str, values: list[Any], **kw: Any) -> list[list]:
    therapist = kw.get("therapist", "t1")
    date = kw.get("date", f"2024-01-{session:02d}")
    return [
        [client, therapist, session, date, instrument, n, v]
        for n, v in enumerate(values, start=1)
        if v is not None
    ]


def _frame(*blocks: list[list]) -> pd.DataFrame:
    rows = [row for block in blocks for row in block]
    return pd.DataFrame(rows, columns=COLUMNS)


def test_wide_layout_sorting_and_values() -> None:
    frame = _frame(
        _rows("c2", 1, "phq9", [1] * 9),
        _rows("c1", 2, "phq9", [3, 3, 3, 3, 3, 3, 3, 3, 2]),
        _rows("c1", 1, "phq9", [2] * 9),
        _rows("c1", 1, "sac", [5, 5, 4, 4, 3, 3, 2, 1, 0, 0]),
        _rows("c1", 2, "gad7", [1] * 7),
    )
    wide = score_responses(frame)
    assert list(wide.columns) == [
        "client_id",
        "therapist_id",
        "session",
        "date",
        "gad7_total",
        "phq9_total",
        "phq9_item9",
        "sac_total",
        "sac_bond",
        "sac_goal",
        "sac_task",
        "sac_tension",
        "sac_resolution",
        "sac_misunderstood",
        "sac_withdrawal",
    ]
    assert list(zip(wide["client_id"], wide["session"], strict=True)) == [
        ("c1", 1),
        ("c1", 2),
        ("c2", 1),
    ]
    assert wide["session"].dtype == np.int64
    np.testing.assert_array_equal(wide["phq9_total"], [18, 26, 9])
    np.testing.assert_array_equal(wide["phq9_item9"], [2, 2, 1])
    np.testing.assert_array_equal(wide["gad7_total"], [np.nan, 7, np.nan])
    assert wide.loc[0, "sac_total"] == pytest.approx(4.0)
    assert wide.loc[0, "sac_bond"] == 5 and wide.loc[0, "sac_task"] == 3
    assert wide.loc[0, "sac_tension"] == 2 and wide.loc[0, "sac_resolution"] == 1
    assert math.isnan(wide.loc[1, "sac_total"])
    assert list(wide["date"]) == ["2024-01-01", "2024-01-02", "2024-01-01"]


def test_risk_items_are_raw_values_even_when_the_total_is_missing() -> None:
    frame = _frame(_rows("c1", 1, "phq9", [None, None, 0, 0, 0, 0, 0, 0, 2]))
    wide = score_responses(frame)
    assert math.isnan(wide.loc[0, "phq9_total"])
    assert wide.loc[0, "phq9_item9"] == 2
    core = _frame(_rows("c1", 1, "core10", [0, 4, 4, 0, 0, 3, 0, 0, 0, 0]))
    wide = score_responses(core)
    assert wide.loc[0, "core10_item6"] == 3 and wide.loc[0, "core10_total"] == 3


def test_sac_resolution_is_ignored_without_tension() -> None:
    frame = _frame(_rows("c1", 1, "sac", [4, 4, 4, 4, 4, 4, 0, 3, 0, 0]))
    wide = score_responses(frame)
    assert math.isnan(wide.loc[0, "sac_resolution"])
    assert wide.loc[0, "sac_tension"] == 0


def test_blank_value_is_an_unanswered_item_and_date_is_optional() -> None:
    frame = _frame(_rows("c1", 1, "gad7", [1, 1, 1, 1, 1, 1, ""]))
    frame = frame.drop(columns="date")
    wide = score_responses(frame)
    assert "date" not in wide.columns
    assert wide.loc[0, "gad7_total"] == pytest.approx(7.0)


def test_visual_analogue_values() -> None:
    wide = score_responses(_frame(_rows("c1", 1, "ors", [7.3, 5.5, 6.1, 8.0])))
    assert wide.loc[0, "ors_total"] == pytest.approx(26.9, rel=1e-12)
    with pytest.raises(InputError, match="not an allowed response code"):
        score_responses(_frame(_rows("c1", 1, "ors", [7.35, 5.5, 6.1, 8.0])))


def test_instrument_ids_are_case_and_space_insensitive() -> None:
    wide = score_responses(_frame(_rows("c1", 1, " PHQ9 ", [1] * 9)))
    assert wide.loc[0, "phq9_total"] == 9


def test_integer_ids_keep_their_type() -> None:
    frame = _frame(_rows("x", 1, "gad7", [1] * 7), _rows("x", 2, "gad7", [0] * 7))
    frame["client_id"] = 7
    frame["therapist_id"] = 3
    wide = score_responses(frame)
    assert wide["client_id"].tolist() == [7, 7]
    assert wide["session"].tolist() == [1, 2]


def _error(frame: pd.DataFrame) -> InputError:
    with pytest.raises(InputError) as info:
        score_responses(frame, source="responses.csv")
    return info.value


def test_missing_column() -> None:
    err = _error(_frame(_rows("c1", 1, "gad7", [1] * 7)).drop(columns="item"))
    assert err.column == "item" and err.file == "responses.csv"
    assert "missing required column" in str(err)


@pytest.mark.parametrize(
    ("column", "value", "row", "expected"),
    [
        ("instrument", "phq8", 4, "unknown instrument 'phq8'"),
        ("item", 10, 4, "phq9 has items 1..9, got item 10"),
        ("item", "two", 4, "item number must be a whole number"),
        ("item", 2.5, 4, "item number must be a whole number"),
        ("value", 4, 4, "out of range"),
        ("value", -1, 4, "out of range"),
        ("value", 1.5, 4, "not an allowed response code"),
        ("value", "often", 4, "value must be a number"),
        ("session", "first", 4, "session must be a whole number"),
        ("session", 0, 4, "session numbers run from 1 to 100,000"),
        ("session", 10**12, 4, "got 1000000000000"),
        ("client_id", None, 4, "missing value"),
        ("date", "03/01/2024", 4, "ISO 8601"),
    ],
)
def test_bad_values_name_file_row_and_column(
    column: str, value: Any, row: int, expected: str
) -> None:
    frame = _frame(_rows("c1", 1, "phq9", [1] * 9)).astype(object)
    frame.loc[2, column] = value  # the third data row is row 4 of the file
    err = _error(frame)
    assert expected in str(err)
    assert err.row == row and err.file == "responses.csv"
    assert err.column == column
    assert str(err).startswith("file responses.csv, row 4")


def test_value_error_names_the_item() -> None:
    frame = _frame(_rows("c1", 1, "phq9", [1, 1, 1, 1, 1, 1, 1, 1, 7]))
    err = _error(frame)
    assert err.item == "phq9 9" and err.row == 10
    assert "phq9 item 9 takes 0..3" in str(err)


def test_duplicate_item_in_one_session() -> None:
    frame = _frame(_rows("c1", 1, "gad7", [1] * 7), _rows("c1", 1, "gad7", [2]))
    err = _error(frame)
    assert err.row == 9 and err.item == "gad7 1"
    assert "answered twice" in str(err) and "first at row 2" in str(err)


def test_two_therapists_or_dates_in_one_session() -> None:
    frame = _frame(_rows("c1", 1, "gad7", [1] * 7), _rows("c1", 1, "phq9", [1] * 9, therapist="t2"))
    err = _error(frame)
    assert err.column == "therapist_id" and err.row == 9
    frame = _frame(
        _rows("c1", 1, "gad7", [1] * 7), _rows("c1", 1, "phq9", [1] * 9, date="2024-02-02")
    )
    err = _error(frame)
    assert err.column == "date" and err.row == 9


def test_row_numbers_follow_the_index_of_a_file_frame() -> None:
    frame = _frame(_rows("c1", 1, "gad7", [1] * 7))
    frame.index = pd.RangeIndex(10, 17)  # e.g. blank lines dropped above
    frame.loc[12, "value"] = 9
    assert _error(frame).row == 14


def test_empty_frame_gives_empty_wide_frame() -> None:
    wide = score_responses(pd.DataFrame(columns=COLUMNS))
    assert list(wide.columns) == ["client_id", "therapist_id", "session", "date"]
    assert len(wide) == 0


def test_timestamps_on_one_day_are_one_session_dated_by_day() -> None:
    frame = _frame(
        _rows("c1", 1, "gad7", [1] * 7, date="2024-01-05T09:58:00"),
        _rows("c1", 1, "phq9", [1] * 9, date="2024-01-05T10:04:00+01:00"),
        _rows("c1", 2, "phq9", [1] * 9, date=None),
    )
    wide = score_responses(frame)
    assert wide["date"].iloc[0] == "2024-01-05"
    assert pd.isna(wide["date"].iloc[1])
