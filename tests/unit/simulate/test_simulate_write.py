"""write_clinic: the files, their text, and no half-written clinic on failure."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bordin.simulate import CLINIC_FILES, SimulationConfig, _write, simulate_clinic, write_clinic


def test_writes_the_files_that_read_back_as_the_frames(tmp_path: Path) -> None:
    clinic = simulate_clinic(SimulationConfig(n_clients=30), seed=2)
    paths = write_clinic(clinic, tmp_path / "new" / "folder")
    assert list(paths) == list(CLINIC_FILES)
    assert sorted(p.name for p in (tmp_path / "new" / "folder").iterdir()) == sorted(CLINIC_FILES)
    scores = pd.read_csv(paths["scores.csv"])
    assert scores["client_id"].tolist() == clinic.scores["client_id"].tolist()
    pd.testing.assert_series_equal(
        scores["sac_total"], clinic.scores["sac_total"], check_exact=False, atol=5.1e-10
    )
    ruptures = pd.read_csv(paths["ruptures.csv"])
    assert len(ruptures) == len(clinic.ruptures)
    assert json.loads(paths["parameters.json"].read_text(encoding="utf-8")) == clinic.parameters


def test_a_failed_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic = simulate_clinic(SimulationConfig(n_clients=10), seed=2)
    real = _write._write_csv
    calls = []

    def failing(frame: pd.DataFrame, path: Path) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        real(frame, path)

    monkeypatch.setattr(_write, "_write_csv", failing)
    with pytest.raises(OSError, match="disk full"):
        write_clinic(clinic, tmp_path)
    assert list(tmp_path.iterdir()) == []
