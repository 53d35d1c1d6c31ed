"""``bordin fhir``: Questionnaires, response and score Bundles in FHIR R4, and back."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

__all__ = ["register"]

fhir_app = typer.Typer(
    help="FHIR R4: Questionnaire, QuestionnaireResponse and Observation Bundles.",
    no_args_is_help=True,
)


@fhir_app.command("questionnaire")
def questionnaire(
    instrument: str = typer.Argument(..., help="Instrument id, e.g. phq9."),
    out: Path | None = typer.Option(None, "--out", "-o", help="File to write (default: print)."),
) -> None:
    """Print (or write) an instrument as a FHIR R4 Questionnaire.

    Wording is included only where its licence allows redistribution.
    """
    from bordin.instruments import get_instrument
    from bordin.interop.fhir import to_questionnaire, write_resource

    resource = to_questionnaire(get_instrument(instrument))
    if out is None:
        typer.echo(resource.model_dump_json(exclude_none=True, indent=1))
    else:
        write_resource(resource, out)


@fhir_app.command("export")
def export(
    source: Path = typer.Argument(
        ..., metavar="RESPONSES.csv|SCORES.csv", help="Long responses or wide session scores."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Bundle file (JSON) to write."),
    bundle_type: str = typer.Option(
        "collection", "--type", help="Bundle type: collection or transaction."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Print nothing on success (no progress bar either)."
    ),
) -> None:
    """Write a FHIR Bundle of responses and their scores, or of scores only.

    A long responses file gives one QuestionnaireResponse per client, session and instrument
    and one Observation per scale score (derivedFrom its response); a wide scores file gives
    the Observations only. A bad file is reported with its row, column and item, and nothing
    is written. On a terminal, a progress bar on stderr follows the validation of the
    resources (most of a long export's time).
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from bordin.errors import InputError
    from bordin.interop import read_responses_csv
    from bordin.interop.fhir import write_export

    if bundle_type not in ("collection", "transaction"):
        raise InputError(f"--type must be collection or transaction, not {bundle_type!r}")
    kind: Literal["collection", "transaction"] = (
        "collection" if bundle_type == "collection" else "transaction"
    )
    frame = read_responses_csv(source)
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]bordin fhir export[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    ) as bar:
        task = bar.add_task("scoring and building", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description="validating resources")

        written = write_export(frame, out, bundle_type=kind, source=source.name, progress=step)
    if not quiet:
        typer.echo(f"Wrote {written} resources to {out}")


@fhir_app.command("import")
def import_bundle(
    bundle: Path = typer.Argument(..., metavar="BUNDLE.json", help="A FHIR R4 Bundle."),
    out: Path = typer.Option(..., "--out", "-o", help="Long responses CSV to write."),
) -> None:
    """Read the QuestionnaireResponses of a Bundle into a long responses CSV.

    Responses from other systems are read when they used Bordin's Questionnaire or LOINC's
    (PHQ-9, GAD-7). An unknown item or an answer out of range is reported with the entry and
    the item, and nothing is written.
    """
    from bordin.errors import InputError
    from bordin.interop import write_scores_csv
    from bordin.interop.fhir import read_bundle

    if not bundle.is_file():
        raise InputError("no such file", file=str(bundle))
    from bordin.interop.fhir._common import answer_code

    frame = read_bundle(bundle.read_bytes(), source=bundle.name)
    frame["value"] = frame["value"].map(answer_code)  # 2 rather than 2.0, as forms record it
    write_scores_csv(frame, out)
    typer.echo(f"Read {len(frame)} item responses; wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``bordin fhir`` to the command line."""
    app.add_typer(fhir_app, name="fhir")
