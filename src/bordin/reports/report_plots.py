"""Figures of the clinic report, drawn with matplotlib (Agg) and returned as inline SVG text.

Each ``*_figure`` function takes a results object and returns a matplotlib Figure (its
label is the figure's accessible title); each ``*_svg`` function returns the same figure as
an ``<svg>`` element, text kept as text (no font files) and no external references, so the
HTML report stays one self-contained file. The PDF report draws the same figures. Colours
are the colour-blind-safe Okabe-Ito palette.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bordin.analytics.early_alliance import EarlyAllianceResult
    from bordin.analytics.moderation import ModerationResult
    from bordin.analytics.multilevel import LaggedModelResult
    from bordin.analytics.outcome_summary import OutcomeSummaryResult
    from bordin.analytics.rupture_outcomes import RuptureOutcomeResult
    from bordin.analytics.therapist_alliance import TherapistAllianceResult

__all__ = [
    "early_alliance_figure",
    "early_alliance_svg",
    "figure_svg",
    "lagged_figure",
    "lagged_svg",
    "moderation_figure",
    "moderation_svg",
    "outcome_summary_figure",
    "outcome_summary_svg",
    "rupture_figure",
    "rupture_svg",
    "therapist_forest_figure",
    "therapist_forest_svg",
    "therapist_shrinkage_figure",
]

BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
VERMILLION = "#D55E00"
GREY = "#666666"
LIGHT = "#DDDDDD"


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def figure_svg(fig: Figure) -> str:
    """A figure as an inline ``<svg>`` element (text as text, no external references)."""
    from matplotlib import rc_context

    title = str(fig.get_label())
    buf = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "bordin-report"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Title": title})
    text = buf.getvalue()
    start = text.index("<svg")
    svg = text[start:]
    # Accessible name for screen readers; the caption next to the figure says how to read it.
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)


def _attr(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def _err(est: object, low: object, high: object) -> np.ndarray:
    """Error-bar lengths below and above, never negative or missing (0 where undefined)."""
    e = np.atleast_1d(np.asarray(est, dtype=np.float64))
    below = np.atleast_1d(e - np.asarray(low, dtype=np.float64))
    above = np.atleast_1d(np.asarray(high, dtype=np.float64) - e)
    return np.nan_to_num(np.clip(np.vstack([below, above]), 0.0, None))


def _style(ax: Axes) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.tick_params(labelsize=9)


def outcome_summary_figure(res: OutcomeSummaryResult) -> Figure:
    """Rates of reliable improvement, no change, deterioration, recovery and dropout."""
    fig = _figure(6.4, 2.6)
    ax = fig.add_subplot()
    labels = {
        "reliable_improvement": "Reliable improvement",
        "no_reliable_change": "No reliable change",
        "reliable_deterioration": "Reliable deterioration",
        "recovery": "Recovery",
        "dropout": "Dropout",
    }
    colours = {
        "reliable_improvement": GREEN,
        "no_reliable_change": GREY,
        "reliable_deterioration": VERMILLION,
        "recovery": BLUE,
        "dropout": ORANGE,
    }
    rates = list(res.rates)[::-1]
    y = np.arange(len(rates))
    est = np.array([r.estimate for r in rates]) * 100
    lo = np.array([r.ci_low for r in rates]) * 100
    hi = np.array([r.ci_high for r in rates]) * 100
    ax.barh(y, est, color=[colours[r.term] for r in rates], alpha=0.85, height=0.6)
    ax.errorbar(est, y, xerr=_err(est, lo, hi), fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_yticks(y, [f"{labels[r.term]} ({r.count}/{r.n})" for r in rates])
    ax.set_xlabel(f"% of clients ({res.level:.0%} Wilson interval)", fontsize=9)
    ax.set_xlim(0, 100)
    _style(ax)
    fig.set_label("Outcome rates with confidence intervals")
    return fig


def early_alliance_figure(res: EarlyAllianceResult, clients: pd.DataFrame) -> Figure:
    """Mean change per tenth of early alliance, with the OLS line at the mean intake."""
    fig = _figure(6.4, 3.4)
    ax = fig.add_subplot()
    data = clients[["early_alliance", "intake", "change"]].dropna()
    a = data["early_alliance"].to_numpy()
    bins = np.unique(np.quantile(a, np.linspace(0, 1, 11)))
    if len(bins) >= 3:
        idx = np.clip(np.searchsorted(bins, a, side="right") - 1, 0, len(bins) - 2)
        frame = pd.DataFrame({"bin": idx, "a": a, "y": data["change"].to_numpy()})
        g = frame.groupby("bin")
        mean_a, mean_y = g["a"].mean(), g["y"].mean()
        se = g["y"].std(ddof=1) / np.sqrt(g.size())
        ax.errorbar(
            mean_a,
            mean_y,
            yerr=1.96 * se.fillna(0.0),
            fmt="o",
            color=BLUE,
            ms=5,
            capsize=3,
            label="observed mean change per tenth of early alliance (95% CI)",
        )
    b = {t.term: t.estimate for t in res.ols}
    xs = np.linspace(float(a.min()), float(a.max()), 50)
    fitted = (
        b["(Intercept)"] + b["early_alliance"] * xs + b["intake"] * float(data["intake"].mean())
    )
    ax.plot(xs, fitted, color=VERMILLION, lw=2, label="OLS fit at the mean intake")
    ax.axhline(0, color=LIGHT, lw=1, zorder=0)
    ax.set_xlabel(
        f"Early alliance: mean {res.alliance}, sessions 1-{res.early_sessions}", fontsize=9
    )
    ax.set_ylabel(f"Change in {res.outcome} (last - intake)", fontsize=9)
    ax.legend(fontsize=8, frameon=False, loc="best")
    _style(ax)
    fig.set_label("Early alliance and outcome change")
    return fig


def lagged_figure(models: tuple[LaggedModelResult, ...], labels: tuple[str, ...]) -> Figure:
    """Within- and between-client alliance effects with Satterthwaite t intervals, per model."""
    fig = _figure(6.4, 2.4)
    ax = fig.add_subplot()
    terms = ("alliance_within", "alliance_between")
    names = {"alliance_within": "within-client (lagged)", "alliance_between": "between-client"}
    colours = (BLUE, ORANGE, GREEN)
    ticks, ticklabels = [], []
    for i, term in enumerate(terms):
        for j, (model, label) in enumerate(zip(models, labels, strict=True)):
            y = i * (len(models) + 1) + j
            lo, hi = model.confint(term)
            ax.errorbar(
                model.fixed[term],
                y,
                xerr=_err(model.fixed[term], lo, hi),
                fmt="o",
                color=colours[j % 3],
                capsize=3,
                label=label if i == 0 else None,
            )
        ticks.append(i * (len(models) + 1) + (len(models) - 1) / 2)
        ticklabels.append(names[term])
    ax.axvline(0, color=GREY, lw=1, ls="--")
    ax.set_yticks(ticks, ticklabels)
    ax.invert_yaxis()
    ax.set_xlabel(
        f"Change in next-session {models[0].outcome} per point of {models[0].alliance}",
        fontsize=9,
    )
    ax.legend(fontsize=8, frameon=False, loc="best")
    _style(ax)
    fig.set_label("Lagged within- and between-client alliance effects")
    return fig


def moderation_figure(res: ModerationResult) -> Figure:
    """Johnson-Neyman plot: the predictor's slope over the moderator, with its band."""
    fig = _figure(6.4, 3.4)
    ax = fig.add_subplot()
    jn = res.johnson_neyman
    lo_m, hi_m = jn.moderator_min, jn.moderator_max
    span = hi_m - lo_m
    xs = np.linspace(lo_m - 0.05 * span, hi_m + 0.05 * span, 200)
    slopes = [res.slope_at(float(x)) for x in xs]
    est = np.array([s.estimate for s in slopes])
    low = np.array([s.ci_low for s in slopes])
    high = np.array([s.ci_high for s in slopes])
    significant = (low > 0) | (high < 0)
    ax.fill_between(
        xs,
        low,
        high,
        where=~significant,
        color=BLUE,
        alpha=0.18,
        lw=0,
        label=f"{res.level:.0%} CI, includes 0" if (~significant).any() else None,
    )
    ax.fill_between(
        xs,
        low,
        high,
        where=significant,
        color=VERMILLION,
        alpha=0.25,
        lw=0,
        label=f"{res.level:.0%} CI, excludes 0" if significant.any() else None,
    )
    ax.plot(xs, est, color=BLUE, lw=2, label=f"slope of {res.predictor}")
    ax.axhline(0, color=GREY, lw=1, ls="--")
    for bound in (jn.lower, jn.upper):
        if np.isfinite(bound) and xs[0] <= bound <= xs[-1]:
            ax.axvline(bound, color=VERMILLION, lw=1, ls=":")
    for s in res.simple_slopes[:3]:
        ax.plot([s.moderator_value], [s.slope.estimate], "o", color="black", ms=4)
    ax.set_xlabel(f"{res.moderator} (observed range shaded grey at the bottom)", fontsize=9)
    ax.set_ylabel(f"Slope of {res.predictor} on {res.outcome}", fontsize=9)
    ymin = ax.get_ylim()[0]
    ax.axvspan(lo_m, hi_m, ymin=0, ymax=0.02, color=LIGHT)
    ax.set_ylim(bottom=ymin)
    ax.legend(fontsize=8, frameon=False, loc="best")
    _style(ax)
    fig.set_label("Johnson-Neyman plot of the moderation")
    return fig


