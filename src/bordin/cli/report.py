"""``bordin report``: the clinic's own evidence in one self-contained HTML file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from bordin.errors import InputError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the CLI."""

    @app.command("report")
    def report(
        scores: Path = typer.Argument(..., help="Wide session scores CSV (from bordin score)."),
        alliance: str = typer.Option(
            ..., "--alliance", help="Alliance column (sac_total) or instrument (sac)."
        ),
        outcome: str = typer.Option(
            ..., "--outcome", help="Outcome column (phq9_total) or instrument (phq9)."
        ),
        adherence: str | None = typer.Option(
            None, "--adherence", help="Per-session adherence column (moderation section)."
        ),
        dropout: str | None = typer.Option(
            None,
            "--dropout",
            help="Column marking clients who dropped out (true on any of their rows); without "
            "it (or --endings) the file records no endings and dropout is reported as not "
            "known.",
        ),
        endings: Path | None = typer.Option(
            None,
            "--endings",
            help="CSV of how treatments ended: client_id and ended (planned, dropout or "
            "referral) or dropped_out (true/false), such as the simulator's clients.csv.",
        ),
        output: Path | None = typer.Option(
            None, "-o", "--output", help="Write the HTML report here."
        ),
        pdf: Path | None = typer.Option(
            None,
            "--pdf",
            help="Also write the report as a tagged A4 PDF (the HTML report laid out for print).",
        ),
        as_json: bool = typer.Option(
            False, "--json", help="Print every number of the report as JSON on stdout."
        ),
        early_sessions: int = typer.Option(
            3, "--early-sessions", min=1, help="Sessions 1..N make the early alliance."
        ),
        level: float = typer.Option(0.95, "--level", help="Confidence level of the intervals."),
    ) -> None:
        """Early alliance, lagged alliance-outcome model, moderation, rupture and repair,
        alliance-outcome across therapists and outcome rates, beside the published figures.

        Each number comes with its interval and method. Bordin supports clinical judgement;
        it does not diagnose.
        """
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from bordin.cli._scales import read_scores_with_scales
        from bordin.interop import read_endings_csv
        from bordin.reports.report import (
            REPORT_STEPS,
            build_report,
            render_html,
        )

        if output is None and pdf is None and not as_json:
            raise InputError("nothing to write: give -o REPORT.html, --pdf REPORT.pdf or --json")
        if dropout is not None and endings is not None:
            raise InputError(
                "give --dropout COLUMN or --endings FILE, not both: each says how the "
                "treatments ended, and two records could disagree"
            )
        if not 0.0 < level < 1.0:
            raise InputError(f"--level must be between 0 and 1, got {level}")
        console = Console(stderr=True)
        with Progress(
            TextColumn("[bold]bordin report[/bold] {task.description:<20}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as bar:
            total = len(REPORT_STEPS) + 1 + (output is not None) + (pdf is not None)
            task = bar.add_task("reading scores", total=total)
            frame, resolved = read_scores_with_scales(
                scores,
                [("--alliance", alliance), ("--outcome", outcome)]
                + ([("--adherence", adherence)] if adherence else []),
                required=("client_id", "therapist_id", "session"),
            )
            alliance, outcome = resolved[0], resolved[1]
            adherence = resolved[2] if adherence else None
            if dropout is not None and dropout not in frame.columns:
                raise InputError("dropout column not found", file=str(scores), column=dropout)
            ended: list[str] | None = None
            dropped_out: list[str] | None = None
            if endings is not None:
                everyone = set(frame["client_id"].astype(str))
                how = read_endings_csv(endings, clients=everyone)
                if unlisted := len(everyone - how.keys()):
                    console.print(
                        f"[yellow]note[/yellow] {unlisted} client(s) of {scores.name} have no "
                        f"row in {endings.name}: as open episodes in the service, each is in "
                        "treatment if seen in the last 8 weeks and a dropout otherwise"
                    )
                ended = [client for client, why in how.items() if why != "dropout"]
                dropped_out = [client for client, why in how.items() if why == "dropout"]

            def step(name: str) -> None:
                bar.update(task, advance=1, description=name)

            result = build_report(
                frame,
                alliance=alliance,
                outcome=outcome,
                adherence=adherence,
                dropout=dropout,
                ended=ended,
                dropped_out=dropped_out,
                early_sessions=early_sessions,
                level=level,
                source=scores.name,
                progress=step,
            )
            html = render_html(result, progress=step) if output or pdf else ""
            if output is not None:
                bar.update(task, advance=1, description="writing")
                try:
                    output.write_text(html, encoding="utf-8")
                except OSError as exc:
                    raise InputError(
                        f"cannot write the report ({exc.strerror})", file=str(output)
                    ) from None
            if pdf is not None:
                from bordin.reports.pdf import html_to_pdf

                bar.update(task, advance=1, description="writing the PDF")
                try:
                    html_to_pdf(html, pdf, title=f"Clinic report: {result.source}")
                except OSError as exc:
                    raise InputError(
                        f"cannot write the PDF ({exc.strerror})", file=str(pdf)
                    ) from None
            bar.update(task, completed=total)
        for s in result.sections:
            if not s.available:
                console.print(f"[yellow]section missing[/yellow] {s.title}: {s.reason}")
        for written in (output, pdf):
            if written is not None:
                console.print(f"report written to {written}")
        if as_json:
            typer.echo(json.dumps(result.to_json_dict(), indent=2, ensure_ascii=False))
