"""Two-group effect sizes against metafor 3.8.1's ``escalc`` (issue 20).

Reads ``tests/reference/data/meta/escalc/<case>.{csv,json}`` made by
``tests/reference/r/make_meta_escalc.R``; never needs R. Rows where escalc gives NA (a
missing value) must be exactly the rows Bordin drops.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.meta_analysis import compute_group_effect_sizes, random_effects_meta
from support.tolerances import CLOSED_FORM_RTOL, ITERATIVE_RTOL

DATA = Path(__file__).parent / "data" / "meta" / "escalc"
CASES = [
    (path.stem, measure)
    for path in sorted(DATA.glob("*.json"))
    for measure in json.loads(path.read_text())
    if measure != "provenance"
]


@pytest.mark.parametrize(("case", "measure"), CASES, ids=[f"{c}:{m}" for c, m in CASES])
def test_matches_escalc(case: str, measure: str) -> None:
    data = pd.read_csv(DATA / f"{case}.csv", dtype=str, keep_default_na=False)
    want = json.loads((DATA / f"{case}.json").read_text())[measure]
    es = compute_group_effect_sizes(data, measure=measure, first_row=1)  # type: ignore[arg-type]
    # escalc gives yi without vi when only an SD is missing (MD, ROM); rma omits the study
    # either way, and Bordin drops it.
    pairs = list(zip(want["yi"], want["vi"], strict=True))
    missing = [i + 1 for i, (y, v) in enumerate(pairs) if y is None or v is None]
    assert list(es.dropped_rows) == missing
    kept_y = [y for y, v in pairs if y is not None and v is not None]
    kept_v = [v for y, v in pairs if y is not None and v is not None]
    np.testing.assert_allclose(es.yi, kept_y, rtol=CLOSED_FORM_RTOL, atol=1e-15, err_msg="yi")
    np.testing.assert_allclose(es.vi, kept_v, rtol=CLOSED_FORM_RTOL, err_msg="vi")
    # The pooled REML model of these effect sizes, as rma(yi, vi) omits the NA rows.
    model = random_effects_meta(es.yi, es.vi, method="REML")
    rma = want["rma"]
    assert model.k == rma["k"]
    for ours, theirs in (
        (model.estimate, "estimate"),
        (model.se, "se"),
        (model.tau2, "tau2"),
        (model.ci_low, "ci.lb"),
        (model.ci_high, "ci.ub"),
        (model.pi_low, "pi.lb"),
        (model.pi_high, "pi.ub"),
    ):
        np.testing.assert_allclose(
            ours, rma[theirs], rtol=ITERATIVE_RTOL, atol=1e-13, err_msg=theirs
        )


def test_cases_cover_every_measure_and_zero_cells() -> None:
    assert {m for _, m in CASES} == {"SMD", "MD", "ROM", "RR", "OR"}
    assert len({c for c, _ in CASES}) >= 10
    zeros = compute_group_effect_sizes(
        pd.read_csv(DATA / "nielweise2007.csv"), measure="OR"
    ).n_corrected
    assert zeros > 0


def test_provenance_blocks_name_versions() -> None:
    root = Path(__file__).parent.parent.parent
    for path in sorted(DATA.glob("*.json")):
        prov = json.loads(path.read_text())["provenance"]
        assert prov["metafor"] == "3.8.1"
        assert prov["R"].startswith("R version 4.2.2")
        assert (root / prov["script"]).is_file()
