"""``bordin meta``: meta-analysis of correlations (metafor-equivalent), from a table of
studies or from a clinic's session scores pooled per therapist or site."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bordin.errors import BordinWarning, InputError

if TYPE_CHECKING:
    import pandas as pd

    from bordin.analytics.meta_analysis import CorrelationMetaAnalysis, GroupCorrelations

__all__ = ["register"]

_METHODS = ("REML", "ML", "DL", "PM", "HE", "SJ", "FE")
_MEASURES = ("ZCOR", "COR", "SMD", "MD", "ROM", "RR", "OR", "GEN")
_HELP = (
    "Meta-analyse correlations as R's metafor does (escalc, rma, confint, regtest, trimfill, "
    "leave1out).\n\n"
    "With FILE: one row per study (a correlation and a sample size; or, with --measure SMD, "
    "MD, ROM, RR or OR, two groups' means, SDs and sizes or 2x2 counts in columns named as "
    "escalc's arguments; with GEN, yi and vi). With --from-scores: "
    "within each --by group, the Pearson r between each client's early alliance (mean of "
    "sessions 1-3) and improvement (first minus last outcome, sign set by the outcome's "
    "direction), pooled and compared with Flückiger et al. (2018), r = .278 [.256, .299]."
)


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise InputError("no such file", file=str(path))
    try:
        return pd.read_csv(path, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read as CSV ({exc})", file=str(path)) from None


def _column(frame: pd.DataFrame, name: str, path: Path, option: str) -> pd.Series:
    if name not in frame.columns:
        raise InputError(
            f"no column {name!r} (given with {option}); columns are "
            f"{', '.join(map(str, frame.columns))}",
            file=str(path),
        )
    return frame[name]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _benchmark_text(analysis: CorrelationMetaAnalysis) -> list[str]:
    from bordin.analytics.meta_analysis import FLUCKIGER_2018 as ref

    m = analysis.model
    r, lo, hi = analysis.to_r(m.estimate), analysis.to_r(m.ci_low), analysis.to_r(m.ci_high)
    if lo is not None and hi is not None and hi < ref.ci_low:
        verdict = "below the published range"
    elif lo is not None and lo > ref.ci_high:
        verdict = "above the published range"
    else:
        verdict = "compatible with the published figure"
    return [
        f"pooled alliance-outcome r = {r:.3f} [{lo:.3f}, {hi:.3f}] vs r = {ref.r:.3f} "
        f"[{ref.ci_low:.3f}, {ref.ci_high:.3f}] over {ref.k} samples (Flückiger et al., "
        f"2018): {verdict}",
        "This compares the clinic with the literature; it is not a ranking of therapists.",
    ]


def _scores_json(groups: GroupCorrelations, analysis: CorrelationMetaAnalysis) -> dict[str, Any]:
    from bordin.analytics.meta_analysis import FLUCKIGER_2018 as ref

    out = analysis.to_json_dict()
    out["groups"] = [
        {"group": g, "r": float(r), "n": int(n)}
        for g, r, n in zip(groups.groups, groups.r, groups.n, strict=True)
    ]
    out["dropped_groups"] = [{"group": g, "reason": why} for g, why in groups.dropped]
    out["by"] = groups.by
    out["higher_is_better"] = groups.higher_is_better
    out["direction_source"] = groups.direction_source
    out["n_clients"] = groups.n_clients
    out["n_clients_excluded"] = groups.n_clients_excluded
    out["benchmark"] = {
        "r": ref.r,
        "ci_lb": ref.ci_low,
        "ci_ub": ref.ci_high,
        "k": ref.k,
        "citation": ref.citation,
    }
    out["notes"] = list(out.get("notes", [])) + groups.notes()
    return out


def register(app: typer.Typer) -> None:
    """Add the ``meta`` command."""

    @app.command("meta", help=_HELP)
    def meta(
        file: Path | None = typer.Argument(
            None, help="CSV of studies, one row per study (with --r and --n)."
        ),
        r: str = typer.Option("r", "--r", help="Column of the correlations."),
        n: str = typer.Option("n", "--n", help="Column of the sample sizes."),
        measure: str = typer.Option(
            "ZCOR",
            "--measure",
            help="ZCOR (Fisher z, back-transformed) or COR (raw r); SMD, MD, ROM (columns "
            "m1i, sd1i, n1i, m2i, sd2i, n2i), RR, OR (columns ai, bi, ci, di), or GEN "
            "(effect sizes and variances given: columns yi, vi).",
        ),
        # --- issue 20: escalc columns, moderators, predictions (see cli/_meta_regression.py)
        col: list[str] = typer.Option(
            [], "--col", help="ARGUMENT=COLUMN: read an escalc argument from another column."
        ),
        add: float = typer.Option(0.5, "--add", help="Added to zero cells (RR, OR)."),
        to: str = typer.Option(
            "only0", "--to", help="Which studies get --add: only0, all, if0all or none."
        ),
        pred: list[str] = typer.Option(
            [],
            "--pred",
            help="Predict at moderator values, e.g. 'ablat=40,alloc=random' (repeatable).",
        ),
        # --- end issue 20
        method: str = typer.Option(
            "REML", "--method", help="tau^2 estimator: REML, ML, DL, PM, HE, SJ or FE."
        ),
        test: str = typer.Option("z", "--test", help="z, or knha (Knapp-Hartung)."),
        level: float = typer.Option(0.95, "--level", help="Confidence level."),
        mods: list[str] = typer.Option(
            [],
            "--mods",
            help="Moderator column (repeatable; text columns are categorical) or one formula "
            "'~ ablat + year + factor(alloc)' for a meta-regression.",
        ),
        label: str | None = typer.Option(
            None,
            "--label",
            help="Column of study labels (default: 'study' if present, else the row).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON (metafor's key names)."),
        forest: Path | None = typer.Option(
            None, "--forest", help="Write a forest plot (.svg or .png)."
        ),
        funnel: Path | None = typer.Option(
            None, "--funnel", help="Write a funnel plot (.svg or .png)."
        ),
        from_scores: Path | None = typer.Option(
            None,
            "--from-scores",
            help="Session scores CSV: pool per-group alliance-outcome correlations.",
        ),
        alliance: str | None = typer.Option(
            None,
            "--alliance",
            help="Alliance column or instrument, e.g. sac_total or sac (with --from-scores).",
        ),
        outcome: str | None = typer.Option(
            None,
            "--outcome",
            help="Outcome column or instrument, e.g. phq9_total or phq9 (with --from-scores).",
        ),
        by: str = typer.Option(
            "therapist_id", "--by", help="Grouping column (with --from-scores)."
        ),
        higher_is_better: bool | None = typer.Option(
            None,
            "--higher-is-better/--higher-is-worse",
            help="Outcome direction; default from the instrument, else higher is worse.",
        ),
    ) -> None:
        """Meta-analyse correlations as R's metafor does (escalc + rma + diagnostics).

        With FILE: one row per study. With --from-scores: the Pearson r between each client's
        early alliance (mean of sessions 1-3) and improvement (first minus last outcome, sign
        set by the outcome's direction) within each --by group, pooled and compared with
        Flückiger et al. (2018), r = .278 [.256, .299].
        """
        from bordin.analytics.meta_analysis import (
            analyse_correlations,
            analyse_effect_sizes,
            correlations_by_group,
        )
        from bordin.cli._scales import read_scores_with_scales

        if measure not in _MEASURES:
            raise InputError(f"--measure must be one of {', '.join(_MEASURES)}, not {measure!r}")
        if pred and not mods:
            raise InputError("--pred needs moderators (--mods)")
        if method not in _METHODS:
            raise InputError(f"--method must be one of {', '.join(_METHODS)}, not {method!r}")
        if test not in ("z", "knha"):
            raise InputError(f"--test must be z or knha, not {test!r}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", BordinWarning)
            groups: GroupCorrelations | None = None
            if from_scores is not None:
                if measure not in ("ZCOR", "COR") or mods:
                    raise InputError("--from-scores pools correlations: ZCOR or COR, no --mods")
                if file is not None:
                    raise InputError("give either FILE or --from-scores, not both")
                if alliance is None or outcome is None:
                    raise InputError("--from-scores needs --alliance and --outcome")
                frame, (alliance, outcome) = read_scores_with_scales(
                    from_scores, [("--alliance", alliance), ("--outcome", outcome)]
                )
                groups = correlations_by_group(
                    frame,
                    alliance=alliance,
                    outcome=outcome,
                    by=by,
                    higher_is_better=higher_is_better,
                    file=str(from_scores),
                )
                analysis = groups.pool(
                    measure=measure,  # type: ignore[arg-type]
                    method=method,  # type: ignore[arg-type]
                    test=test,  # type: ignore[arg-type]
                    level=level,
                )
            else:
                if file is None:
                    raise InputError("give a CSV of studies (FILE) or --from-scores")
                frame = _read_csv(file)
                if label is not None:
                    labels = [str(x) for x in _column(frame, label, file, "--label")]
                elif "study" in frame.columns:
                    labels = [str(x) for x in frame["study"]]
                else:
                    labels = [f"row {i + 2}" for i in range(len(frame))]
                from bordin.cli._meta_regression import group_effect_sizes, parse_mods

                mod_columns, formula = parse_mods(frame, mods, file) if mods else (None, None)
                if measure in ("ZCOR", "COR"):
                    analysis = analyse_correlations(
                        list(_column(frame, r, file, "--r")),
                        list(_column(frame, n, file, "--n")),
                        measure=measure,  # type: ignore[arg-type]
                        method=method,  # type: ignore[arg-type]
                        test=test,  # type: ignore[arg-type]
                        level=level,
                        mods=mod_columns,
                        formula=formula,
                        labels=labels,
                        file=str(file),
                        r_column=r,
                        n_column=n,
                        first_row=2,
                    )
                else:
                    es = group_effect_sizes(
                        frame, file, measure=measure, col=col, add=add, to=to, labels=labels
                    )
                    analysis = analyse_effect_sizes(
                        es,
                        method=method,  # type: ignore[arg-type]
                        test=test,  # type: ignore[arg-type]
                        level=level,
                        mods=mod_columns,
                        formula=formula,
                        file=str(file),
                        first_row=2,
                    )
            predictions = None
            if pred and analysis.regression is not None:
                from bordin.cli._meta_regression import parse_pred

                predictions = analysis.regression.predict(parse_pred(pred))
        # Bordin's own warnings (e.g. ML stuck at a local maximum) as one line each.
        for message in dict.fromkeys(str(w.message) for w in caught):
            typer.echo(f"warning: {message}", err=True)
        if forest is not None or funnel is not None:
            from bordin.reports.meta_plots import forest_plot, funnel_plot

            benchmark = groups is not None
            if forest is not None:
                header = groups.by if groups is not None else "study"
                forest_plot(analysis, forest, show_benchmark=benchmark, label_header=header)
            if funnel is not None:
                funnel_plot(analysis, funnel)
        if as_json:
            out = analysis.to_json_dict() if groups is None else _scores_json(groups, analysis)
            if predictions is not None:
                out["predict"] = predictions.to_json_dict()
            typer.echo(json.dumps(_clean(out), indent=2))
            return
        if groups is not None:
            for note in groups.notes():
                typer.echo(note)
            typer.echo("")
        typer.echo(analysis.summary())
        if predictions is not None:
            typer.echo(predictions.summary())
        if groups is not None:
            typer.echo("")
            for line in _benchmark_text(analysis):
                typer.echo(line)
