"""The multilevel docstrings follow STYLE.md and cite reference files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bordin.analytics.multilevel import (
    fit_lagged_model,
    fit_lmm,
    infer_fixed_effects,
    predict_random_effects,
)

ROOT = Path(__file__).resolve().parents[3]
SECTIONS = ("Parameters", "Returns", "Raises", "Notes", "Validation", "References")


@pytest.mark.parametrize(
    "function", [fit_lagged_model, fit_lmm, infer_fixed_effects, predict_random_effects]
)
def test_sections_in_order_and_cited_files_exist(function: object) -> None:
    doc = function.__doc__ or ""
    positions = [doc.find(f"\n    {name}\n    ") for name in SECTIONS]
    assert all(p > 0 for p in positions), positions
    assert positions == sorted(positions)
    cited = re.findall(r"``(tests/[\w/.\-]+)``", doc)
    assert cited
    missing = [c for c in cited if not (ROOT / c).is_file()]
    assert missing == []
    assert "doi.org/10.18637/jss.v067.i01" in doc
