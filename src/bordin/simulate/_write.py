"""``write_clinic``: the simulated clinic as CSV files plus the parameters as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bordin.simulate._clinic import SimulatedClinic

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

# Latent values are written with nine significant digits: enough to reproduce any analysis,
# and the same text on every platform for the same seed.
_FLOAT_FORMAT = "%.9g"


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, float_format=_FLOAT_FORMAT, lineterminator="\n")


def write_clinic(clinic: SimulatedClinic, out_dir: str | Path) -> dict[str, Path]:
    """Write the clinic to ``out_dir`` (created if needed); returns the paths by file name.

    Files: ``responses.csv`` (long items, DESIGN.md), ``scores.csv`` (wide scores plus
    ``adherence``), ``truth_sessions.csv`` (latent values per session), ``ruptures.csv``,
    ``clients.csv``, ``therapists.csv`` and ``parameters.json``. The same clinic always
    gives the same bytes. Booleans are written ``True``/``False``; missing values (a
    rupture's ``repair_session``, a client's ``dropout_session``) as empty fields.
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
