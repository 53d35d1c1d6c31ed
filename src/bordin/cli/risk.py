"""``bordin risk``: the escalation check of unacknowledged risk answers, run once."""

from __future__ import annotations

from datetime import datetime

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``risk`` command group to the ``bordin`` application."""
    risk_app = typer.Typer(
        help="The risk pathway: escalate risk answers nobody acknowledged in time.",
        no_args_is_help=True,
    )
    app.add_typer(risk_app, name="risk")

    @risk_app.command("escalate")
    def escalate(
        at: str | None = typer.Option(
            None,
            "--at",
            help="Check as of this time (ISO 8601 with a UTC offset; default: now).",
        ),
        db: str | None = typer.Option(
            None, "--db", help="Database URL or SQLite file (default: BORDIN_DATABASE_URL)."
        ),
        json_output: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Notify the supervisors of every risk answer unacknowledged for longer than its
        clinic's escalation delay (each answer once, also alongside a running service)."""
        import json

        from bordin.cli.db import _url
        from bordin.errors import InputError
        from bordin.storage import actions, make_engine, make_session_factory, transaction

        now = None
        if at is not None:
            try:
                now = datetime.fromisoformat(at)
            except ValueError:
                raise InputError(f"--at {at!r} is not an ISO 8601 time", column="at") from None
            if now.tzinfo is None:
                raise InputError(
                    "--at needs a UTC offset, for example 2026-12-04T09:00:00+00:00",
                    column="at",
                )
        engine = make_engine(_url(db))
        try:
            with transaction(make_session_factory(engine)) as session:
                escalated = actions.escalate_overdue_risks(session, now=now)
                rows = [
                    {"risk_event": e.id, "client_id": e.client_id, "escalated_at": e.escalated_at}
                    for e in escalated
                ]
        finally:
            engine.dispose()
        if json_output:
            typer.echo(json.dumps({"escalated": rows}, default=str))
            return
        typer.echo(f"{len(rows)} risk answer(s) escalated to the supervisors")
        for row in rows:
            typer.echo(f"  risk answer {row['risk_event']} (client id {row['client_id']})")
