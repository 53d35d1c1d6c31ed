"""Reading the long response CSV and writing the wide scores CSV atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bordin.errors import InputError
from bordin.interop import read_responses_csv, write_scores_csv
from bordin.scoring import score_responses

HEADER = "client_id,therapist_id,session,date,instrument,item,value\n"


def _gad7(client: str, session: int, value: int = 1) -> str:
    return "".join(
        f"{client},t1,{session},2024-03-0{session},gad7,{n},{value}\n" for n in range(1, 8)
    )


def test_identifiers_stay_text_and_values_are_checked_later(tmp_path: Path) -> None:
    path = tmp_path / "responses.csv"
    path.write_text(HEADER + _gad7("007", 1), encoding="utf-8")
    frame = read_responses_csv(path)
    assert frame["client_id"].tolist() == ["007"] * 7
    wide = score_responses(frame, source=path.name)
    assert wide.loc[0, "client_id"] == "007" and wide.loc[0, "gad7_total"] == 7


def test_blank_lines_keep_file_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "responses.csv"
    body = _gad7("c1", 1) + "\n\n" + _gad7("c1", 2).replace(",gad7,3,1", ",gad7,3,9")
    path.write_text(HEADER + body, encoding="utf-8")
    frame = read_responses_csv(path)
    assert len(frame) == 14
    with pytest.raises(InputError) as info:
        score_responses(frame, source=path.name)
    # header row 1, 7 data rows (2-8), 2 blank lines (9-10), then items 1, 2, 3 at 11, 12, 13
    assert info.value.row == 13 and "file responses.csv, row 13" in str(info.value)


def test_byte_order_mark_and_header_spaces(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    header = " client_id, therapist_id,session,date,instrument,item,value\n"
    path.write_bytes("\ufeff".encode() + (header + _gad7("c1", 1)).encode())
    assert list(read_responses_csv(path).columns)[:2] == ["client_id", "therapist_id"]


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_responses_csv(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_responses_csv(empty)


def test_write_round_trip_full_precision(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"client_id": ["a", "b"], "session": [1, 2], "wai_sr_total": [1 / 3, float("nan")]}
    )
    out = tmp_path / "scores.csv"
    write_scores_csv(frame, out)
    back = pd.read_csv(out)
    assert back.loc[0, "wai_sr_total"] == 1 / 3
    assert pd.isna(back.loc[1, "wai_sr_total"])
    assert out.read_text(encoding="utf-8").splitlines()[2] == "b,2,"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


class _Exploding(pd.DataFrame):
    def to_csv(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        raise OSError("disk full")


def test_write_is_atomic(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    out.write_text("old,complete\n", encoding="utf-8")
    with pytest.raises(OSError, match="disk full"):
        write_scores_csv(_Exploding({"a": [1]}), out)
    assert out.read_text(encoding="utf-8") == "old,complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]
    with pytest.raises(InputError, match="output folder"):
        write_scores_csv(pd.DataFrame({"a": [1]}), tmp_path / "nope" / "s.csv")


def test_unreadable_csv(tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(HEADER + "c1,t1,1,2024-01-01,gad7,1,1,extra,fields\n", encoding="utf-8")
    with pytest.raises(InputError, match="ragged.csv: not a readable CSV file"):
        read_responses_csv(ragged)
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "Jos\xe9,t1,1,,gad7,1,1\n").encode("latin-1"))
    with pytest.raises(InputError, match="latin.csv: not a readable CSV file"):
        read_responses_csv(latin)
