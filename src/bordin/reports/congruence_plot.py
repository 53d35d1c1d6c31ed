"""The response-surface figure of the report's congruence section (matplotlib, inline SVG).

Left: the fitted surface as filled contours over the range of the clients' ratings, with the
clients as dots, the line of agreement (x = y) and the line of disagreement (x = -y through
the centre). Right: the fitted change along those two lines, which is what a1-a4 describe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bordin.reports.report_plots import BLUE, GREY, VERMILLION, _figure, _style

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bordin.analytics.congruence import CongruenceResult

__all__ = ["congruence_figure"]


def _predict(coef: np.ndarray, xc: np.ndarray, yc: np.ndarray) -> np.ndarray:
    b0, b1, b2, b3, b4, b5 = coef
    return b0 + b1 * xc + b2 * yc + b3 * xc**2 + b4 * xc * yc + b5 * yc**2


def congruence_figure(res: CongruenceResult) -> Figure:
    """Filled contours of the fitted surface and the fitted change along x = y and x = -y."""
    s = res.surface
    coef = np.array([t.estimate for t in s.coefficients])
    data = res.clients[["client_total", "therapist_total", "change"]].dropna()
    x = data["client_total"].to_numpy(dtype=np.float64)
    y = data["therapist_total"].to_numpy(dtype=np.float64)
    lo = float(min(x.min(), y.min()))
    hi = float(max(x.max(), y.max()))
    pad = 0.05 * (hi - lo) if hi > lo else 0.5
    lo, hi = lo - pad, hi + pad
    grid = np.linspace(lo, hi, 60)
    gx, gy = np.meshgrid(grid, grid)
    z = _predict(coef, gx - s.center, gy - s.center)

    fig = _figure(6.8, 3.2)
    ax, ax2 = fig.subplots(1, 2, width_ratios=(1.15, 1))
    filled = ax.contourf(gx, gy, z, levels=12, cmap="cividis")
    bar = fig.colorbar(filled, ax=ax, shrink=0.9)
    bar.set_label(f"fitted change in {res.outcome}", fontsize=8)
    bar.ax.tick_params(labelsize=8)
    ax.scatter(x, y, s=6, color="white", edgecolors=GREY, linewidths=0.3, alpha=0.8)
    ax.plot([lo, hi], [lo, hi], color=VERMILLION, lw=1.5, label="agreement x = y")
    c = s.center
    ax.plot(
        [lo, hi], [2 * c - lo, 2 * c - hi], color=BLUE, lw=1.5, ls="--", label="disagreement x = -y"
    )
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel(f"client's mean {res.client}_total (x)", fontsize=9)
    ax.set_ylabel(f"therapist's mean {res.therapist}_total (y)", fontsize=9)
    ax.legend(fontsize=7, frameon=True, loc="lower right")
    ax.tick_params(labelsize=8)

    # Each curve over the clients' own range along its line (no extrapolation).
    for proj, sign, colour, style, label in (
        ((x + y) / 2 - c, 1.0, VERMILLION, "-", "along x = y (a1, a2)"),
        ((x - y) / 2, -1.0, BLUE, "--", "along x = -y (a3, a4)"),
    ):
        u = np.linspace(float(proj.min()), float(proj.max()), 80)
        ax2.plot(u, _predict(coef, u, sign * u), color=colour, lw=2, ls=style, label=label)
    ax2.axvline(0, color=GREY, lw=0.8, ls=":")
    ax2.set_xlabel(
        f"position from the centre ({c:.2f}, {c:.2f});\non x = -y, right: client rates higher",
        fontsize=8,
    )
    ax2.set_ylabel(f"fitted change in {res.outcome}", fontsize=9)
    ax2.legend(fontsize=7, frameon=False, loc="best")
    _style(ax2)
    fig.set_label("Response surface of outcome change over client and therapist alliance")
    return fig
