"""``bordin meta-multilevel``: three-level meta-analysis of effect sizes nested in clusters
(metafor's ``rma.mv(yi, vi, random = ~ 1 | cluster/effect)``), with profile-likelihood
intervals and cluster-robust CR2 tests."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from bordin.errors import InputError

__all__ = ["register"]

_HELP = (
    "Three-level meta-analysis as R's metafor rma.mv(yi, vi, random = ~ 1 | cluster/effect): "
    "REML or ML variance components, fixed effects, Q test, fit statistics; --confint adds "
    "profile-likelihood intervals (confint), --robust CR2 tests with Satterthwaite df "
    "(robust(res, cluster, clubSandwich = TRUE)). FILE has one row per effect size."
)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def register(app: typer.Typer) -> None:
    """Add the ``meta-multilevel`` command."""

    @app.command("meta-multilevel", help=_HELP)
    def meta_multilevel(
        file: Path = typer.Argument(..., help="CSV, one row per effect size."),
        cluster: str = typer.Option(..., "--cluster", help="Column of the clusters (studies)."),
        effect: str | None = typer.Option(
            None, "--effect", help="Column identifying effects within a cluster (default: row)."
        ),
        yi: str = typer.Option("yi", "--yi", help="Column of the effect sizes."),
        vi: str = typer.Option("vi", "--vi", help="Column of the sampling variances."),
        mods: list[str] = typer.Option(
            [], "--mods", help="Moderator column (repeat for several); text columns are factors."
        ),
        method: str = typer.Option("REML", "--method", help="REML or ML."),
        test: str = typer.Option("z", "--test", help="z, or t (t/F tests with k - p df)."),
        level: float = typer.Option(0.95, "--level", help="Confidence level."),
        confint: bool = typer.Option(
            False, "--confint", help="Profile-likelihood CIs of both variance components."
        ),
        robust: bool = typer.Option(
            False, "--robust", help="Cluster-robust CR2 tests (clubSandwich), by --cluster."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON (metafor's key names)."),
    ) -> None:
        """Fit the three-level model and print it (or JSON with --json)."""
        import pandas as pd

        from bordin.analytics.meta_analysis import (
            fit_multilevel_meta,
            robust_cr2,
            sigma2_confint,
        )

        if method not in ("REML", "ML"):
            raise InputError(f"--method must be REML or ML, not {method!r}")
        if test not in ("z", "t"):
            raise InputError(f"--test must be z or t, not {test!r}")
        if not file.is_file():
            raise InputError("no such file", file=str(file))
        try:
            frame = pd.read_csv(file, skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read as CSV ({exc})", file=str(file)) from None
        for option, name in (
            [("--cluster", cluster), ("--yi", yi), ("--vi", vi)]
            + [("--effect", e) for e in [effect] if e is not None]
            + [("--mods", m) for m in mods]
        ):
            if name not in frame.columns:
                raise InputError(
                    f"no column {name!r} (given with {option}); columns are "
                    f"{', '.join(map(str, frame.columns))}",
                    file=str(file),
                )
        numbers = {}
        for option, name in (("--yi", yi), ("--vi", vi)):
            values = pd.to_numeric(frame[name], errors="coerce")
            bad = values.isna()
            if bad.any():
                row = int(bad.to_numpy().nonzero()[0][0]) + 2
                raise InputError("not a number", file=str(file), row=row, column=name)
            numbers[option] = values.to_numpy(dtype=float)
        try:
            res = fit_multilevel_meta(
                numbers["--yi"],
                numbers["--vi"],
                list(frame[cluster]),
                effect=None if effect is None else list(frame[effect]),
                mods=frame[mods] if mods else None,
                method=method,  # type: ignore[arg-type]
                test=test,  # type: ignore[arg-type]
                level=level,
                cluster_name=cluster,
                effect_name=effect or "effect",
                first_row=2,
                columns=(yi, vi, cluster, effect or "effect"),
            )
        except InputError as exc:
            raise InputError(exc.detail, file=str(file), row=exc.row, column=exc.column) from None
        ci = sigma2_confint(res) if confint else None
        rob = robust_cr2(res) if robust else None
        if as_json:
            out = res.to_json_dict()
            if ci is not None:
                out["confint"] = ci.to_json_dict()
            if rob is not None:
                out["robust"] = rob.to_json_dict()
            typer.echo(json.dumps(_clean(out), indent=2))
            return
        typer.echo(res.summary())
        if ci is not None:
            typer.echo("")
            typer.echo(ci.summary())
        if rob is not None:
            typer.echo("")
            typer.echo(rob.summary())
