"""``bordin db``: migrations, the first admin account, and clinic norms refreshes."""

from __future__ import annotations

import os

import typer

__all__ = ["register"]

_DB_HELP = "Database URL (default: BORDIN_DATABASE_URL, else sqlite:///bordin.sqlite)."


def _url(db: str | None) -> str:
    from bordin.settings import DEFAULT_DATABASE_URL

    return db or os.environ.get("BORDIN_DATABASE_URL") or DEFAULT_DATABASE_URL


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group."""
    group = typer.Typer(
        help="Database: migrations, the first admin account, backups and the audit chain.",
        no_args_is_help=True,
    )

    @group.command("upgrade")
    def upgrade(
        db: str | None = typer.Option(None, "--db", help=_DB_HELP),
        revision: str = typer.Option("head", help="Target revision."),
    ) -> None:
        """Create or migrate the schema (Alembic; safe to run repeatedly)."""
        from bordin.storage import current_revision, make_engine, upgrade_database

        url = _url(db)
        upgrade_database(url, revision)
        engine = make_engine(url)
        try:
            typer.echo(f"database at revision {current_revision(engine)}")
        finally:
            engine.dispose()

    @group.command("current")
    def current(db: str | None = typer.Option(None, "--db", help=_DB_HELP)) -> None:
        """Print the database's revision and the newest one this version ships."""
        from bordin.storage import current_revision, head_revision, make_engine

        engine = make_engine(_url(db))
        try:
            typer.echo(f"current: {current_revision(engine) or 'empty'}; head: {head_revision()}")
        finally:
            engine.dispose()

    @group.command("create-admin")
    def create_admin(
        clinic: str = typer.Option(..., help="Name of the new clinic."),
        username: str = typer.Option(..., help="The admin's username (e.g. an e-mail)."),
        db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    ) -> None:
        """Create a clinic and its first admin (password from BORDIN_ADMIN_PASSWORD or a prompt)."""
        from bordin.storage import actions, make_engine, make_session_factory, transaction

        password = os.environ.get("BORDIN_ADMIN_PASSWORD") or typer.prompt(
            "Password", hide_input=True, confirmation_prompt=True
        )
        engine = make_engine(_url(db))
        try:
            with transaction(make_session_factory(engine)) as session:
                created = actions.create_clinic(session, actor=None, name=clinic)
                user = actions.create_user(
                    session,
                    actor=None,
                    clinic_id=created.id,
                    username=username,
                    password=password,
                    role="admin",
                )
                typer.echo(f"clinic {created.id} ({created.name}); admin {user.username}")
        finally:
            engine.dispose()

    @group.command("refresh-norms")
    def refresh_norms_command(
        clinic: list[str] = typer.Option(
            [], "--clinic", help="Clinic name or id; repeat for several (default: every clinic)."
        ),
        db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    ) -> None:
        """Refit clinic norms now and recompute every client against them (the history of
        what was shown before stays as it was)."""
        from sqlalchemy import select

        from bordin.errors import NotFound
        from bordin.storage import actions, make_engine, make_session_factory, transaction
        from bordin.storage.actions._feedback import snapshot_norms
        from bordin.storage.models import Clinic

        engine = make_engine(_url(db))
        try:
            factory = make_session_factory(engine)
            with factory() as session:
                known = {str(c.id): c for c in session.scalars(select(Clinic).order_by(Clinic.id))}
                by_name = {c.name: c for c in known.values()}
                chosen = []
                for name in clinic or list(known):
                    found = known.get(name) or by_name.get(name)
                    if found is None:
                        raise NotFound(f"no clinic {name!r}")
                    chosen.append(found.id)
            for clinic_id in chosen:
                with transaction(factory) as session:
                    snapshot = actions.refresh_clinic_norms(
                        session, actor=None, clinic_id=clinic_id
                    )
                    norms = snapshot_norms(snapshot)
                    on = norms.fitted_on
                    typer.echo(
                        f"clinic {clinic_id}: norms snapshot {snapshot.id} "
                        f"(version {snapshot.version}, {snapshot.source}) fitted on "
                        f"{on.n_clients} client(s), {on.n_sessions} session(s)"
                    )
        finally:
            engine.dispose()

    from bordin.cli.db_maintenance import register_maintenance

    register_maintenance(group, resolve=_url, db_help=_DB_HELP)
    app.add_typer(group, name="db")
