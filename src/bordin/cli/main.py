"""Entry point of the ``bordin`` command.

Each command lives in its own module in this package and exposes ``register(app)``; the app
is assembled from them here, so adding a command never means editing this file. Command
modules import heavy libraries (web framework, database, plotting) inside the command
function, so that ``bordin panel`` does not pay for ``bordin serve``'s imports.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from bordin import __version__
from bordin.errors import BordinError

__all__ = ["create_cli", "main"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bordin {__version__}")
        raise typer.Exit()


def create_cli() -> typer.Typer:
    """Build the Typer application with every command module registered."""
    app = typer.Typer(
        name="bordin",
        help="Alliance-informed measurement-based care: scoring, feedback and analytics.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ) -> None:
        """Bordin supports clinical judgement; it never diagnoses."""

    import bordin.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "main":
            continue
        module = importlib.import_module(f"bordin.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """Run the command line; domain errors become a one-line message and exit code 2."""
    app = create_cli()
    try:
        code = app(args=argv, standalone_mode=False)
    except BordinError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    if isinstance(code, int) and code:
        sys.exit(code)