def rupture_figure(res: RuptureOutcomeResult) -> Figure:
    """Adjusted outcome change for no rupture, repaired and unrepaired, at k = 1 and 2."""
    fig = _figure(6.4, 2.8)
    axes = fig.subplots(1, len(res.detectors), sharey=True, squeeze=False)[0]
    colours = {"none": GREY, "repaired": GREEN, "unrepaired": VERMILLION}
    for ax, d in zip(axes, res.detectors, strict=True):
        for i, g in enumerate(d.adjusted_means):
            t = g.change
            ax.errorbar(
                i,
                t.estimate,
                yerr=_err(t.estimate, t.ci_low, t.ci_high),
                fmt="o",
                color=colours[g.group],
                capsize=4,
                ms=6,
            )
        ax.set_xticks(
            range(len(d.adjusted_means)), [f"{g.group}\nn={g.n}" for g in d.adjusted_means]
        )
        ax.set_xlim(-0.6, len(d.adjusted_means) - 0.4)
        ax.set_title(f"k = {d.k} SD", fontsize=10)
        _style(ax)
    axes[0].set_ylabel(f"Change in {res.outcome}\nat mean intake", fontsize=9)
    fig.set_label("Outcome change by rupture and repair")
    return fig


#: Above this many therapists the forest plot gives way to a shrinkage plot.
FOREST_MAX_THERAPISTS = 60


