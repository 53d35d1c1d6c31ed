"""``bordin panel``: does alliance precede symptom change? (lagged within/between model)."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``panel`` command to the ``bordin`` application."""

    @app.command("panel")
    def panel(
        scores: Path = typer.Argument(
            ..., help="Wide session-scores CSV (client_id, session, <instrument>_<scale>...)."
        ),
        alliance: str = typer.Option(
            ..., "--alliance", help="Alliance column (wai_sr_total) or instrument (wai_sr)."
        ),
        outcome: str = typer.Option(
            ..., "--outcome", help="Outcome column (phq9_total) or instrument (phq9)."
        ),
        ml: bool = typer.Option(False, "--ml", help="Maximum likelihood instead of REML."),
        no_random_slope: bool = typer.Option(
            False, "--no-random-slope", help="Same within-client alliance slope for everyone."
        ),
        session_trend: bool = typer.Option(
            False, "--session-trend", help="Add session number as a covariate (detrending)."
        ),
        therapist: bool = typer.Option(
            False, "--therapist", help="Add a therapist random intercept (three-level model)."
        ),
        therapist_column: str = typer.Option(
            "therapist_id", "--therapist-column", help="Column of therapist identifiers."
        ),
        covariate: list[str] = typer.Option(
            [], "--covariate", help="Time-invariant client covariate column; repeatable."
        ),
        client_column: str = typer.Option("client_id", "--client-column", help="Client column."),
        session_column: str = typer.Option("session", "--session-column", help="Session column."),
        level: float = typer.Option(0.95, "--level", min=0.5, max=0.999, help="CI level."),
        ranef: bool = typer.Option(
            False,
            "--ranef",
            help="Also print each client's conditional modes (BLUPs) and conditional SDs.",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON (docs/panel-model.md)."),
    ) -> None:
        """Lagged within/between mixed model: alliance at t and outcome at t+1, as lme4."""
        import json
        import warnings

        from bordin.analytics.multilevel import fit_lagged_model
        from bordin.cli._scales import read_scores_with_scales
        from bordin.errors import BordinWarning

        required = [client_column, session_column, *covariate]
        if therapist:
            required.append(therapist_column)
        frame, (alliance, outcome) = read_scores_with_scales(
            scores, [("--alliance", alliance), ("--outcome", outcome)], required=required
        )
        frame = frame[sorted({*required, alliance, outcome})]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", BordinWarning)
            result = fit_lagged_model(
                frame,
                alliance=alliance,
                outcome=outcome,
                client=client_column,
                session=session_column,
                reml=not ml,
                random_slope=not no_random_slope,
                session_trend=session_trend,
                therapist=therapist_column if therapist else None,
                covariates=tuple(covariate),
                level=level,
                source=str(scores),
            )
        notes = [str(w.message) for w in caught if issubclass(w.category, BordinWarning)]
        for w in caught:
            if not issubclass(w.category, BordinWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if as_json:
            out = result.to_json_dict(ranef=ranef)
            out["warnings"] = notes
            typer.echo(json.dumps(out, indent=2, allow_nan=False))
            return
        typer.echo(result.summary())
        if ranef:
            typer.echo("")
            typer.echo("Conditional modes of the random effects (lme4 ranef, condVar):")
            typer.echo(result.random_effects.to_frame().to_string(index=False))
        for note in notes:
            typer.echo(f"warning: {note}", err=True)
