"""``bordin feedback``: a readable summary, JSON that matches its schema, clean errors."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from bordin.cli.main import main
from bordin.simulate import SimulationConfig, simulate_clinic


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out.out, out.err


@pytest.fixture(scope="module")
def scores_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clinic = simulate_clinic(SimulationConfig(n_clients=60), seed=9)
    path = tmp_path_factory.mktemp("feedback") / "scores.csv"
    clinic.scores.to_csv(path, index=False)
    return path


def test_summary(scores_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["feedback", str(scores_csv)], capsys)
    assert code == 0, err
    assert out.startswith("Feedback for 60 client(s)")
    assert "Expected curves for PHQ-9" in out and "alliance: SAC; outcomes: PHQ-9." in out
    # alerts in clinic words, and the colours they mention explained
    assert "Not on track on PHQ-9 (red)" in out and "on phq9" not in out
    assert "red: not on track, the change since intake is worse than that of 95%" in out
    assert "bundled norms" in out  # 60 clients is too few to fit the clinic's own curves
    # the skipped criterion is explained to someone at the command line: why, and that
    # nothing is wrong with their file (not only a library setting to change)
    assert "sac has no published reliable-change threshold" in out
    assert "nothing is missing from the scores" in out
    assert "(set FeedbackConfig" not in out
    code, out, _ = _run(["feedback", str(scores_csv), "--max-alerts", "1"], capsys)
    assert code == 0 and "more (use --json)" in out


def test_json_matches_schema(scores_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["feedback", str(scores_csv), "--alliance", "sac", "--outcome", "phq9"]
    code, out, err = _run([*argv, "--outcome", "gad7", "--json", "--sessions"], capsys)
    assert code == 0, err
    document = json.loads(out)
    schema = json.loads(
        resources.files("bordin.feedback").joinpath("feedback.schema.json").read_text()
    )
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["outcomes"] == ["phq9", "gad7"]
    assert len(document["clients"]) == 60
    assert document["sessions"]


def test_missing_column_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("client_id,session,phq9_total\nc1,1,10\n", encoding="utf-8")
    code, _, err = _run(["feedback", str(path)], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "bad.csv" in err and "sac_total" in err


def test_bad_session_names_the_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "client_id,session,sac_total,phq9_total\nc1,1,4,10\nc1,x,4,10\n", encoding="utf-8"
    )
    code, _, err = _run(["feedback", str(path)], capsys)
    assert code == 2
    assert "row 3" in err and "session" in err  # header = row 1


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["feedback", str(tmp_path / "none.csv")], capsys)
    assert code == 2 and "not found" in err


def test_unknown_instrument(scores_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["feedback", str(scores_csv), "--outcome", "nope"], capsys)
    assert code == 2 and "nope" in err
