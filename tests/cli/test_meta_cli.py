"""``bordin meta``: JSON equal to metafor's, readable errors, plots, clinic data (issue 4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bordin.cli.main import main
from support.tolerances import ITERATIVE_RTOL

DATA = Path(__file__).resolve().parents[1] / "reference" / "data" / "meta"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out.out, out.err


def _copy(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{Path(name).name}.csv"
    shutil.copy(DATA / f"{name}.csv", path)
    return path


def test_json_matches_metafor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(tmp_path, "molloy2014")
    ref = json.loads((DATA / "molloy2014.json").read_text())
    code, out, _ = _run(["meta", str(path), "--r", "r", "--n", "n", "--json"], capsys)
    assert code == 0
    got = json.loads(out)
    want = ref["ZCOR_REML_z"]
    for key, value in want.items():
        if key in ("trimfill_side", "trimfill_k0", "k"):
            assert got[key] == value
        else:
            np.testing.assert_allclose(got[key], value, rtol=ITERATIVE_RTOL, err_msg=key)
    code, out, _ = _run(
        [
            "meta", str(path), "--r", "r", "--n", "n", "--measure", "COR",
            "--method", "DL", "--test", "knha", "--json",
        ],
        capsys,
    )  # fmt: skip
    got = json.loads(out)
    for key, value in ref["COR_DL_knha"].items():
        np.testing.assert_allclose(got[key], value, rtol=1e-9, err_msg=key)


def test_moderator_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(tmp_path, "mcdaniel1994")
    want = json.loads((DATA / "mcdaniel1994.json").read_text())["ZCOR_REML_mods_type"]
    code, out, _ = _run(["meta", str(path), "--mods", "type", "--json"], capsys)
    assert code == 0
    got = json.loads(out)
    assert list(got["coef"]) == list(want["coef"])
    np.testing.assert_allclose(list(got["coef"].values()), list(want["coef"].values()), rtol=1e-6)
    np.testing.assert_allclose(list(got["se"].values()), want["se"], rtol=1e-6)
    for key, theirs in (("QM", "QM"), ("QMp", "QM_pval"), ("QE", "QE"), ("tau2", "tau2")):
        np.testing.assert_allclose(got[key], want[theirs], rtol=1e-6, err_msg=key)
    np.testing.assert_allclose(got["R2"], want["R2"], rtol=1e-6)
    assert got["k"] == want["k"] == 157
    assert got["overall"]["k"] == 160


def test_table_output_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(tmp_path, "molloy2014")
    forest, funnel = tmp_path / "forest.svg", tmp_path / "funnel.png"
    code, out, _ = _run(
        ["meta", str(path), "--forest", str(forest), "--funnel", str(funnel)], capsys
    )
    assert code == 0
    assert "random-effects (REML) model, k = 16" in out
    assert "as a correlation: r = 0.149" in out
    assert forest.read_text().count("<svg") == 1
    assert funnel.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("cells", "words"),
    [
        ({"r": "1.4"}, "row 3, column 'r': r = 1.4 is outside [-1, 1]"),
        ({"n": "3"}, "row 3, column 'n': n = 3, but ZCOR needs n > 3"),
        ({"r": "strong"}, "row 3, column 'r': 'strong' is not a number"),
    ],
)
def test_bad_cells_exit_2_naming_the_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cells: dict[str, str], words: str
) -> None:
    frame = pd.read_csv(DATA / "molloy2014.csv", dtype=str)
    for column, value in cells.items():
        frame.loc[1, column] = value
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    code, out, err = _run(["meta", str(path)], capsys)
    assert code == 2
    assert err.startswith("error: file ") and words in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_too_few_studies_and_missing_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "few.csv"
    path.write_text("study,r,n\nA,0.3,40\nB,,50\nC,0.2,\n")
    code, _, err = _run(["meta", str(path)], capsys)
    assert code == 2 and "at least 2 complete studies" in err
    path.write_text("study,r,n\nA,0.3,40\nB,,50\nC,0.2,60\nD,0.25,80\n")
    code, out, _ = _run(["meta", str(path), "--json"], capsys)
    got = json.loads(out)
    assert code == 0 and got["k"] == 3 and got["n_dropped"] == 1 and got["dropped_rows"] == [3]
    code, _, err = _run(["meta", str(path), "--r", "corr"], capsys)
    assert code == 2 and "no column 'corr'" in err
    code, _, err = _run(["meta", str(tmp_path / "nope.csv")], capsys)
    assert code == 2 and "no such file" in err


def test_from_scores_pools_per_therapist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bordin.simulate import simulate_clinic

    scores = simulate_clinic(seed=11).scores
    # One therapist keeps only 3 clients: dropped and reported.
    small = scores["therapist_id"].astype(str) == str(scores["therapist_id"].iloc[0])
    keep = set(scores.loc[small, "client_id"].astype(str).unique()[:3])
    scores = scores[~small | scores["client_id"].astype(str).isin(keep)]
    path = tmp_path / "scores.csv"
    scores.to_csv(path, index=False)
    dropped = str(scores["therapist_id"].iloc[0])
    argv = [
        "meta", "--from-scores", str(path), "--alliance", "sac_total",
        "--outcome", "phq9_total", "--by", "therapist_id",
    ]  # fmt: skip
    code, out, _ = _run(argv, capsys)
    assert code == 0
    assert "Flückiger et al., 2018" in out and "r = 0.278 [0.256, 0.299]" in out
    assert f"therapist_id {dropped} dropped: 3 client(s), fewer than 4" in out
    assert "not a ranking of therapists" in out
    code, out, _ = _run([*argv, "--json", "--forest", str(tmp_path / "f.png")], capsys)
    got = json.loads(out)
    n_groups = scores["therapist_id"].nunique()
    assert code == 0 and got["k"] == n_groups - 1 == len(got["groups"])
    assert got["dropped_groups"] == [{"group": dropped, "reason": "3 client(s), fewer than 4"}]
    assert got["benchmark"] == {
        "r": 0.278,
        "ci_lb": 0.256,
        "ci_ub": 0.299,
        "k": 295,
        "citation": got["benchmark"]["citation"],
    }
    assert got["higher_is_better"] is False
    assert sum(g["n"] for g in got["groups"]) + 3 == got["n_clients"]
    assert (tmp_path / "f.png").stat().st_size > 1000
    code, _, err = _run(["meta", "--from-scores", str(path), "--alliance", "x"], capsys)
    assert code == 2 and "--outcome" in err
    code, _, err = _run([*argv[:4], "haq_total", *argv[5:]], capsys)
    assert code == 2 and "'haq_total' (given with --alliance) is neither a column nor" in err


def test_warnings_are_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(tmp_path, "cases/localmax")
    code, out, err = _run(["meta", str(path), "--method", "ML"], capsys)
    assert code == 0 and "random-effects (ML) model, k = 3" in out
    assert err == "warning: Fisher scoring may have stopped at a local maximum; tau^2 set to 0\n"
