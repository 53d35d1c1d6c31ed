"""``bordin feedback``: what a therapist sees before the next session."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bordin.cli._options import NO_OUTCOME_OPTION, OUTCOME_OPTION

if TYPE_CHECKING:
    from bordin.feedback import ClinicNorms

__all__ = ["read_norms", "register"]


def read_norms(path: Path) -> ClinicNorms:
    """Clinic norms written by ``bordin norms fit`` (or exported by the service)."""
    from bordin.errors import InputError
    from bordin.feedback import ClinicNorms

    if not path.is_file():
        raise InputError("file not found", file=str(path))
    return ClinicNorms.from_json(path.read_text(encoding="utf-8"), where=str(path))


def register(app: typer.Typer) -> None:
    """Add the ``feedback`` command to the ``bordin`` application."""

    @app.command("feedback")
    def feedback(
        scores: Path = typer.Argument(
            ..., help="Wide session-scores CSV (client_id, session, <instrument>_<scale>...)."
        ),
        alliance: str = typer.Option(
            "sac", "--alliance", help="Alliance instrument (sac) or its total column (sac_total)."
        ),
        outcome: list[str] | None = OUTCOME_OPTION,
        no_outcome: bool = NO_OUTCOME_OPTION,
        as_json: bool = typer.Option(False, "--json", help="Print JSON (docs/feedback.md)."),
        sessions: bool = typer.Option(
            False, "--sessions", help="With --json, include the per-session signals."
        ),
        max_alerts: int = typer.Option(
            25, "--max-alerts", min=0, help="Alerts listed in the summary (0: all)."
        ),
        norms_file: Path | None = typer.Option(
            None,
            "--norms",
            help="Clinic norms (JSON from `bordin norms fit` or the service's export) to "
            "judge against instead of fitting them on SCORES.",
        ),
    ) -> None:
        """Ruptures and repairs, early alliance, outcome status, not-on-track and alerts."""
        import json

        from bordin.cli._scales import outcome_names, read_scores_for_instruments
        from bordin.errors import InputError
        from bordin.feedback import compute_feedback

        norms = read_norms(norms_file) if norms_file is not None else None
        frame, alliance_id, outcome_ids = read_scores_for_instruments(
            scores, alliance, outcome_names(outcome, no_outcome)
        )
        try:
            result = compute_feedback(
                frame, alliance=alliance_id, outcomes=tuple(outcome_ids), norms=norms
            )
        except InputError as exc:
            raise InputError(
                exc.detail, file=str(scores), row=exc.row, column=exc.column, item=exc.item
            ) from exc
        if as_json:
            typer.echo(
                json.dumps(result.to_json_dict(include_sessions=sessions), ensure_ascii=False)
            )
        else:
            typer.echo(result.summary(max_alerts=max_alerts or None))
