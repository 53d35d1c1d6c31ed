"""The lagged within/between model against lme4 (issue 5), on committed reference outputs."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.multilevel import LaggedModelResult, fit_lagged_model
from bordin.errors import BoundaryFitWarning
from support.tolerances import LMM_FIXED_RTOL, LMM_LOGLIK_ATOL, LMM_VARCOMP_RTOL

DATA = Path(__file__).parent / "data" / "panel"

SHARED = [
    ("panel_a", "panel_a_reml.json", True),
    ("panel_a", "panel_a_ml.json", False),
    ("panel_b_gaps", "panel_b_gaps_reml.json", True),
]


def _fit(csv: str, reml: bool, **options: Any) -> LaggedModelResult:
    frame = pd.read_csv(DATA / f"{csv}.csv")
    with warnings.catch_warnings():
        # Boundary fits are part of the references; the warning is tested separately.
        warnings.simplefilter("ignore", BoundaryFitWarning)
        return fit_lagged_model(frame, alliance="alliance", outcome="outcome", reml=reml, **options)


def _check(result: LaggedModelResult, ref: dict[str, Any]) -> None:
    assert result.n_obs == ref["n_obs"]
    assert result.n_clients == ref["n_clients"]
    assert result.reml is ref["reml"]
    assert list(result.fixed) == list(ref["fixed"])
    np.testing.assert_allclose(
        [result.fixed[t] for t in ref["fixed"]], list(ref["fixed"].values()), rtol=LMM_FIXED_RTOL
    )
    np.testing.assert_allclose(
        [result.se[t] for t in ref["se"]], list(ref["se"].values()), rtol=LMM_FIXED_RTOL
    )
    for key in ("sd_intercept", "sd_slope", "sd_residual", "sd_therapist"):
        if key in ref:
            # A variance at the boundary is exactly 0 in both.
            np.testing.assert_allclose(
                getattr(result, key), ref[key], rtol=LMM_VARCOMP_RTOL, atol=1e-8, err_msg=key
            )
    if "corr" in ref:
        if ref["corr"] is None or (isinstance(ref["corr"], str)):
            assert math.isnan(result.corr)
        else:
            # A correlation is bounded: compare on the absolute scale.
            np.testing.assert_allclose(result.corr, ref["corr"], atol=LMM_VARCOMP_RTOL)
    np.testing.assert_allclose(result.loglik, ref["loglik"], rtol=0, atol=LMM_LOGLIK_ATOL)


@pytest.mark.parametrize(("csv", "ref_file", "reml"), SHARED)
def test_matches_lme4_on_shared_references(csv: str, ref_file: str, reml: bool) -> None:
    ref = json.loads((DATA / ref_file).read_text(encoding="utf-8"))
    result = _fit(csv, reml)
    _check(result, ref)
    assert result.converged


def test_boundary_reference_reports_correlation_minus_one() -> None:
    frame = pd.read_csv(DATA / "panel_b_gaps.csv")
    with pytest.warns(BoundaryFitWarning):
        result = fit_lagged_model(frame, alliance="alliance", outcome="outcome")
    assert result.singular
    assert result.corr == -1.0
