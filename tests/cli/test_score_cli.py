"""``bordin score``: long responses to wide scores, and bad files that write nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bordin.cli.main import main

HEADER = "client_id,therapist_id,session,date,instrument,item,value\n"


def _block(client: str, session: int, instrument: str, values: list[int]) -> str:
    return "".join(
        f"{client},t1,{session},2024-05-{session:02d},{instrument},{n},{v}\n"
        for n, v in enumerate(values, start=1)
    )


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out.out, out.err


def test_scores_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "responses.csv"
    src.write_text(
        HEADER
        + _block("c1", 1, "phq9", [2] * 9)
        + _block("c1", 1, "sac", [4, 4, 5, 5, 3, 3, 1, 2, 0, 0])
        + _block("c1", 2, "phq9", [1] * 9),
        encoding="utf-8",
    )
    out = tmp_path / "scores.csv"
    code, stdout, _ = _run(["score", str(src), "-o", str(out)], capsys)
    assert code == 0
    assert "3 sessions" not in stdout and "2 sessions of 1 clients" in stdout
    wide = pd.read_csv(out)
    assert wide["phq9_total"].tolist() == [18, 9]
    assert wide["sac_total"].iloc[0] == 4 and pd.isna(wide["sac_total"].iloc[1])
    assert wide["sac_resolution"].iloc[0] == 2
    assert wide["phq9_item9"].tolist() == [2, 1]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("c1,t1,1,2024-05-01,phq9,10,1\n", "row 3, column 'item', item phq9 10"),
        ("c1,t1,1,2024-05-01,phq9,1,4\n", "row 3, column 'value', item phq9 1"),
        ("c1,t1,one,2024-05-01,phq9,1,1\n", "row 3, column 'session'"),
        ("c1,t1,1,2024-05-01,bdi,1,1\n", "unknown instrument 'bdi'"),
        ("c1,t1,1,2024-05-01,phq9,2,1\n", "answered twice"),
    ],
)
def test_bad_file_exits_2_names_the_place_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    src = tmp_path / "responses.csv"
    src.write_text(HEADER + "c1,t1,1,2024-05-01,phq9,2,1\n" + line, encoding="utf-8")
    out = tmp_path / "scores.csv"
    code, _, err = _run(["score", str(src), "-o", str(out)], capsys)
    assert code == 2
    assert err.startswith("error: file responses.csv")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["responses.csv"]


def test_bad_file_leaves_an_existing_output_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "responses.csv"
    src.write_text(HEADER + "c1,t1,1,,gad7,1,x\n", encoding="utf-8")
    out = tmp_path / "scores.csv"
    out.write_text("previous\n", encoding="utf-8")
    code, _, err = _run(["score", str(src), "-o", str(out)], capsys)
    assert code == 2 and "value must be a number" in err
    assert out.read_text(encoding="utf-8") == "previous\n"


def test_missing_column_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "responses.csv"
    src.write_text("client_id,session,instrument,item,value\nc1,1,gad7,1,1\n", encoding="utf-8")
    code, _, err = _run(["score", str(src), "-o", str(tmp_path / "s.csv")], capsys)
    assert code == 2 and "missing required column(s) therapist_id" in err
    code, _, err = _run(["score", str(tmp_path / "nope.csv"), "-o", "s.csv"], capsys)
    assert code == 2 and "no such file" in err
    assert not (tmp_path / "s.csv").exists()
