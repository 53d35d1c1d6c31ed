"""``bordin norms``: fit and inspect clinic norms (the clinic-wide references of feedback)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bordin.cli._options import NO_OUTCOME_OPTION, OUTCOME_OPTION

if TYPE_CHECKING:
    from bordin.feedback import ClinicNorms, FeedbackConfig

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``norms`` command group to the ``bordin`` application."""
    norms_app = typer.Typer(
        help="Clinic norms: the within-client SDs, expected-recovery curves and early-alliance "
        "reference that every client's feedback is judged against.",
        no_args_is_help=True,
    )
    app.add_typer(norms_app, name="norms")

    @norms_app.command("fit")
    def fit(
        scores: Path = typer.Argument(..., help="Wide session-scores CSV of the clinic."),
        out: Path = typer.Option(..., "--out", "-o", help="Where to write the norms (JSON)."),
        alliance: str = typer.Option(
            "sac", "--alliance", help="Alliance instrument (sac) or its total column (sac_total)."
        ),
        outcome: list[str] | None = OUTCOME_OPTION,
        no_outcome: bool = NO_OUTCOME_OPTION,
    ) -> None:
        """Fit clinic norms on a clinic's scores, for `bordin feedback --norms`."""
        from datetime import UTC, datetime

        from bordin.cli._scales import outcome_names, read_scores_for_instruments
        from bordin.errors import InputError
        from bordin.feedback import FeedbackConfig, fit_clinic_norms

        frame, alliance_id, outcome_ids = read_scores_for_instruments(
            scores, alliance, outcome_names(outcome, no_outcome)
        )
        try:
            norms = fit_clinic_norms(
                frame,
                alliance=alliance_id,
                outcomes=tuple(outcome_ids),
                fitted_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        except InputError as exc:
            raise InputError(
                exc.detail, file=str(scores), row=exc.row, column=exc.column, item=exc.item
            ) from exc
        out.write_text(norms.to_json(), encoding="utf-8")
        typer.echo(_describe(norms, FeedbackConfig()))
        typer.echo(f"wrote {out}")

    @norms_app.command("show")
    def show(
        file: Path = typer.Argument(..., help="Clinic norms (JSON)."),
        as_json: bool = typer.Option(False, "--json", help="Print the norms' summary as JSON."),
    ) -> None:
        """What a norms file rests on: data, dates, and where each quantity comes from."""
        import json

        from bordin.cli.feedback import read_norms
        from bordin.feedback import FeedbackConfig

        norms = read_norms(file)
        config = FeedbackConfig()
        if as_json:
            summary = {
                "version": norms.version,
                "source": norms.source(config),
                "alliance": norms.alliance,
                "outcomes": list(norms.outcomes),
                "fitted_at": norms.fitted_at,
                "fitted_on": norms.fitted_on.to_dict(),
                "quantities": norms.describe(config),
            }
            typer.echo(json.dumps(summary, ensure_ascii=False))
        else:
            typer.echo(_describe(norms, config))


def _describe(norms: ClinicNorms, config: FeedbackConfig) -> str:
    on = norms.fitted_on
    dates = f", {on.first_date} to {on.last_date}" if on.first_date else ""
    lines = [
        f"Clinic norms {norms.version} ({norms.source(config)}): alliance {norms.alliance}, "
        f"outcomes {', '.join(norms.outcomes) or 'none'}.",
        f"Fitted on {on.n_clients} client(s), {on.n_sessions} session(s){dates}"
        + (f", at {norms.fitted_at}." if norms.fitted_at else "."),
    ]
    for name, said in norms.describe(config).items():
        lines.append(f"  {name}: {said['text']}")
    return "\n".join(lines)
