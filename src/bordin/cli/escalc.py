"""``bordin escalc``: two-group effect sizes and sampling variances, as metafor's ``escalc``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from bordin.errors import InputError

__all__ = ["register"]

_MEASURES = ("SMD", "MD", "ROM", "RR", "OR")
_HELP = (
    "Add yi and vi to a table of studies, as R's metafor escalc does.\n\n"
    "SMD is Hedges' g with the exact bias correction and metafor's default variance; RR and "
    "OR are on the log scale, with 1/2 added to every cell of studies with a zero cell "
    '(escalc\'s add = 1/2, to = "only0"). Rows with a missing value get empty yi, vi.'
)


def register(app: typer.Typer) -> None:
    """Add the ``escalc`` command."""

    @app.command("escalc", help=_HELP)
    def escalc(
        file: Path = typer.Argument(..., help="CSV of studies, one row per study."),
        measure: str = typer.Option(
            ..., "--measure", help="SMD, MD, ROM (m1i, sd1i, n1i, m2i, sd2i, n2i) or RR, OR."
        ),
        col: list[str] = typer.Option(
            [], "--col", help="ARGUMENT=COLUMN: read an escalc argument from another column."
        ),
        add: float = typer.Option(0.5, "--add", help="Added to zero cells (RR, OR)."),
        to: str = typer.Option(
            "only0", "--to", help="Which studies get --add: only0, all, if0all or none."
        ),
        out: Path | None = typer.Option(None, "--out", help="Write the CSV here, not stdout."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON: yi, vi per row."),
    ) -> None:
        """Add yi and vi to a table of studies, as R's metafor escalc does.

        SMD is Hedges' g with the exact bias correction and metafor's default variance; RR
        and OR are on the log scale, with 1/2 added to every cell of studies with a zero
        cell (escalc's add = 1/2, to = "only0"). Rows with a missing value get empty yi, vi.
        """
        from bordin.cli._meta_regression import group_effect_sizes
        from bordin.cli.meta import _read_csv

        if measure not in _MEASURES:
            raise InputError(f"--measure must be one of {', '.join(_MEASURES)}, not {measure!r}")
        frame = _read_csv(file)
        labels = [f"row {i + 2}" for i in range(len(frame))]
        es = group_effect_sizes(
            frame, file, measure=measure, col=col, add=add, to=to, labels=labels
        )
        yi = [math.nan] * len(frame)
        vi = [math.nan] * len(frame)
        for row, y, v in zip(es.rows, es.yi, es.vi, strict=True):
            yi[row - 2], vi[row - 2] = float(y), float(v)
        if as_json:
            payload = {
                "measure": measure,
                "yi": [None if math.isnan(y) else y for y in yi],
                "vi": [None if math.isnan(v) else v for v in vi],
                "n_dropped": es.n_dropped,
                "dropped_rows": list(es.dropped_rows),
                "n_corrected": es.n_corrected,
            }
            typer.echo(json.dumps(payload, indent=2))
            return
        table = frame.assign(yi=yi, vi=vi)
        text = table.to_csv(index=False, float_format="%.17g")
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text)
            typer.echo(f"wrote {len(table)} rows to {out}", err=True)
