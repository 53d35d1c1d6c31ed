"""``bordin score``: item responses (long CSV) to session scores (wide CSV)."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def score(
    responses: Path = typer.Argument(
        ..., metavar="RESPONSES.csv", help="Long item-response file (one row per item)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Wide session-scores file to write."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
) -> None:
    """Score item responses into one row per client and session.

    Columns in: client_id, therapist_id, session, date (optional), instrument, item, value.
    Columns out: client_id, therapist_id, session, date, then <instrument>_<scale> scores and
    risk items (<instrument>_item<N>). A bad file is reported with its row (the header is
    row 1), column and item, and nothing is written.
    """
    from bordin.interop import read_responses_csv, write_scores_csv
    from bordin.scoring import score_responses

    frame = read_responses_csv(responses)
    wide = score_responses(frame, source=responses.name)
    write_scores_csv(wide, out)
    if not quiet:
        n_clients = wide["client_id"].nunique()
        typer.echo(
            f"Scored {len(frame)} responses into {len(wide)} sessions of {n_clients} clients; "
            f"wrote {out}"
        )


def register(app: typer.Typer) -> None:
    """Add ``bordin score`` to the command line."""
    app.command("score")(score)
