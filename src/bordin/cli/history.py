"""``bordin import``: bring a clinic's history (long responses or wide scores CSV) into the
database; ``--preview`` shows what would be created without storing anything."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``import`` command."""

    @app.command("import")
    def import_command(
        file: Path = typer.Argument(..., help="Long responses CSV, or wide scores CSV."),
        clinic: str = typer.Option(..., "--clinic", help="Clinic name or id."),
        kind: str = typer.Option(
            "responses",
            "--kind",
            help="responses (one row per answered item) or scores (one row per session).",
        ),
        preview: bool = typer.Option(
            False, "--preview", help="Check the file, print what would be created, store nothing."
        ),
        endings: Path | None = typer.Option(
            None,
            "--endings",
            help="CSV of how treatments ended (client_id and ended: planned, dropout or "
            "referral; or dropped_out: true/false): each listed client's open episode is "
            "closed at their last session with that reason.",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
        db: str | None = typer.Option(
            None, "--db", help="Database URL (default BORDIN_DATABASE_URL)."
        ),
    ) -> None:
        """Import a clinic's history: clients, therapists (by code), episodes and sessions.

        The same file imported twice adds nothing; a bad row is named (file, row, column)
        and nothing is stored. Feedback is recomputed for the clinic once, at the end."""
        import json

        from sqlalchemy import select

        from bordin.cli.db import _url
        from bordin.errors import InputError, NotFound
        from bordin.interop import read_endings_csv, read_responses_csv
        from bordin.storage import actions, make_engine, make_session_factory, transaction
        from bordin.storage.models import Clinic

        if kind not in ("responses", "scores"):
            raise InputError("--kind is responses or scores", column="kind")
        chosen: Literal["responses", "scores"] = "responses" if kind == "responses" else "scores"
        frame = read_responses_csv(file)
        how = read_endings_csv(endings) if endings is not None else None
        engine = make_engine(_url(db))
        try:
            with transaction(make_session_factory(engine)) as session:
                found = session.scalar(
                    select(Clinic).where(
                        (Clinic.name == clinic)
                        | (Clinic.id == (int(clinic) if clinic.isdigit() else -1))
                    )
                )
                if found is None:
                    raise NotFound(f"no clinic {clinic!r}")
                result = actions.import_history(
                    session,
                    actor=None,
                    clinic_id=found.id,
                    frame=frame,
                    kind=chosen,
                    source=file.name,
                    preview=preview,
                    endings=how if endings is not None else None,
                    endings_source=endings.name if endings is not None else "endings.csv",
                )
        finally:
            engine.dispose()
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2))
            return
        verb = "would create" if preview else "created"
        typer.echo(
            f"{file.name}: {result.rows} row(s); {verb} {result.clients} client(s), "
            f"{result.therapists} therapist account(s), {result.episodes} episode(s), "
            f"{result.sessions} session(s), {result.administrations} questionnaire(s); "
            f"{result.skipped} already stored"
        )
        if endings is not None:
            typer.echo(
                f"{endings.name}: {'would close' if preview else 'closed'} "
                f"{result.episodes_closed} "
                "episode(s) with the ending recorded"
            )
        if result.therapist_codes:
            typer.echo(
                "new therapist accounts (inactive until an admin reactivates them): "
                + ", ".join(result.therapist_codes)
            )
