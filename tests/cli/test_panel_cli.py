"""``bordin panel``: the lagged within/between model from a session-scores CSV."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bordin.cli.main import main
from support.tolerances import LMM_FIXED_RTOL, LMM_LOGLIK_ATOL

DATA = Path(__file__).resolve().parents[1] / "reference" / "data" / "panel"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out.out, out.err


def _scores(tmp_path: Path) -> Path:
    """The shared reference panel under DESIGN.md column names."""
    frame = pd.read_csv(DATA / "panel_a.csv").rename(
        columns={"alliance": "wai_sr_total", "outcome": "phq9_total"}
    )
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    return path


def test_json_has_the_issue_keys_and_matches_lme4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scores(tmp_path)
    argv = ["panel", str(path), "--alliance", "wai_sr_total", "--outcome", "phq9_total"]
    code, out, _ = _run([*argv, "--ml", "--json"], capsys)
    assert code == 0
    got = json.loads(out)
    ref = json.loads((DATA / "panel_a_ml.json").read_text(encoding="utf-8"))
    expected_keys = {"n_obs", "n_clients", "reml", "fixed", "se", "sd_intercept", "sd_slope"}
    expected_keys |= {"corr", "sd_residual", "loglik", "converged"}
    assert expected_keys <= set(got)
    assert got["reml"] is False
    assert got["n_obs"] == ref["n_obs"] and got["n_clients"] == ref["n_clients"]
    for term, value in ref["fixed"].items():
        assert got["fixed"][term] == pytest.approx(value, rel=LMM_FIXED_RTOL)
        assert got["se"][term] == pytest.approx(ref["se"][term], rel=LMM_FIXED_RTOL)
    assert got["loglik"] == pytest.approx(ref["loglik"], abs=LMM_LOGLIK_ATOL)
    assert got["converged"] is True


def test_table_has_estimates_and_plain_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scores(tmp_path)
    code, out, _ = _run(
        ["panel", str(path), "--alliance", "wai_sr_total", "--outcome", "phq9_total"], capsys
    )
    assert code == 0
    assert "alliance_within" in out and "REML" in out
    out = " ".join(out.split())  # the interpretation is wrapped for the terminal
    assert "one point above their own usual level" in out
    assert "phq9_total at the next session is 1.08 points lower" in out
    assert "not proof" in out


def test_options_add_terms_and_therapist_level(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(DATA / "panel_c.csv", tmp_path / "c.csv")
    code, out, _ = _run(
        [
            "panel",
            str(tmp_path / "c.csv"),
            "--alliance",
            "alliance",
            "--outcome",
            "outcome",
            "--session-trend",
            "--covariate",
            "intake",
            "--therapist",
            "--ml",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    got = json.loads(out)
    cases = json.loads((DATA / "panel_cases.json").read_text(encoding="utf-8"))
    ref = next(c for c in cases if c["name"] == "c_all_ml")
    assert list(got["fixed"]) == list(ref["fixed"])
    assert got["sd_therapist"] == pytest.approx(ref["sd_therapist"], rel=1e-4)
    assert got["n_therapists"] == 12


def test_boundary_fit_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(DATA / "panel_b_gaps.csv", tmp_path / "b.csv")
    code, out, err = _run(
        ["panel", str(tmp_path / "b.csv"), "--alliance", "alliance", "--outcome", "outcome"],
        capsys,
    )
    assert code == 0
    assert "boundary (singular) fit" in out
    assert "warning: boundary (singular) fit" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--alliance", "wai", "--outcome", "phq9_total"],
            "'wai' (given with --alliance) is neither a column nor an instrument; "
            "the columns are client_id,",
        ),
        (
            ["--alliance", "wai_sr_total", "--outcome", "phq9_total", "--covariate", "age"],
            "column 'age'",
        ),
    ],
)
def test_missing_column_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    path = _scores(tmp_path)
    code, _, err = _run(["panel", str(path), *argv], capsys)
    assert code == 2
    assert err.startswith(f"error: file {path}")
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_one_client_and_constant_alliance_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_csv(DATA / "panel_a.csv")
    one = tmp_path / "one.csv"
    frame[frame["client_id"] == "c000000"].to_csv(one, index=False)
    code, _, err = _run(
        ["panel", str(one), "--alliance", "alliance", "--outcome", "outcome"], capsys
    )
    assert code == 2 and "only one client" in err
    flat = tmp_path / "flat.csv"
    frame.assign(alliance=frame.groupby("client_id")["alliance"].transform("mean")).to_csv(
        flat, index=False
    )
    code, _, err = _run(
        ["panel", str(flat), "--alliance", "alliance", "--outcome", "outcome"], capsys
    )
    assert code == 2 and "never varies within clients" in err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        ["panel", str(tmp_path / "nope.csv"), "--alliance", "a", "--outcome", "b"], capsys
    )
    assert code == 2 and "file not found" in err


LMERTEST = Path(__file__).resolve().parents[1] / "reference" / "data" / "lmertest"


def test_json_has_lmertest_table_and_ranef(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scores(tmp_path)
    argv = ["panel", str(path), "--alliance", "wai_sr_total", "--outcome", "phq9_total"]
    code, out, _ = _run([*argv, "--json", "--ranef"], capsys)
    assert code == 0
    got = json.loads(out)
    cases = json.loads((LMERTEST / "lmertest_cases.json").read_text(encoding="utf-8"))
    ref = next(c for c in cases if c["name"] == "a_reml")
    rows = {r["term"]: r for r in got["coefficients"]}
    assert list(rows) == ref["terms"]
    for i, term in enumerate(ref["terms"]):
        assert set(rows[term]) >= {"estimate", "se", "df", "statistic", "p_value"}
        assert rows[term]["df"] == pytest.approx(ref["df"][i], rel=LMM_FIXED_RTOL)
        assert got["df"][term] == rows[term]["df"]
    assert got["ddf_method"] == "Satterthwaite"
    client = [r for r in got["ranef"] if r["term"] == "alliance_within"]
    assert [r["id"] for r in client] == ref["ranef"][0]["levels"]
    assert {r["group"] for r in got["ranef"]} == {"client"}
    code, out, _ = _run([*argv, "--json"], capsys)
    assert "ranef" not in json.loads(out)


def test_table_shows_satterthwaite_and_ranef(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scores(tmp_path)
    argv = ["panel", str(path), "--alliance", "wai_sr_total", "--outcome", "phq9_total"]
    code, out, _ = _run([*argv, "--ranef"], capsys)
    assert code == 0
    assert "Pr(>|t|)" in out and "Satterthwaite" in out
    assert "Conditional modes" in out and "c000000" in out
