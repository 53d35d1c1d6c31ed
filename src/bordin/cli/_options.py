"""Command-line options shared by several commands, kept free of heavy imports: the
commands are registered (and ``bordin --help`` answers) before pandas is loaded."""

from __future__ import annotations

import typer

__all__ = ["DEFAULT_OUTCOME", "NO_OUTCOME_OPTION", "OUTCOME_OPTION"]

#: The outcome instrument the commands that take whole instruments (``feedback``, ``norms
#: fit``) read when neither ``--outcome`` nor ``--no-outcome`` is given.
DEFAULT_OUTCOME = "phq9"
#: ``--outcome`` and ``--no-outcome`` of those commands (read with
#: :func:`bordin.cli._scales.outcome_names`).
OUTCOME_OPTION = typer.Option(
    None,
    "--outcome",
    help="Outcome instrument (phq9) or its total column (phq9_total); repeatable. "
    f"Default: {DEFAULT_OUTCOME}.",
)
NO_OUTCOME_OPTION = typer.Option(
    False,
    "--no-outcome",
    help="No outcome instrument: the alliance feedback alone (ruptures, repairs, early "
    "alliance), for a clinic that rates the alliance only.",
)
