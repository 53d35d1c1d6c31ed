"""One convention for naming scales on the command line (issue 14, item 4).

``--alliance`` and ``--outcome`` take a column (``phq9_total``) or an instrument id
(``phq9``, meaning its primary scale) in every command; anything else is one error line
naming the value and the file's columns.
"""

from __future__ import annotations

import json
from pathlib import Path

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
    clinic = simulate_clinic(SimulationConfig(n_clients=60), seed=11)
    path = tmp_path_factory.mktemp("scale-names") / "scores.csv"
    clinic.scores.to_csv(path, index=False)
    return path


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    return json.loads(out)


def test_feedback_takes_a_total_column_as_well_as_an_instrument(
    scores_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    by_id = _json(
        ["feedback", str(scores_csv), "--alliance", "sac", "--outcome", "phq9", "--json"], capsys
    )
    by_column = _json(
        [
            "feedback",
            str(scores_csv),
            "--alliance",
            "sac_total",
            "--outcome",
            "phq9_total",
            "--outcome",
            "gad7",
            "--json",
        ],
        capsys,
    )
    assert isinstance(by_id, dict) and isinstance(by_column, dict)
    assert by_column["outcomes"] == ["phq9", "gad7"]
    assert by_column["clients"][0]["client_id"] == by_id["clients"][0]["client_id"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--outcome", "sac_bond", "'sac_bond' (given with --outcome) is not sac's main scale"),
        ("--outcome", "adherence", "'adherence' (given with --outcome) is not an instrument"),
        ("--alliance", "nope", "'nope' (given with --alliance) is neither a column nor"),
        ("--outcome", "k10", "'k10' (given with --outcome) is an instrument, but its column"),
    ],
)
def test_feedback_refuses_other_names_in_one_line(
    scores_csv: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    code, _, err = _run(["feedback", str(scores_csv), option, value], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message in err


@pytest.mark.parametrize(
    "command",
    [
        ["panel", "{file}", "--no-random-slope", "--json"],
        ["meta", "--from-scores", "{file}", "--json"],
    ],
)
def test_panel_and_meta_take_an_instrument_as_its_primary_column(
    scores_csv: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    argv = [part.format(file=scores_csv) for part in command]
    by_column = _json([*argv, "--alliance", "sac_total", "--outcome", "phq9_total"], capsys)
    by_id = _json([*argv, "--alliance", "sac", "--outcome", "phq9"], capsys)
    assert by_id == by_column


@pytest.mark.slow
def test_report_takes_an_instrument_as_its_primary_column(
    scores_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", str(scores_csv), "--json"]
    by_column = _json([*argv, "--alliance", "sac_total", "--outcome", "phq9_total"], capsys)
    by_id = _json([*argv, "--alliance", "sac", "--outcome", "phq9"], capsys)
    assert isinstance(by_id, dict) and isinstance(by_column, dict)
    by_id.pop("generated_at", None)
    by_column.pop("generated_at", None)
    assert by_id == by_column


@pytest.mark.parametrize("command", ["panel", "report", "meta"])
def test_an_unknown_scale_names_the_value_and_the_columns(
    scores_csv: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    source = ["--from-scores", str(scores_csv)] if command == "meta" else [str(scores_csv)]
    extra = ["--json"] if command == "report" else []
    code, _, err = _run(
        [command, *source, "--alliance", "sac", "--outcome", "phq9_totl", *extra], capsys
    )
    assert code == 2
    assert err.count("\n") == 1
    assert "'phq9_totl' (given with --outcome) is neither a column nor an instrument" in err
    assert "the columns are client_id, therapist_id, session, date, gad7_total" in err
