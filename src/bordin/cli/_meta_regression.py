"""Options of ``bordin meta`` for two-group effect sizes (escalc), moderators and
predictions, parsed from the command line into the library's arguments."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bordin.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from bordin.analytics.meta_analysis import GroupEffectSizes

__all__ = ["group_effect_sizes", "parse_columns", "parse_mods", "parse_pred"]


def parse_columns(specs: list[str]) -> dict[str, str]:
    """``["ai=tpos", "bi=tneg"]`` -> ``{"ai": "tpos", "bi": "tneg"}`` (``--col``)."""
    out: dict[str, str] = {}
    for spec in specs:
        arg, sep, column = spec.partition("=")
        if not sep or not arg.strip() or not column.strip():
            raise InputError(f"--col takes ARGUMENT=COLUMN (e.g. ai=tpos), not {spec!r}")
        out[arg.strip()] = column.strip()
    return out


def parse_mods(
    frame: pd.DataFrame, mods: list[str], path: Path
) -> tuple[dict[str, list[object]], str | None]:
    """The moderator columns and formula of repeated ``--mods`` (column names) or one
    ``--mods "~ a + factor(b)"``."""
    from bordin.analytics.meta_analysis._design import parse_formula

    formula: str | None = None
    if any(m.strip().startswith("~") for m in mods):
        if len(mods) != 1:
            raise InputError("give one --mods formula ('~ a + b') or repeated --mods columns")
        formula = mods[0].strip()
        names = [name for name, _ in parse_formula(formula)]
    else:
        names = [m.strip() for m in mods]
    columns: dict[str, list[object]] = {}
    for name in names:
        if name not in frame.columns:
            raise InputError(
                f"no moderator column {name!r} (given with --mods); columns are "
                f"{', '.join(map(str, frame.columns))}",
                file=str(path),
            )
        columns[name] = list(frame[name])
    return columns, formula


def parse_pred(specs: list[str]) -> list[dict[str, object]]:
    """``["ablat=40,alloc=random"]`` -> ``[{"ablat": "40", "alloc": "random"}]`` (``--pred``)."""
    rows: list[dict[str, object]] = []
    for spec in specs:
        row: dict[str, object] = {}
        for part in spec.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise InputError(
                    f"--pred takes MODERATOR=VALUE pairs separated by commas, not {spec!r}"
                )
            row[name.strip()] = value.strip()
        rows.append(row)
    return rows


def group_effect_sizes(
    frame: pd.DataFrame,
    path: Path,
    *,
    measure: str,
    col: list[str],
    add: float,
    to: str,
    labels: list[str],
) -> GroupEffectSizes:
    """``escalc`` from the file's columns (escalc's argument names, or renamed by --col)."""
    from bordin.analytics.meta_analysis import compute_group_effect_sizes

    return compute_group_effect_sizes(
        frame,
        measure=measure,  # type: ignore[arg-type]
        columns=parse_columns(col),
        add=add,
        to=to,  # type: ignore[arg-type]
        labels=labels,
        file=str(path),
        first_row=2,
    )