def therapist_forest_figure(res: TherapistAllianceResult) -> Figure:
    """Forest plot: each therapist's observed and shrunk r, the pooled r, the published r.

    With more than :data:`FOREST_MAX_THERAPISTS` therapists a forest plot is unreadable, so
    a shrinkage plot is drawn instead (see :func:`therapist_shrinkage_figure`).
    """
    k = len(res.therapists)
    if k > FOREST_MAX_THERAPISTS:
        return therapist_shrinkage_figure(res)
    height = 2.0 + 0.16 * k
    fig = _figure(6.4, height)
    ax = fig.add_subplot()
    y = np.arange(k)
    obs = np.array([t.r for t in res.therapists])
    obs_lo = np.array([t.ci_low for t in res.therapists])
    obs_hi = np.array([t.ci_high for t in res.therapists])
    shr = np.array([t.shrunk for t in res.therapists])
    shr_lo = np.array([t.shrunk_ci_low for t in res.therapists])
    shr_hi = np.array([t.shrunk_ci_high for t in res.therapists])
    ax.errorbar(
        obs,
        y - 0.18,
        xerr=_err(obs, obs_lo, obs_hi),
        fmt="o",
        mfc="white",
        color=GREY,
        ms=3,
        lw=0.8,
        label="observed r",
    )
    ax.errorbar(
        shr,
        y + 0.18,
        xerr=_err(shr, shr_lo, shr_hi),
        fmt="o",
        color=BLUE,
        ms=3,
        lw=0.8,
        label="shrunk r (empirical Bayes)",
    )
    pooled_y = k + 1
    diamond_x = [res.ci_low, res.estimate, res.ci_high, res.estimate]
    diamond_y = [pooled_y, pooled_y - 0.4, pooled_y, pooled_y + 0.4]
    ax.fill(diamond_x, diamond_y, color=BLUE, label="pooled r (REML)")
    if np.isfinite(res.pi_low):
        ax.plot([res.pi_low, res.pi_high], [pooled_y, pooled_y], color=BLUE, lw=1, ls=":")
    p = res.published
    ax.axvspan(p.ci_low, p.ci_high, color=ORANGE, alpha=0.25, lw=0)
    ax.axvline(p.estimate, color=ORANGE, lw=1.5, label=f"{p.label}: r = {p.estimate:.3f}")
    ax.axvline(0, color=GREY, lw=1, ls="--")
    ax.set_yticks(
        [*y, pooled_y], [f"{t.therapist_id} (n={t.n})" for t in res.therapists] + ["Pooled"]
    )
    ax.tick_params(axis="y", labelsize=7 if k > 40 else 8)
    ax.invert_yaxis()
    ax.set_xlim(-1, 1)
    ax.set_xlabel("Correlation of early alliance with improvement", fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2)
    _style(ax)
    fig.set_label("Alliance-outcome correlation per therapist, pooled")
    return fig


