"""Forest and funnel plots of a meta-analysis of correlations (SVG or PNG).

Drawn with matplotlib's object API and the Agg canvas (no pyplot global state, no display,
no network; text is drawn as paths in SVG, so no font is fetched). Both plots stay readable
for 300 studies: the forest plot grows with the number of studies and shrinks its labels,
and the funnel plot uses small translucent markers.

The forest plot shows each study's correlation with its confidence interval (square area
proportional to its weight), the pooled estimate as a diamond, the prediction interval as
a bar under it and, for clinic data, the published alliance-outcome correlation of
Flückiger et al. (2018) as a shaded band. On the Fisher z scale results are shown
back-transformed to r. The funnel plot shows effect size against standard error with the
pseudo confidence region around the pooled estimate (Sterne & Egger, 2001) and, when trim
and fill imputed studies, those as open circles.

References
----------
Sterne, J. A. C., & Egger, M. (2001). Funnel plots for detecting bias in meta-analysis:
Guidelines on choice of axis. Journal of Clinical Epidemiology, 54(10), 1046-1055.
https://doi.org/10.1016/S0895-4356(01)00377-8

Flückiger, C., Del Re, A. C., Wampold, B. E., & Horvath, A. O. (2018). The alliance in adult
psychotherapy: A meta-analytic synthesis. Psychotherapy, 55(4), 316-340.
https://doi.org/10.1037/pst0000172
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bordin.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bordin.analytics.meta_analysis import CorrelationMetaAnalysis

__all__ = ["forest_figure", "forest_plot", "funnel_figure", "funnel_plot"]

_BLUE = "#0072B2"  # Okabe-Ito
_ORANGE = "#E69F00"
_GREY = "#555555"


def _save(fig: Figure, path: Path | str) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise InputError(f"plot file must end in .svg or .png, not {out.suffix!r}", file=str(out))
    FigureCanvasAgg(fig)
    if suffix == ".svg":
        from matplotlib import rc_context

        # Text as paths (the default, made explicit): the SVG needs no font from anywhere.
        with rc_context({"svg.fonttype": "path"}):
            fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None, "Format": None})
    else:
        fig.savefig(out, format="png", dpi=110)
    return out


def _side_text(
    ax: Axes, side: float, row: float, text: str, size: float, *, bold: bool = False
) -> None:
    """Text left (side 0) or right (side 1) of the plotting area, at a study's row."""
    ax.annotate(
        text,
        (side, row),
        xycoords=("axes fraction", "data"),
        xytext=(-6 if side == 0 else 6, 0),
        textcoords="offset points",
        ha="right" if side == 0 else "left",
        va="center",
        fontsize=size,
        fontweight="bold" if bold else "normal",
    )


# What the forest plot's axis shows for each measure (ZCOR is back-transformed to r).
_SCALES = {
    "ZCOR": ("r", "correlation r"),
    "COR": ("r", "correlation r"),
    "SMD": ("g", "standardised mean difference (Hedges' g)"),
    "MD": ("MD", "mean difference"),
    "ROM": ("log ROM", "log ratio of means"),
    "RR": ("log RR", "log risk ratio"),
    "OR": ("log OR", "log odds ratio"),
    "GEN": ("yi", "effect"),
}


def _scale_name(analysis: CorrelationMetaAnalysis, *, short: bool) -> str:
    names = _SCALES.get(analysis.effect_sizes.measure, ("yi", "effect"))
    return names[0] if short else names[1]


