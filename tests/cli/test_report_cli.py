"""``bordin report`` from the command line: files, JSON, one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bordin.cli.main import main
from bordin.simulate import SimulationConfig, simulate_clinic


@pytest.fixture(scope="module")
def scores_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "scores.csv"
    simulate_clinic(
        SimulationConfig(n_clients=160, clients_per_therapist=10), seed=8
    ).scores.to_csv(path, index=False)
    return path


def test_report_html_and_json(
    scores_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    pdf = tmp_path / "report.pdf"
    main(
        [
            "report",
            str(scores_csv),
            "--alliance",
            "sac_total",
            "--outcome",
            "phq9_total",
            "--adherence",
            "adherence",
            "-o",
            str(out),
            "--pdf",
            str(pdf),
            "--json",
        ]
    )  # success returns normally
    html = out.read_text(encoding="utf-8")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert html.startswith("<!doctype html>") and "scores.csv" in html
    payload = json.loads(capsys.readouterr().out)
    assert payload["source"] == "scores.csv" and payload["n_clients"] == 160
    assert all(s["available"] for s in payload["sections"])
    key = "therapists.pooled.estimate"
    assert f'data-key="{key}" data-value="{payload["numbers"][key]!r}"' in html


def test_missing_column_is_a_one_line_error(
    scores_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "report",
                str(scores_csv),
                "--alliance",
                "wai_total",
                "--outcome",
                "phq9_total",
                "-o",
                str(out),
            ]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "scores.csv" in err and "'wai_total'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_cell_names_row_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.DataFrame(
        {
            "client_id": ["a", "a"],
            "therapist_id": ["t", "t"],
            "session": [1, 2],
            "sac_total": ["4.0", "high"],
            "phq9_total": [10, 8],
        }
    )
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(path), "--alliance", "sac_total", "--outcome", "phq9_total", "--json"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "'sac_total'" in err and "'high'" in err


def test_nothing_to_write_is_an_error(scores_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(scores_csv), "--alliance", "sac_total", "--outcome", "phq9_total"])
    assert exit_info.value.code == 2
    assert "-o REPORT.html, --pdf REPORT.pdf or --json" in capsys.readouterr().err


def test_dropout_column(
    scores_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_csv(scores_csv)
    last = frame.groupby("client_id")["session"].transform("max")
    frame["ended_early"] = (last < 8).map({True: "yes", False: "no"})
    path = tmp_path / "with_dropout.csv"
    frame.to_csv(path, index=False)
    main(
        [
            "report",
            str(path),
            "--alliance",
            "sac_total",
            "--outcome",
            "phq9_total",
            "--dropout",
            "ended_early",
            "--json",
        ]
    )
    numbers = json.loads(capsys.readouterr().out)["numbers"]
    expected = int((frame.groupby("client_id")["session"].max() < 8).sum())
    assert numbers["outcomes.dropout.count"] == expected
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "report",
                str(path),
                "--alliance",
                "sac_total",
                "--outcome",
                "phq9_total",
                "--dropout",
                "nope",
                "--json",
            ]
        )
    assert exit_info.value.code == 2 and "'nope'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The simulator's scores.csv and clients.csv, as `bordin simulate` writes them."""
    folder = tmp_path_factory.mktemp("endings")
    clinic = simulate_clinic(SimulationConfig(n_clients=160, clients_per_therapist=10), seed=8)
    clinic.scores.to_csv(folder / "scores.csv", index=False)
    clinic.clients.to_csv(folder / "clients.csv", index=False)
    return folder / "scores.csv", folder / "clients.csv"


def _report_json(scores: Path, *extra: str) -> list[str]:
    return ["report", str(scores), "--alliance", "sac_total", "--outcome", "phq9_total", *extra]


