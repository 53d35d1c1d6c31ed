"""Forest and funnel plots (SVG and PNG), readable for 300 studies (issue 4)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bordin.analytics.meta_analysis import CorrelationMetaAnalysis, analyse_correlations
from bordin.errors import InputError
from bordin.reports.meta_plots import forest_figure, forest_plot, funnel_plot


def _analysis(k: int, seed: int = 3) -> CorrelationMetaAnalysis:
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 400, size=k)
    z = rng.normal(0.28, 0.1, size=k) + rng.normal(0, 1, size=k) / np.sqrt(n - 3)
    return analyse_correlations(np.tanh(z), n, labels=[f"Study {i + 1}" for i in range(k)])


def test_svg_and_png_are_written_without_external_references(tmp_path: Path) -> None:
    analysis = _analysis(12)
    for name in ("forest.svg", "forest.png", "funnel.svg", "funnel.png"):
        path = tmp_path / name
        plot = forest_plot if name.startswith("forest") else funnel_plot
        plot(analysis, path)
        data = path.read_bytes()
        assert len(data) > 1000
        if name.endswith(".svg"):
            text = data.decode()
            assert text.lstrip().startswith("<?xml") and "<svg" in text
            # Nothing is fetched: no scripts, stylesheets or links other than to the file's
            # own elements (namespace URIs are identifiers, not requests).
            assert "<script" not in text and "@import" not in text and "url(http" not in text
            for ref in re.findall(r'href="([^"]*)"', text):
                assert ref.startswith("#"), ref
        else:
            assert data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_forest_plot_grows_with_300_studies(tmp_path: Path) -> None:
    small = forest_figure(_analysis(10))
    big = _analysis(300)
    large = forest_figure(big)
    assert large.get_figheight() > 10 * small.get_figheight() / 3
    # each study keeps at least ~0.14 inch (10 points) of height
    assert large.get_figheight() / 300 >= 0.14
    forest_plot(big, tmp_path / "big.svg")
    assert (tmp_path / "big.svg").stat().st_size > 100_000


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.svg or \.png"):
        forest_plot(_analysis(5), tmp_path / "plot.pdf")