def forest_figure(
    analysis: CorrelationMetaAnalysis, *, show_benchmark: bool = False, label_header: str = "study"
) -> Figure:
    """Build the forest plot (see the module docstring) as a matplotlib Figure.

    ``label_header`` heads the column of labels (e.g. ``therapist_id`` for clinic data).
    """
    from matplotlib.figure import Figure

    es = analysis.effect_sizes
    m = analysis.model
    k = es.k
    from scipy import stats

    crit = float(stats.norm.isf((1 - m.level) / 2))
    half = crit * np.sqrt(es.vi)
    lo, hi = es.yi - half, es.yi + half
    to_r = np.tanh if analysis.is_fisher_z else (lambda a: a)
    y_r, lo_r, hi_r = to_r(es.yi), to_r(lo), to_r(hi)
    row_h = 0.2 if k <= 40 else 0.14
    height = max(3.0, 1.6 + row_h * (k + 4))
    font = 9 if k <= 40 else (7 if k <= 120 else 5.5)
    fig = Figure(figsize=(9.0, height))
    ax = fig.add_axes((0.28, 0.8 / height, 0.47, 1 - 1.3 / height))
    rows = np.arange(k, 0, -1) + 2.0
    w = m.weights / np.max(m.weights)
    ax.hlines(rows, lo_r, hi_r, color=_GREY, linewidth=0.8)
    ax.scatter(y_r, rows, s=8 + 60 * w, marker="s", color=_BLUE, zorder=3)
    est = [to_r(np.array(v))[()] for v in (m.estimate, m.ci_low, m.ci_high)]
    ax.fill([est[1], est[0], est[2], est[0]], [1.0, 1.35, 1.0, 0.65], color="black", zorder=3)
    if m.pi_low is not None and m.pi_high is not None:
        pi = [to_r(np.array(v))[()] for v in (m.pi_low, m.pi_high)]
        ax.hlines(0.3, pi[0], pi[1], color="black", linewidth=2.0)
    if show_benchmark:
        from bordin.analytics.meta_analysis import FLUCKIGER_2018 as ref

        ax.axvspan(ref.ci_low, ref.ci_high, color=_ORANGE, alpha=0.25, linewidth=0)
        ax.axvline(ref.r, color=_ORANGE, linestyle="--", linewidth=1.0)
        ax.text(
            ref.r,
            k + 3.9,
            "Flückiger et al. (2018)",
            fontsize=font,
            ha="center",
            va="bottom",
            color="#8a5a00",
        )
    ax.axvline(0.0, color=_GREY, linewidth=0.6, linestyle=":")
    ax.set_ylim(-0.5, k + 3.6 + (1.2 if show_benchmark else 0.0))
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(_scale_name(analysis, short=False))
    ax.tick_params(labelsize=font + 1)
    kind = "FE" if m.method == "FE" else f"RE ({m.method})"
    pct = round(m.level * 100)
    for row, label, yv, lv, hv in zip(rows, es.labels, y_r, lo_r, hi_r, strict=True):
        _side_text(ax, 0, row, label, font)
        _side_text(ax, 1, row, f"{yv:.2f} [{lv:.2f}, {hv:.2f}]", font)
    head = k + 3.0
    _side_text(ax, 0, head, label_header, font, bold=True)
    _side_text(ax, 1, head, f"{_scale_name(analysis, short=True)} [{pct}% CI]", font, bold=True)
    _side_text(ax, 0, 1.0, f"{kind} model, k = {k}", font + 1, bold=True)
    _side_text(ax, 1, 1.0, f"{est[0]:.2f} [{est[1]:.2f}, {est[2]:.2f}]", font + 1, bold=True)
    if m.pi_low is not None:
        _side_text(ax, 0, 0.3, f"{pct}% prediction interval", font)
    ax.set_title(
        f"tau² = {m.tau2:.4f}, I² = {m.i2:.1f}%, Q({m.q_df}) = {m.q:.1f}, p = {m.q_p_value:.3g}",
        fontsize=font + 1,
    )
    return fig


def funnel_figure(analysis: CorrelationMetaAnalysis) -> Figure:
    """Build the funnel plot (see the module docstring) as a matplotlib Figure."""
    from matplotlib.figure import Figure
    from scipy import stats

    es = analysis.effect_sizes
    m = analysis.model
    sei = np.sqrt(es.vi)
    fig = Figure(figsize=(6.5, 5.0))
    ax = fig.add_subplot(1, 1, 1)
    crit = float(stats.norm.isf((1 - m.level) / 2))
    top = float(np.max(sei)) * 1.05
    se_grid = np.array([0.0, top])
    ax.fill_betweenx(
        se_grid,
        m.estimate - crit * se_grid,
        m.estimate + crit * se_grid,
        color="#dddddd",
        linewidth=0,
    )
    ax.axvline(m.estimate, color="black", linewidth=1.0)
    alpha = 0.9 if es.k <= 60 else 0.5
    size = 28 if es.k <= 60 else 12
    ax.scatter(
        es.yi, sei, s=size, color=_BLUE, alpha=alpha, edgecolors="none", label="studies", zorder=3
    )
    tf = analysis.trimfill
    if tf is not None and tf.k0 > 0:
        ax.scatter(
            tf.filled_yi,
            np.sqrt(tf.filled_vi),
            s=size,
            facecolors="none",
            edgecolors=_ORANGE,
            label=f"filled by trim and fill ({tf.k0})",
            zorder=3,
        )
        ax.axvline(tf.estimate, color=_ORANGE, linestyle="--", linewidth=1.0)
    ax.set_ylim(top, 0.0)
    ax.set_ylabel("standard error")
    ax.set_xlabel("Fisher z" if analysis.is_fisher_z else _scale_name(analysis, short=False))
    title = f"Funnel plot, k = {es.k}"
    if analysis.egger is not None:
        title += f"; Egger's test p = {analysis.egger.p_value:.3g}"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    return fig


def forest_plot(
    analysis: CorrelationMetaAnalysis,
    path: Path | str,
    *,
    show_benchmark: bool = False,
    label_header: str = "study",
) -> Path:
    """Write the forest plot to ``path`` (``.svg`` or ``.png``) and return the path.

    Raises
    ------
    InputError
        The file name does not end in .svg or .png.
    """
    figure = forest_figure(analysis, show_benchmark=show_benchmark, label_header=label_header)
    return _save(figure, path)


def funnel_plot(analysis: CorrelationMetaAnalysis, path: Path | str) -> Path:
    """Write the funnel plot to ``path`` (``.svg`` or ``.png``) and return the path.

    Raises
    ------
    InputError
        The file name does not end in .svg or .png.
    """
    return _save(funnel_figure(analysis), path)
