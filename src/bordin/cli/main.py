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


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """The ``ClickException`` classes the application can raise for bad usage.

    Typer raises the exceptions of the click it runs on: the standalone ``click`` package
    in older releases, its own bundled copy in newer ones. ``typer.BadParameter`` is a
    public name in both and derives from that click's ``ClickException``, so the class is
    found from it rather than from an import of ``click`` that may be a different copy.
    """
    found = [c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"]
    try:
        import click
    except ImportError:  # newer typer does not depend on the standalone click
        pass
    else:
        found.append(click.ClickException)
    return tuple(dict.fromkeys(found))


def _show_usage_error(exc: BaseException) -> int:
    """Print a usage error as the command's usage line and one ``error:`` line."""
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        typer.echo(ctx.get_usage(), err=True)
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    return int(getattr(exc, "exit_code", 2))


def main(argv: list[str] | None = None) -> None:
    """Run the command line.

    Domain errors become one ``error:`` line and exit code 2; usage errors (a missing
    argument or option, an unknown option or command) become the command's usage line, one
    ``error:`` line and exit code 2, never a traceback.
    """
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
    except _usage_error_types() as exc:
        sys.exit(_show_usage_error(exc))
    if isinstance(code, int) and code:
        sys.exit(code)
