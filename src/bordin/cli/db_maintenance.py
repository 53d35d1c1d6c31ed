"""``bordin db backup``, ``restore`` and ``verify-audit``: a clinic's data kept safe."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

__all__ = ["register_maintenance"]


def register_maintenance(
    group: typer.Typer, *, resolve: Callable[[str | None], str], db_help: str
) -> None:
    """Add the backup, restore and audit-chain commands to the ``db`` group; ``resolve``
    turns the ``--db`` option into a database URL."""

    @group.command("backup")
    def backup(
        target: Path = typer.Argument(..., help="The new backup file."),
        db: str | None = typer.Option(None, "--db", help=db_help),
    ) -> None:
        """Copy a SQLite database while the server runs (online backup API).

        PostgreSQL: use pg_dump -Fc (docs/web-service.md, Backups).
        """
        from bordin.storage.backup import backup_sqlite

        typer.echo(backup_sqlite(resolve(db), target).summary())

    @group.command("restore")
    def restore(
        backup_file: Path = typer.Argument(..., help="A file made by `bordin db backup`."),
        db: str | None = typer.Option(None, "--db", help=db_help),
        replace: bool = typer.Option(
            False, "--replace", help="Replace an existing database (stop the server first)."
        ),
    ) -> None:
        """Restore a SQLite backup (checked first), then verify its audit chain."""
        from bordin.storage import make_engine, make_session_factory
        from bordin.storage.audit_chain import verify_audit_chain
        from bordin.storage.backup import restore_sqlite

        url = resolve(db)
        typer.echo(restore_sqlite(backup_file, url, replace=replace).summary())
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                report = verify_audit_chain(session)
        finally:
            engine.dispose()
        typer.echo(report.summary())
        if not report.ok:
            raise typer.Exit(1)

    @group.command("verify-audit")
    def verify_audit(
        db: str | None = typer.Option(None, "--db", help=db_help),
        expect_head: str | None = typer.Option(
            None,
            "--expect-head",
            help="A head printed earlier (SEQ:HASH) that must be in the chain.",
        ),
    ) -> None:
        """Recompute the audit trail's hash chain; exit 1 if anything was changed."""
        from bordin.storage import make_engine, make_session_factory
        from bordin.storage.audit_chain import verify_audit_chain

        engine = make_engine(resolve(db))
        try:
            with make_session_factory(engine)() as session:
                report = verify_audit_chain(session, expect_head=expect_head)
        finally:
            engine.dispose()
        typer.echo(report.summary())
        typer.echo(f"record this head to check later: {report.head_seq}:{report.head_hash}")
        if not report.ok:
            raise typer.Exit(1)
