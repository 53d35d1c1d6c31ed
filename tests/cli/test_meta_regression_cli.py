"""``bordin meta`` with two-group effect sizes, several moderators and predictions, and
``bordin escalc`` (issue 20): JSON equal to metafor's, readable errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bordin.cli.main import main
from support.tolerances import CLOSED_FORM_RTOL, ITERATIVE_RTOL

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


def test_repeated_mods_and_predictions_match_metafor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _copy(tmp_path, "regression/bcg")
    ref = json.loads((DATA / "regression" / "bcg.json").read_text())
    want = ref["REML_knha"]
    preds = [",".join(f"{k}={v}" for k, v in row.items()) for row in ref["newmods"]]
    argv = ["meta", str(path), "--measure", "GEN", "--test", "knha", "--json"]
    argv += ["--mods", "ablat", "--mods", "year", "--mods", "alloc"]
    for p in preds:
        argv += ["--pred", p]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    got = json.loads(out)
    assert list(got["coef"]) == list(want["b"])
    for key in ("zval", "pval", "ci.lb", "ci.ub", "se"):
        np.testing.assert_allclose(
            list(got[key].values()), list(want[key].values()), rtol=ITERATIVE_RTOL, err_msg=key
        )
    for key in ("QM", "QMp", "QE", "QEp", "tau2", "R2", "I2"):
        np.testing.assert_allclose(got[key], want[key], rtol=ITERATIVE_RTOL, err_msg=key)
    assert got["QMdf"] == want["QMdf"] == [4, 8]
    assert got["formula"] == "~ ablat + year + alloc"
    assert got["levels"] == {"alloc": ["alternate", "random", "systematic"]}
    assert [p["newmods"]["alloc"] for p in got["predict"]] == [r["alloc"] for r in ref["newmods"]]
    for key in ("pred", "se", "ci.lb", "ci.ub", "pi.lb", "pi.ub"):
        np.testing.assert_allclose(
            [p[key] for p in got["predict"]], want["pred"][key], rtol=ITERATIVE_RTOL, err_msg=key
        )


def test_formula_with_factor_and_missing_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _copy(tmp_path, "regression/bangertdrowns2004")
    ref = json.loads((DATA / "regression" / "bangertdrowns2004.json").read_text())
    want = ref["DL_z"]
    code, out, err = _run(
        ["meta", str(path), "--measure", "GEN", "--method", "DL", "--json",
         "--mods", ref["formula"], "--pred", "length=15,grade=3,meta=1,feedback=0"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    assert list(got["coef"]) == list(want["b"])
    assert "factor(grade)3" in got["coef"]
    np.testing.assert_allclose(
        list(got["coef"].values()), list(want["b"].values()), rtol=CLOSED_FORM_RTOL
    )
    np.testing.assert_allclose(got["QM"], want["QM"], rtol=CLOSED_FORM_RTOL)
    assert got["QMdf"] == [want["QMdf"][0], None]
    assert got["k"] == want["k"] and got["mods_n_dropped"] == 48 - want["k"]
    np.testing.assert_allclose(got["predict"][0]["pred"], want["pred"]["pred"][1], rtol=1e-9)
    assert any("left out" in note for note in got["notes"])


def test_smd_from_means_and_log_or_with_renamed_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _copy(tmp_path, "escalc/normand1999")
    want = json.loads((DATA / "escalc" / "normand1999.json").read_text())["SMD"]["rma"]
    code, out, err = _run(["meta", str(path), "--measure", "SMD", "--json"], capsys)
    assert code == 0, err
    got = json.loads(out)
    assert got["measure"] == "SMD" and got["k"] == want["k"]
    for ours, theirs in (("estimate", "estimate"), ("tau2", "tau2"), ("pi_lb", "pi.lb")):
        np.testing.assert_allclose(got[ours], want[theirs], rtol=ITERATIVE_RTOL, err_msg=ours)
    counts = pd.read_csv(DATA / "escalc" / "nielweise2007.csv")
    renamed = tmp_path / "renamed.csv"
    counts.rename(columns={"ai": "events_t", "ci": "events_c"}).to_csv(renamed, index=False)
    want = json.loads((DATA / "escalc" / "nielweise2007.json").read_text())["OR"]["rma"]
    code, out, err = _run(
        ["meta", str(renamed), "--measure", "OR", "--col", "ai=events_t", "--col",
         "ci=events_c", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose(got["exp_estimate"], np.exp(want["estimate"]), rtol=ITERATIVE_RTOL)
    assert any("zero cell" in note for note in got["notes"])


def test_escalc_command_writes_yi_vi(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(tmp_path, "escalc/gibson2002")
    want = json.loads((DATA / "escalc" / "gibson2002.json").read_text())["SMD"]
    target = tmp_path / "es.csv"
    code, _, err = _run(["escalc", str(path), "--measure", "SMD", "--out", str(target)], capsys)
    assert code == 0, err
    table = pd.read_csv(target)
    np.testing.assert_allclose(
        table["yi"], [np.nan if y is None else y for y in want["yi"]], rtol=CLOSED_FORM_RTOL
    )
    assert list(table["yi"].isna()) == [y is None for y in want["yi"]]
    code, out, _ = _run(["escalc", str(path), "--measure", "MD", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["dropped_rows"] == [15, 16]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--measure", "GEN", "--pred", "ablat=1"], "--pred needs moderators"),
        (["--measure", "GEN", "--mods", "ablat", "--pred", "ablat=x"], "is not a number"),
        (["--measure", "GEN", "--mods", "alloc", "--pred", "alloc=other"], "not one of its levels"),
        (["--measure", "GEN", "--mods", "~ ablat * year"], "cannot read the term"),
        (["--measure", "GEN", "--mods", "latitude"], "no moderator column 'latitude'"),
        (["--measure", "SMD"], "missing m1i"),
        (["--measure", "XYZ"], "--measure must be one of"),
    ],
)
def test_bad_options_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    path = _copy(tmp_path, "regression/bcg")
    code, _, err = _run(["meta", str(path), *argv], capsys)
    assert code == 2
    assert message in err
