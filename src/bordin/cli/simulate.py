"""``bordin simulate``: write a synthetic clinic with known ground truth to a folder."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

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


def simulate(
    out: Path = typer.Option(..., "--out", help="Folder to write the CSV and JSON files to."),
    clients: int = typer.Option(200, "--clients", min=1, help="Number of clients."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (same seed, same files)."),
    sessions: str = typer.Option(
        "6-20", "--sessions", help="Planned sessions per client: a number or a range MIN-MAX."
    ),
    clients_per_therapist: int = typer.Option(
        20, "--clients-per-therapist", min=1, help="Caseload per therapist."
    ),
    alliance_instrument: _AllianceInstrument = typer.Option(
        _AllianceInstrument.sac, "--alliance-instrument", help="Alliance instrument to rate."
    ),
    feedback_trial: bool = typer.Option(
        False, "--feedback-trial", help="Randomise clients to feedback or no feedback."
    ),
    no_gad7: bool = typer.Option(False, "--no-gad7", help="Do not generate GAD-7."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Simulate a clinic (alliance, ruptures, symptoms, dropout) with its ground truth.

    Writes responses.csv and scores.csv (the data contracts of DESIGN.md), and the truth:
    truth_sessions.csv, ruptures.csv, clients.csv, therapists.csv and parameters.json.
    """
    from bordin.simulate import SimulationConfig, simulate_clinic, write_clinic

    low, high = _parse_sessions(sessions)
    config = SimulationConfig(
        n_clients=clients,
        clients_per_therapist=clients_per_therapist,
        sessions_min=low,
        sessions_max=high,
        alliance_instrument=alliance_instrument.value,
        include_gad7=not no_gad7,
        feedback_trial=feedback_trial,
    )
    clinic = simulate_clinic(config, seed=seed)
    paths = write_clinic(clinic, out)
    rows = clinic.summary_rows()
    if as_json:
        payload = {
            "out": str(out),
            "files": sorted(paths),
            "seed": seed,
            "summary": dict(rows),
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Simulated clinic (seed {seed})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for label, value in rows:
        table.add_row(label, value)
    console = Console()
    console.print(table)
    console.print(f"Wrote {len(paths)} files to {out}: {', '.join(paths)}")


def register(app: typer.Typer) -> None:
    """Add ``bordin simulate`` to the command line."""
    app.command("simulate")(simulate)
