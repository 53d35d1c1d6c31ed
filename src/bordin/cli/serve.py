"""``bordin serve``: the web service (uvicorn); ``--demo`` (or ``bordin demo``): a fresh
simulated clinic."""

from __future__ import annotations

import os

import typer

from bordin.settings import Settings

__all__ = ["register", "settings_environment"]


def settings_environment(settings: Settings) -> dict[str, str]:
    """The ``BORDIN_*`` environment that rebuilds ``settings`` in a worker process."""
    environment: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        environment[f"BORDIN_{name.upper()}"] = text
    return environment


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command and its shortcut ``demo`` (``serve --demo``)."""

    @app.command("demo")
    def demo_command(
        host: str = typer.Option(
            "127.0.0.1",
            help="Address to listen on; 0.0.0.0 opens the demo to the local network (phones).",
        ),
        port: int = typer.Option(8000, help="Port to listen on."),
    ) -> None:
        """Start a fresh demo clinic (the same as ``bordin serve --demo``).

        With ``--host 0.0.0.0`` the printed links carry this machine's LAN address, so a
        phone on the same network can open them; anyone on that network can then reach
        the demo.
        """
        serve(demo=True, host=host, port=port, db=None, upgrade=True, workers=1)

    @app.command("serve")
    def serve(
        demo: bool = typer.Option(
            False, "--demo", help="Start a fresh demo clinic (SQLite, simulated clients)."
        ),
        host: str = typer.Option(
            "127.0.0.1",
            help="Address to listen on; 0.0.0.0 opens the service to the local network.",
        ),
        port: int = typer.Option(8000, help="Port to listen on."),
        db: str | None = typer.Option(
            None, "--db", help="Database URL (default: BORDIN_DATABASE_URL or bordin.sqlite)."
        ),
        upgrade: bool = typer.Option(True, help="Migrate the database before serving."),
        workers: int = typer.Option(
            1,
            min=1,
            help="Worker processes (uvicorn). They share sessions and rate limits through "
            "the database; PostgreSQL is the backend for more than one.",
        ),
    ) -> None:
        """Serve the web app and JSON API (OpenAPI at /api/v1/openapi.json).

        With ``--workers N`` uvicorn starts N processes; each builds the app from the
        settings (passed to them in the ``BORDIN_`` environment) and warms its kernels
        before taking requests. Login sessions and rate limits live in the database, so
        every worker sees the same.
        """
        import secrets
        import tempfile

        import uvicorn

        from bordin.cli._network import check_port_free, link_host
        from bordin.settings import get_settings

        check_port_free(host, port)
        base_url = f"http://{link_host(host)}:{port}"
        overrides: dict[str, object] = {"base_url": os.environ.get("BORDIN_BASE_URL", base_url)}
        if db:
            overrides["database_url"] = db
        if demo:
            from bordin.storage.contact_cipher import new_contact_key
            from bordin.web.demo import create_demo_clinic

            folder = tempfile.mkdtemp(prefix="bordin-demo-")
            overrides.update(
                demo=True,
                database_url=f"sqlite:///{folder}/demo.sqlite",
                secret_key=os.environ.get("BORDIN_SECRET_KEY") or secrets.token_urlsafe(32),
                contact_key=os.environ.get("BORDIN_CONTACT_KEY") or new_contact_key(),  # issue 17
            )
            settings = get_settings(**overrides)
            typer.echo("Creating the demo clinic from the simulator...")
            made = create_demo_clinic(
                settings.database_url,
                password=settings.demo_password,
                base_url=settings.base_url,
                contact_key=settings.contact_key,
            )
            typer.echo(f"\nBordin demo: {settings.base_url}/")
            typer.echo(f"  database   {made.database_url} ({made.clients} simulated clients)")
            typer.echo(f"  logins     {', '.join(made.logins)}")
            shown = "(from BORDIN_DEMO_PASSWORD)" if settings.demo_password else made.password
            typer.echo(f"  password   {shown}")
            typer.echo(f"  form link  {made.form_link}")
            typer.echo("  API        " + settings.base_url + "/api/v1/openapi.json\n")
        else:
            settings = get_settings(**overrides)
            if upgrade:
                from bordin.storage import upgrade_database

                upgrade_database(settings.database_url)
        if workers == 1:
            from bordin.web import create_app

            uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
            return
        # Each worker process reads its settings from the environment: hand them over,
        # the demo's generated secret included (CSRF tokens must verify in every worker).
        os.environ.update(settings_environment(settings))
        uvicorn.run(
            "bordin.web:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
        )
