"""``bordin congruence``: client-therapist congruence and outcome (response surface analysis)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from bordin.analytics.multilevel import LaggedModelResult

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``congruence`` command to the ``bordin`` application."""

    @app.command("congruence")
    def congruence(
        scores: Path = typer.Argument(
            ..., help="Wide session scores CSV with the client's and the therapist's checks."
        ),
        outcome: str = typer.Option(
            ..., "--outcome", help="Outcome column (phq9_total) or instrument (phq9)."
        ),
        alliance: str = typer.Option(
            "sac", "--alliance", help="The client's alliance instrument (sac) or its total."
        ),
        therapist: str | None = typer.Option(
            None, "--therapist", help="The therapist's form (default: tsc for sac)."
        ),
        lagged: bool = typer.Option(
            False,
            "--lagged",
            help="Also fit the lagged model with the client's and the therapist's rating.",
        ),
        level: float = typer.Option(0.95, "--level", min=0.5, max=0.999, help="CI level."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON (docs/report.md)."),
    ) -> None:
        """Response surface of outcome change over the client's and the therapist's mean
        alliance, one row per client: a1-a5 with intervals (the report's congruence section).
        """
        import json
        import warnings

        from bordin.analytics.congruence import fit_congruence, fit_pair_lagged_model
        from bordin.cli._scales import read_scores_with_scales, scale_instrument
        from bordin.errors import BordinWarning

        frame, (alliance_column, outcome) = read_scores_with_scales(
            scores, [("--alliance", alliance), ("--outcome", outcome)]
        )
        client = scale_instrument(alliance_column, name=alliance, option="--alliance", file=scores)
        result = fit_congruence(
            frame, outcome=outcome, client=client, therapist=therapist, level=level
        )
        fit: LaggedModelResult | None = None
        notes: list[str] = []
        if lagged:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", BordinWarning)
                fit = fit_pair_lagged_model(
                    frame, outcome=outcome, client=client, therapist=therapist, level=level
                )
            notes = [str(w.message) for w in caught if issubclass(w.category, BordinWarning)]
            for w in caught:
                if not issubclass(w.category, BordinWarning):
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if as_json:
            out = result.to_json_dict()
            if fit is not None:
                out["lagged"] = fit.to_json_dict()
                out["warnings"] = notes
            typer.echo(json.dumps(out, indent=2, allow_nan=False))
            return
        typer.echo(result.summary())
        typer.echo("")
        for line in result.interpretation():
            typer.echo(f"- {line}")
        if fit is not None:
            typer.echo("")
            typer.echo(
                "Lagged model with both ratings (alliance_*: the client's rating, "
                "therapist_total_*: the therapist's):"
            )
            typer.echo(fit.summary())
        for note in notes:
            typer.echo(f"warning: {note}", err=True)
