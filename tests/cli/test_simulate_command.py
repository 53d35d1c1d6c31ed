"""``bordin simulate``: files, determinism, options and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bordin.cli.main import main
from bordin.simulate import CLINIC_FILES


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_writes_every_file_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        ["simulate", "--clients", "40", "--seed", "3", "--out", str(tmp_path)], capsys
    )
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(CLINIC_FILES)
    for word in ("clients", "sessions", "ruptures", "repaired", "dropout"):
        assert word in out
    responses = pd.read_csv(tmp_path / "responses.csv")
    assert list(responses.columns) == [
        "client_id",
        "therapist_id",
        "session",
        "date",
        "instrument",
        "item",
        "value",
    ]
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert scores["client_id"].nunique() == 40
    assert {"sac_total", "phq9_total", "gad7_total", "adherence"} <= set(scores.columns)
    ruptures = pd.read_csv(tmp_path / "ruptures.csv")
    # Missing repair sessions are empty fields; repaired ones are whole numbers.
    repaired = ruptures[ruptures["repaired"]]
    assert repaired["repair_session"].notna().all()
    assert ruptures.loc[~ruptures["repaired"], "repair_session"].isna().all()
    params = json.loads((tmp_path / "parameters.json").read_text(encoding="utf-8"))
    assert params["seed"] == 3 and params["config"]["n_clients"] == 40


def test_same_seed_same_bytes_different_seed_different_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["simulate", "--clients", "25", "--feedback-trial"]
    for name, seed in (("a", "8"), ("b", "8"), ("c", "9")):
        code, _, _ = _run([*base, "--seed", seed, "--out", str(tmp_path / name)], capsys)
        assert code == 0
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert a == b
    for name in CLINIC_FILES:
        assert a[name] != c[name], name


def test_parameters_json_reproduces_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first"
    args = ["simulate", "--clients", "20", "--seed", "4", "--set", "rupture_rate=0.15"]
    assert _run([*args, "--sessions", "5-9", "--out", str(first)], capsys)[0] == 0
    again = tmp_path / "again"
    code, _, _ = _run(
        [
            "simulate",
            "--seed",
            "4",
            "--config",
            str(first / "parameters.json"),
            "--out",
            str(again),
        ],
        capsys,
    )
    assert code == 0
    assert _files(first) == _files(again)
    params = json.loads((again / "parameters.json").read_text(encoding="utf-8"))
    assert params["config"]["rupture_rate"] == 0.15
    assert (params["config"]["sessions_min"], params["config"]["sessions_max"]) == (5, 9)


def test_json_summary_and_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        [
            "simulate",
            "--clients",
            "30",
            "--seed",
            "1",
            "--sessions",
            "7",
            "--alliance-instrument",
            "wai_sr",
            "--no-gad7",
            "--feedback-trial",
            "--clients-per-therapist",
            "10",
            "--json",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0
    payload = json.loads(out)
    summary = payload["summary"]
    assert summary["clients"] == 30 and summary["therapists"] == 3
    assert summary["mean_sessions_planned"] == 7
    assert set(summary["arms"]) == {"feedback", "no_feedback"}
    assert 0 <= summary["dropout_rate"] <= 1
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert "wai_sr_total" in scores.columns
    assert "gad7_total" not in scores.columns and "sac_total" not in scores.columns
    assert scores["session"].max() <= 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sessions", "ten"], "--sessions"),
        (["--sessions", "9-3"], "sessions_max"),
        (["--set", "nonsense=1"], "nonsense"),
        (["--set", "rupture_rate=2"], "rupture_rate"),
        (["--set", "rupture_rate"], "NAME=VALUE"),
    ],
)
def test_bad_options_give_a_one_line_error(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["simulate", "--out", str(tmp_path / "x"), *args], capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_bad_config_file_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "params.json"
    bad.write_text("{not json", encoding="utf-8")
    code, _, err = _run(["simulate", "--out", str(tmp_path / "x"), "--config", str(bad)], capsys)
    assert code == 2
    assert "params.json" in err