def test_endings_file_gives_the_dropout_rate_the_simulator_recorded(
    simulated: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without endings the dropout rate is not known; the simulator's clients.csv records
    them (dropped_out), and so does the service's vocabulary (ended: planned, dropout,
    referral): both give the simulator's own count."""
    scores, clients = simulated
    main(_report_json(scores, "--json"))
    numbers = json.loads(capsys.readouterr().out)["numbers"]
    assert "outcomes.dropout.count" not in numbers or numbers["outcomes.dropout.n"] == 0
    truth = pd.read_csv(clients, dtype={"client_id": str})
    expected = int(truth["dropped_out"].astype(bool).sum())
    assert 0 < expected < len(truth)
    main(_report_json(scores, "--endings", str(clients), "--json"))
    numbers = json.loads(capsys.readouterr().out)["numbers"]
    assert numbers["outcomes.dropout.count"] == expected
    assert numbers["outcomes.dropout.n"] == len(truth)
    words = truth[["client_id"]].assign(
        ended=truth["dropped_out"].map({True: "dropout", False: "planned"})
    )
    words.loc[words.index[:3], "ended"] = "referral"  # not a dropout either
    expected_words = int((words["ended"] == "dropout").sum())
    path = tmp_path / "endings.csv"
    words.to_csv(path, index=False)
    main(_report_json(scores, "--endings", str(path), "--json"))
    numbers = json.loads(capsys.readouterr().out)["numbers"]
    assert numbers["outcomes.dropout.count"] == expected_words


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"client_id": ["c000001"], "reason": ["planned"]}, "no column says how"),
        ({"client": ["c000001"], "ended": ["planned"]}, "column 'client_id'"),
        ({"client_id": ["c000001"], "ended": ["finished"]}, "row 2, column 'ended'"),
        (
            {"client_id": ["c000001", "c000002", "c000001"], "ended": ["planned"] * 3},
            "row 4, column 'client_id'",
        ),
        ({"client_id": ["c000001", "c000001"], "ended": ["planned"] * 2}, "listed twice"),
        ({"client_id": ["c000001", "nobody"], "dropped_out": ["true"] * 2}, "row 3"),
        ({"client_id": ["nobody"], "dropped_out": ["true"]}, "'nobody' is not in the scores"),
        ({"client_id": ["c000001", ""], "ended": ["planned"] * 2}, "client is blank"),
        ({"client_id": ["c000001"], "dropped_out": ["maybe"]}, "column 'dropped_out'"),
    ],
)
def test_a_bad_endings_file_is_a_one_line_error_and_nothing_is_written(
    simulated: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    rows: dict[str, list[str]],
    message: str,
) -> None:
    scores, _clients = simulated
    path = tmp_path / "endings.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    out = tmp_path / "report.html"
    with pytest.raises(SystemExit) as exit_info:
        main(_report_json(scores, "--endings", str(path), "-o", str(out)))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "endings.csv" in err and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_missing_endings_file_is_named_and_nothing_is_written(
    simulated: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores, _clients = simulated
    out = tmp_path / "report.html"
    missing = tmp_path / "no-such-endings.csv"
    with pytest.raises(SystemExit) as exit_info:
        main(_report_json(scores, "--endings", str(missing), "-o", str(out)))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no-such-endings.csv" in err and "no such file" in err
    assert not out.exists()


def test_clients_without_an_ending_are_named_in_a_note_and_follow_the_8_week_rule(
    simulated: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that lists only some clients: those it leaves out are counted as the service
    counts an open episode (a dropout after 8 weeks without a session), and a note on
    stderr says how many there are, so a file of the dropouts alone is not misread."""
    scores, clients = simulated
    truth = pd.read_csv(clients, dtype={"client_id": str})
    listed = truth.iloc[: len(truth) // 2]
    path = tmp_path / "half.csv"
    listed[["client_id", "dropped_out"]].to_csv(path, index=False)
    main(_report_json(scores, "--endings", str(path), "--json"))
    captured = capsys.readouterr()
    unlisted = len(truth) - len(listed)
    note = " ".join(captured.err.split())  # rich wraps at the console's width
    assert f"{unlisted} client(s) of scores.csv have no row in half.csv" in note
    frame = pd.read_csv(scores, dtype={"client_id": str}, parse_dates=["date"])
    last = frame.groupby("client_id")["date"].max()
    as_of = frame["date"].max()
    rest = last.drop(listed["client_id"])
    inactive = int((rest < as_of - pd.Timedelta(weeks=8)).sum())
    expected = int(listed["dropped_out"].astype(bool).sum()) + inactive
    assert json.loads(captured.out)["numbers"]["outcomes.dropout.count"] == expected
    main(_report_json(scores, "--endings", str(clients), "--json"))
    assert "no row" not in capsys.readouterr().err


def test_dropout_column_and_endings_file_together_are_refused(
    simulated: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both record how treatments ended and could disagree (a client marked in the column
    and listed as planned in the file): the command says to give one."""
    scores, clients = simulated
    out = tmp_path / "report.html"
    with pytest.raises(SystemExit) as exit_info:
        main(
            _report_json(
                scores, "--dropout", "client_id", "--endings", str(clients), "-o", str(out)
            )
        )
    assert exit_info.value.code == 2
    assert "--dropout COLUMN or --endings FILE, not both" in capsys.readouterr().err
    assert not out.exists()
