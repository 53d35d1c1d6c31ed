"""``bordin norms fit/show`` and ``bordin feedback --norms``: one path for clinic norms."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bordin.feedback import ClinicNorms, compute_feedback, fit_clinic_norms
from bordin.simulate import SimulationConfig, simulate_clinic
from support.cli import run_cli as _run


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    scores = simulate_clinic(SimulationConfig(n_clients=40), seed=5).scores
    path = tmp_path_factory.mktemp("norms") / "scores.csv"
    scores.to_csv(path, index=False)
    return path, pd.read_csv(path)


def test_fit_writes_the_norms_the_library_fits(
    clinic: tuple[Path, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, frame = clinic
    out = tmp_path / "norms.json"
    code, text, err = _run(["norms", "fit", str(path), "--outcome", "phq9", "-o", str(out)], capsys)
    assert code == 0, err
    written = ClinicNorms.from_json(out.read_text(encoding="utf-8"))
    assert written.version == fit_clinic_norms(frame, outcomes=("phq9",)).version
    assert f"Clinic norms {written.version} (mixed)" in text
    assert "Fitted on 40 client(s)" in text
    assert "bundled norms" in text  # 40 clients are too few for the clinic's own curves
    code, shown, _ = _run(["norms", "show", str(out), "--json"], capsys)
    assert code == 0
    summary = json.loads(shown)
    assert summary["version"] == written.version
    assert summary["fitted_on"]["n_clients"] == 40
    assert summary["quantities"]["curve_phq9"]["origin"] == "bundled"


def test_feedback_with_norms_from_a_smaller_clinic(
    clinic: tuple[Path, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bordin feedback --norms` judges against the given norms: the same JSON as the
    library with those norms, and not the same as norms fitted on the file itself."""
    path, frame = clinic
    first = frame[frame["client_id"].isin(sorted(frame["client_id"].unique())[:15])]
    small = tmp_path / "first15.csv"
    first.to_csv(small, index=False)
    norms_file = tmp_path / "norms.json"
    assert _run(["norms", "fit", str(small), "-o", str(norms_file)], capsys)[0] == 0
    code, out, err = _run(["feedback", str(path), "--json", "--norms", str(norms_file)], capsys)
    assert code == 0, err
    got = json.loads(out)
    norms = ClinicNorms.from_json(norms_file.read_text(encoding="utf-8"))
    expected = compute_feedback(frame, norms=norms).to_json_dict(include_sessions=False)
    assert got == json.loads(json.dumps(expected))
    assert got["norms"]["version"] == norms.version
    code, out, _ = _run(["feedback", str(path), "--json"], capsys)
    assert json.loads(out)["norms"]["version"] != norms.version


def test_a_bad_norms_file_is_named(
    clinic: tuple[Path, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = clinic
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1}', encoding="utf-8")
    code, _, err = _run(["feedback", str(path), "--norms", str(bad)], capsys)
    assert code == 2
    assert "bad.json" in err and "malformed clinic norms" in err
    assert "Traceback" not in err
    code, _, err = _run(["norms", "show", str(tmp_path / "missing.json")], capsys)
    assert code == 2 and "missing.json" in err and "file not found" in err


def test_a_clinic_that_rates_the_alliance_alone(
    clinic: tuple[Path, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file without the default outcome (phq9): without --outcome the error says how to
    name one or none; with --no-outcome, norms and feedback are the library's with no
    outcome, and the two options together are refused."""
    _, frame = clinic
    alliance_only = frame[[c for c in frame.columns if not c.startswith("phq9")]]
    path = tmp_path / "alliance.csv"
    alliance_only.to_csv(path, index=False)
    out = tmp_path / "norms.json"
    for command in (["feedback", str(path)], ["norms", "fit", str(path), "-o", str(out)]):
        code, _, err = _run(command, capsys)
        assert code != 0
        assert f"file {path}" in err
        assert "--outcome" in err and "--no-outcome" in err
        assert "phq9_total" in err
        assert not out.exists()
    code, _, err = _run(["norms", "fit", str(path), "--no-outcome", "-o", str(out)], capsys)
    assert code == 0, err
    written = ClinicNorms.from_json(out.read_text(encoding="utf-8"))
    assert written.outcomes == ()
    assert written.version == fit_clinic_norms(alliance_only, outcomes=()).version
    code, text, err = _run(["feedback", str(path), "--no-outcome", "--json"], capsys)
    assert code == 0, err
    expected = compute_feedback(alliance_only, outcomes=()).to_json_dict(include_sessions=False)
    assert json.loads(text) == json.loads(json.dumps(expected))
    code, _, err = _run(["feedback", str(path), "--no-outcome", "--outcome", "phq9"], capsys)
    assert code != 0
    assert "--outcome or --no-outcome, not both" in err
