"""``bordin worker``: the outbox sender on its own (scheduled forms, reminders, email)."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``worker`` command."""

    @app.command("worker")
    def worker(
        db: str | None = typer.Option(
            None, "--db", help="Database URL (default: BORDIN_DATABASE_URL or bordin.sqlite)."
        ),
        once: bool = typer.Option(False, "--once", help="One pass, print what it did, exit."),
        new_key: bool = typer.Option(
            False, "--new-key", help="Print a new BORDIN_CONTACT_KEY and exit."
        ),
    ) -> None:
        """Send the outbox: make the forms schedules say are due, queue reminders, and
        email them over SMTP (BORDIN_SMTP_*), until stopped.

        ``bordin serve`` runs the same sender in-process unless
        BORDIN_OUTBOX_IN_PROCESS=false; several workers on PostgreSQL share the queue
        (each claims rows with SELECT ... FOR UPDATE SKIP LOCKED).
        """
        import logging
        import signal
        import threading

        from bordin.storage.contact_cipher import new_contact_key

        if new_key:
            typer.echo(new_contact_key())
            return

        from bordin.errors import InputError
        from bordin.mail import OutboxSender
        from bordin.settings import get_settings
        from bordin.storage import make_engine, make_session_factory

        overrides: dict[str, object] = {"database_url": db} if db else {}
        settings = get_settings(**overrides)
        engine = make_engine(settings.database_url)
        try:
            sender = OutboxSender(settings, make_session_factory(engine))
            if not sender.enabled:
                raise InputError(
                    "nothing to do: set BORDIN_CONTACT_KEY (and BORDIN_SMTP_HOST to send email)"
                )
            if once:
                typer.echo(sender.run_once().summary())
                return
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
            stop = threading.Event()
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stop.set())
            typer.echo("bordin worker: sending the outbox (Ctrl-C to stop)")
            sender.run_forever(stop)
        finally:
            engine.dispose()
