"""Session-scores files are range-checked when read (issue 14, item 5).

Every command reads scores through :func:`bordin.interop.read_scores_csv`; a value an
instrument cannot produce is an error naming the file, the row (header = row 1) and the
column, and nothing downstream sees it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bordin.errors import InputError
from bordin.instruments import resolve_scale, score_column
from bordin.interop import read_scores_csv

HEADER = "client_id,therapist_id,session,phq9_total,phq9_item9,sac_total,sac_tension,adherence"
GOOD = "007,t1,1,14,1,4.2,0,0.8"


def _write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "scores.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_in_range_scores_are_read_with_text_identifiers(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD, "007,t1,2,0,,5,4,12.5", "007,t1,3,27,3,1,,")
    frame = read_scores_csv(path)
    assert frame["client_id"].tolist() == ["007", "007", "007"]
    assert frame["phq9_total"].tolist() == [14, 0, 27]
    assert frame["adherence"].tolist()[1] == 12.5  # not an instrument column: not bounded


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("007,t1,2,1e300,0,4,0,0.5", "phq9_total", "1e+300 is outside the phq9 total scale's"),
        ("007,t1,2,28,0,4,0,0.5", "phq9_total", "range 0-27"),
        ("007,t1,2,-1,0,4,0,0.5", "phq9_total", "-1 is outside"),
        ("007,t1,2,10,0,999,0,0.5", "sac_total", "999 is outside the sac total scale's range 1-5"),
        ("007,t1,2,10,0,0.5,0,0.5", "sac_total", "range 1-5"),
        ("007,t1,2,10,4,4,0,0.5", "phq9_item9", "4 is outside the phq9 item 9's range 0-3"),
        ("007,t1,2,10,0,4,5,0.5", "sac_tension", "range 0-4"),
        ("007,t1,2,inf,0,4,0,0.5", "phq9_total", "inf is outside"),
        ("007,t1,2,ten,0,4,0,0.5", "phq9_total", "'ten' is not a number"),
    ],
)
def test_a_score_an_instrument_cannot_produce_names_file_row_and_column(
    tmp_path: Path, row: str, column: str, message: str
) -> None:
    path = _write(tmp_path, GOOD, GOOD.replace(",1,", ",3,", 1), row)
    with pytest.raises(InputError) as info:
        read_scores_csv(path)
    error = info.value
    assert (error.file, error.row, error.column) == (str(path), 4, column)
    assert message in str(error)
    assert str(error).startswith(f"file {path}, row 4, column '{column}': ")


def test_rows_count_blank_lines_as_in_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD, "", "007,t1,2,30,0,4,0,0.5")
    with pytest.raises(InputError) as info:
        read_scores_csv(path)
    assert info.value.row == 4


def test_ranges_come_from_the_instrument_definitions() -> None:
    ranges = {
        name: (entry.minimum, entry.maximum)
        for name in ("phq9_total", "gad7_total", "sac_total", "k10_total", "ors_total")
        if (entry := score_column(name)) is not None
    }
    assert ranges == {
        "phq9_total": (0, 27),
        "gad7_total": (0, 21),
        "sac_total": (1, 5),
        "k10_total": (10, 50),
        "ors_total": (0, 40),
    }
    item = score_column("phq9_item9")
    assert item is not None and (item.item, item.minimum, item.maximum) == (9, 0, 3)
    assert score_column("adherence") is None


def test_resolve_scale_one_convention() -> None:
    columns = ["client_id", "session", "wai_sr_total", "wai_sr_bond", "phq9_total", "x"]
    assert resolve_scale("wai_sr", columns) == "wai_sr_total"
    assert resolve_scale("wai_sr_bond", columns) == "wai_sr_bond"
    assert resolve_scale("x", columns) == "x"
    with pytest.raises(InputError, match=r"'gad7' \(given with --outcome\) is an instrument"):
        resolve_scale("gad7", columns, option="--outcome")
    with pytest.raises(InputError, match="the columns are client_id, session, wai_sr_total"):
        resolve_scale("wai", columns, file="s.csv")


@pytest.mark.parametrize(
    "argv",
    [
        ["feedback", "{file}"],
        ["panel", "{file}", "--alliance", "sac_total", "--outcome", "phq9_total"],
        ["report", "{file}", "--alliance", "sac", "--outcome", "phq9", "--json"],
        ["meta", "--from-scores", "{file}", "--alliance", "sac", "--outcome", "phq9"],
    ],
)
def test_every_command_refuses_out_of_range_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    from bordin.cli.main import main

    path = _write(tmp_path, GOOD, "007,t1,2,10,0,999,0,0.5")
    with pytest.raises(SystemExit) as info:
        main([part.format(file=path) for part in argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: file {path}, row 3, column 'sac_total': 999 is outside the sac total "
        "scale's range 1-5\n"
    )
