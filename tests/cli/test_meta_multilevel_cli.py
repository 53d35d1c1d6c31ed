"""``bordin meta-multilevel``: JSON equal to metafor's rma.mv, readable errors (issue 20)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bordin.cli.main import main

DATA = Path(__file__).resolve().parents[1] / "reference" / "data" / "meta" / "multilevel"
# rma.mv's optimiser precision; see tests/reference/test_meta_multilevel_metafor.py.
OPTIMISER_RTOL = 5e-6


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out.out, out.err


def test_json_matches_metafor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "assink.csv"
    shutil.copy(DATA / "assink2016.csv", path)
    want = json.loads((DATA / "assink2016.json").read_text())["REML_z_mods"]
    argv = ["meta-multilevel", str(path), "--cluster", "study", "--effect", "esid"]
    argv += ["--mods", "pubstatus", "--mods", "year", "--mods", "deltype"]
    code, out, _ = _run([*argv, "--confint", "--robust", "--json"], capsys)
    assert code == 0
    got = json.loads(out)
    assert got["s.names"] == ["study", "study/esid"]
    assert list(got["beta"]) == list(want["beta"])
    for key in ("sigma2", "se", "zval", "pval", "QM", "QMp", "QE"):
        np.testing.assert_allclose(got[key], want[key], rtol=OPTIMISER_RTOL, err_msg=key)
    np.testing.assert_allclose(got["logLik"], want["logLik"], rtol=1e-6)
    np.testing.assert_allclose(
        got["confint"]["sigma2.1"]["ci.ub"], want["confint"]["sigma2.1"]["ci.ub"], rtol=1e-6
    )
    np.testing.assert_allclose(got["robust"]["dfs"], want["robust"]["dfs"], rtol=OPTIMISER_RTOL)
    code, out, _ = _run([*argv, "--robust"], capsys)
    assert code == 0
    assert "Satterthwaite" in out and "deltypegeneral" in out


def test_errors_name_file_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("study,esid,yi,vi\n1,1,0.2,0.01\n1,1,0.3,0.02\n2,1,0.1,0.01\n2,2,0.0,0.02\n")
    code, _, err = _run(
        ["meta-multilevel", str(path), "--cluster", "study", "--effect", "esid"], capsys
    )
    assert code != 0
    assert "row 3" in err and "'esid'" in err and "bad.csv" in err
    code, _, err = _run(["meta-multilevel", str(path), "--cluster", "studie"], capsys)
    assert code != 0 and "no column 'studie'" in err
    path.write_text("study,yi,vi\n1,0.2,0.01\n1,x,0.02\n2,0.1,0.01\n")
    code, _, err = _run(["meta-multilevel", str(path), "--cluster", "study"], capsys)
    assert code != 0 and "row 3" in err and "'yi'" in err
