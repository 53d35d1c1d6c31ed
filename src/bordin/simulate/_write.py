"""``write_clinic``: the simulated clinic as CSV files plus the parameters as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bordin.simulate._clinic import SimulatedClinic
from bordin.simulate._csv import write_frame_csv

__all__ = ["CLINIC_FILES", "write_clinic"]

#: The files ``write_clinic`` writes, in order.
CLINIC_FILES = (
    "responses.csv",
    "scores.csv",
    "truth_sessions.csv",
    "ruptures.csv",
    "clients.csv",
    "therapists.csv",
    "parameters.json",
)

# Floats are written in fixed point with nine decimals (trailing zeros dropped): enough to
# reproduce any analysis, and the same text on every platform for the same seed.
_DECIMALS = 9


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    write_frame_csv(frame, path, decimals=_DECIMALS)


def write_clinic(clinic: SimulatedClinic, out_dir: str | Path) -> dict[str, Path]:
    """Write the clinic to ``out_dir`` (created if needed); returns the paths by file name.

    Files: ``responses.csv`` (long items, DESIGN.md), ``scores.csv`` (wide scores plus
    ``adherence``), ``truth_sessions.csv`` (latent values per session), ``ruptures.csv``,
    ``clients.csv``, ``therapists.csv`` and ``parameters.json``. The same clinic always
    gives the same bytes. Floats are fixed point with nine decimals, trailing zeros dropped
    (``3.5``, ``12``); booleans ``True``/``False``; missing values (a rupture's
    ``repair_session``, a client's ``dropout_session``, an unasked ``sac_resolution``) are
    empty fields. Files are written with a vectorised writer (no Python work per value), so
    a 1,000,000-session clinic is written in well under a minute.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = {
        "responses.csv": clinic.responses,
        "scores.csv": clinic.scores,
        "truth_sessions.csv": clinic.truth,
        "ruptures.csv": clinic.ruptures,
        "clients.csv": clinic.clients,
        "therapists.csv": clinic.therapists,
    }
    paths: dict[str, Path] = {}
    for name, frame in tables.items():
        paths[name] = out / name
        _write_csv(frame, paths[name])
    paths["parameters.json"] = out / "parameters.json"
    text = json.dumps(clinic.parameters, indent=2, ensure_ascii=False, sort_keys=False)
    paths["parameters.json"].write_text(text + "\n", encoding="utf-8")
    return paths
