"""``bordin simulate``: write a synthetic clinic with known ground truth to a folder."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

__all__ = ["register"]


class _AllianceInstrument(StrEnum):
    sac = "sac"
    wai_sr = "wai_sr"


def _parse_sessions(text: str) -> tuple[int, int]:
    """``12`` (every client plans 12 sessions) or ``8-20`` (uniform from 8 to 20)."""
    from bordin.errors import InputError

    parts = text.split("-")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 1:
        return numbers[0], numbers[0]
    if len(numbers) == 2:
        return numbers[0], numbers[1]
    raise InputError(f"--sessions must be a number like 12 or a range like 8-20, got {text!r}")


def _read_config_file(path: Path) -> dict[str, Any]:
    """Parameters from JSON: a flat mapping, or a ``parameters.json`` (its ``config``)."""
    from bordin.errors import InputError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the parameters ({exc.strerror})", file=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", file=str(path), row=exc.lineno) from exc
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        data = data["config"]
    if not isinstance(data, dict):
        raise InputError("expected a JSON object of parameter names and values", file=str(path))
    return dict(data)


def _read_settings(pairs: list[str]) -> dict[str, str]:
    from bordin.errors import InputError

    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set needs NAME=VALUE, got {pair!r}")
        out[name.strip()] = value.strip()
    return out


def simulate(
    out: Path = typer.Option(..., "--out", help="Folder to write the CSV and JSON files to."),
    clients: int | None = typer.Option(
        None, "--clients", min=1, help="Number of clients (default 200)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (same seed, same files)."),
    sessions: str | None = typer.Option(
        None, "--sessions", help="Planned sessions per client: a number, or MIN-MAX (default 6-20)."
    ),
    clients_per_therapist: int | None = typer.Option(
        None, "--clients-per-therapist", min=1, help="Caseload per therapist (default 20)."
    ),
    alliance_instrument: _AllianceInstrument | None = typer.Option(
        None, "--alliance-instrument", help="Alliance instrument the clients fill in (default sac)."
    ),
    feedback_trial: bool = typer.Option(
        False, "--feedback-trial", help="Randomise clients to feedback or no feedback."
    ),
    no_gad7: bool = typer.Option(False, "--no-gad7", help="Do not generate GAD-7."),
    config_file: Path | None = typer.Option(
        None,
        "--config",
        help="JSON of parameters (a flat object, or a parameters.json written by this command).",
    ),
    settings: list[str] = typer.Option(
        [], "--set", help="Set any parameter: --set rupture_rate=0.1 (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Simulate a clinic (alliance, ruptures, symptoms, dropout) with its ground truth.

    Writes responses.csv and scores.csv (the data contracts of DESIGN.md), and the truth:
    truth_sessions.csv, ruptures.csv, clients.csv, therapists.csv and parameters.json.
    Parameters come from the defaults, then --config, then the options, then --set; every
    parameter is documented in docs/simulator.md.
    """
    from bordin.simulate import SimulationConfig, simulate_clinic, write_clinic

    values: dict[str, Any] = _read_config_file(config_file) if config_file else {}
    if clients is not None:
        values["n_clients"] = clients
    if sessions is not None:
        values["sessions_min"], values["sessions_max"] = _parse_sessions(sessions)
    if clients_per_therapist is not None:
        values["clients_per_therapist"] = clients_per_therapist
    if alliance_instrument is not None:
        values["alliance_instrument"] = alliance_instrument.value
    if feedback_trial:
        values["feedback_trial"] = True
    if no_gad7:
        values["include_gad7"] = False
    values.update(_read_settings(settings))
    config = SimulationConfig.from_dict(values)
    clinic = simulate_clinic(config, seed=seed)
    paths = write_clinic(clinic, out)
    if as_json:
        payload = {"out": str(out), "seed": seed, "files": list(paths)}
        payload["summary"] = clinic.summary_dict()
        typer.echo(json.dumps(payload, indent=2, allow_nan=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Simulated clinic (seed {seed})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for label, value in clinic.summary_rows():
        table.add_row(label, value)
    console = Console()
    console.print(table)
    console.print(f"Wrote {len(paths)} files to {out}: {', '.join(paths)}")


def register(app: typer.Typer) -> None:
    """Add ``bordin simulate`` to the command line."""
    app.command("simulate")(simulate)