def therapist_shrinkage_figure(res: TherapistAllianceResult) -> Figure:
    """Shrinkage plot: each therapist's observed r (top) joined to their shrunk r (bottom).

    No therapist is named or ranked; the plot shows how far the clinic's spread of raw
    correlations is noise (long lines pulled to the pooled value) rather than difference.
    """
    fig = _figure(6.4, 3.0)
    ax = fig.add_subplot()
    obs = np.array([t.r for t in res.therapists])
    shr = np.array([t.shrunk for t in res.therapists])
    from matplotlib.collections import LineCollection

    segments = np.stack(
        [np.column_stack([obs, np.ones_like(obs)]), np.column_stack([shr, 0 * shr])], axis=1
    )
    ax.add_collection(LineCollection(list(segments), colors=GREY, linewidths=0.4, alpha=0.5))
    ax.plot(obs, np.ones_like(obs), "|", color=GREY, ms=10, label="observed r")
    ax.plot(shr, np.zeros_like(shr), "|", color=BLUE, ms=10, label="shrunk r (empirical Bayes)")
    ax.axvspan(res.ci_low, res.ci_high, color=BLUE, alpha=0.2, lw=0)
    ax.axvline(res.estimate, color=BLUE, lw=1.5, label=f"pooled r = {res.estimate:.3f}")
    p = res.published
    ax.axvline(p.estimate, color=ORANGE, lw=1.5, ls="--", label=f"{p.label}: r = {p.estimate:.3f}")
    ax.set_yticks([0, 1], ["shrunk", "observed"])
    ax.set_ylim(-0.3, 1.3)
    ax.set_xlim(-1, 1)
    ax.set_xlabel(
        f"Correlation of early alliance with improvement ({len(obs)} therapists)", fontsize=9
    )
    ax.legend(fontsize=7, frameon=False, loc="upper left", ncols=2)
    _style(ax)
    fig.set_label("Observed and shrunk alliance-outcome correlations of every therapist")
    return fig


def outcome_summary_svg(res: OutcomeSummaryResult) -> str:
    """:func:`outcome_summary_figure` as inline SVG."""
    return figure_svg(outcome_summary_figure(res))


def early_alliance_svg(res: EarlyAllianceResult, clients: pd.DataFrame) -> str:
    """:func:`early_alliance_figure` as inline SVG."""
    return figure_svg(early_alliance_figure(res, clients))


def lagged_svg(models: tuple[LaggedModelResult, ...], labels: tuple[str, ...]) -> str:
    """:func:`lagged_figure` as inline SVG."""
    return figure_svg(lagged_figure(models, labels))


def moderation_svg(res: ModerationResult) -> str:
    """:func:`moderation_figure` as inline SVG."""
    return figure_svg(moderation_figure(res))


def rupture_svg(res: RuptureOutcomeResult) -> str:
    """:func:`rupture_figure` as inline SVG."""
    return figure_svg(rupture_figure(res))


def therapist_forest_svg(res: TherapistAllianceResult) -> str:
    """:func:`therapist_forest_figure` as inline SVG."""
    return figure_svg(therapist_forest_figure(res))
