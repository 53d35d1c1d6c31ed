"""Response surface analysis against R lm + the RSA formulas (issue 18), closed form 1e-9.

References made by tests/reference/r/make_response_surface.R on the committed simulated
data sets tests/reference/data/response_surface/congruence_{a,b}.csv.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.response_surface import fit_response_surface
from support.tolerances import CLOSED_FORM_RTOL

DATA = Path(__file__).parent / "data" / "response_surface"
CASES: list[dict[str, Any]] = json.loads(
    (DATA / "response_surface_cases.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['data']}-{c['center']}-{c['cov_type']}" for c in CASES]
)
def test_matches_lm_and_rsa_formulas(case: dict[str, Any]) -> None:
    frame = pd.read_csv(DATA / case["data"])
    res = fit_response_surface(
        frame,
        x="client_bond",
        y="therapist_bond",
        outcome="outcome",
        center="pooled" if case["center"] else None,
        cov_type=case["cov_type"],
        level=case["level"],
    )
    assert res.n == case["n"] and res.df_resid == case["df_resid"]
    np.testing.assert_allclose(res.center, case["center_value"], rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(res.r_squared, case["r_squared"], rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(
        [t.estimate for t in res.coefficients], case["coef"], rtol=CLOSED_FORM_RTOL
    )
    np.testing.assert_allclose([t.se for t in res.coefficients], case["coef_se"], rtol=1e-9)
    np.testing.assert_allclose(res.vcov, np.asarray(case["vcov"]), rtol=CLOSED_FORM_RTOL)
    surf = case["surface"]
    assert [t.term for t in res.surface] == surf["terms"]
    for key in ("estimate", "se", "statistic", "p_value", "ci_low", "ci_high"):
        np.testing.assert_allclose(
            [getattr(t, key) for t in res.surface], surf[key], rtol=CLOSED_FORM_RTOL, err_msg=key
        )
