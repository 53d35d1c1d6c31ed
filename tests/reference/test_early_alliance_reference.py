"""Early-alliance models against R: lm + sandwich HC3 (1e-9) and lme4 random intercept.

Reference made by tests/reference/r/make_report_references.R (simulated per-client table
tests/reference/data/report/early_alliance_clients.csv).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bordin.analytics._lmm_ri import fit_random_intercept
from bordin.analytics.early_alliance import fit_early_alliance_clients
from support.tolerances import CLOSED_FORM_RTOL, LMM_FIXED_RTOL, LMM_LOGLIK_ATOL, LMM_VARCOMP_RTOL

DATA = Path(__file__).parent / "data" / "report"
REF = json.loads((DATA / "early_alliance_lmm.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def clients() -> pd.DataFrame:
    return pd.read_csv(DATA / "early_alliance_clients.csv")


def test_ols_hc3_matches_lm_sandwich(clients: pd.DataFrame) -> None:
    res = fit_early_alliance_clients(clients, mixed=False)
    assert [t.term for t in res.ols] == REF["ols"]["terms"]
    se = np.sqrt(np.diag(np.array(REF["ols"]["HC3"])))
    np.testing.assert_allclose(
        [t.estimate for t in res.ols], REF["ols"]["coef"], rtol=CLOSED_FORM_RTOL
    )
    np.testing.assert_allclose([t.se for t in res.ols], se, rtol=CLOSED_FORM_RTOL)
    assert res.n == REF["n"] and res.mixed == ()


@pytest.mark.parametrize("key", ["reml", "ml"])
def test_random_intercept_matches_lmer(clients: pd.DataFrame, key: str) -> None:
    exp = REF[key]
    x = np.column_stack([np.ones(len(clients)), clients["early_alliance"], clients["intake"]])
    fit = fit_random_intercept(
        x,
        clients["change"].to_numpy(),
        clients["therapist_id"].to_numpy(),
        exp["terms"],
        reml=key == "reml",
    )
    assert fit.n_groups == REF["n_groups"]
    np.testing.assert_allclose(fit.coef, exp["coef"], rtol=LMM_FIXED_RTOL)
    np.testing.assert_allclose(fit.cov, np.array(exp["vcov"]), rtol=LMM_VARCOMP_RTOL)
    np.testing.assert_allclose(fit.theta, exp["theta"], rtol=LMM_VARCOMP_RTOL)
    np.testing.assert_allclose(fit.tau2, exp["tau2"], rtol=LMM_VARCOMP_RTOL)
    np.testing.assert_allclose(fit.sigma2, exp["sigma2"], rtol=LMM_VARCOMP_RTOL)
    np.testing.assert_allclose(fit.deviance, exp["deviance"], atol=LMM_LOGLIK_ATOL)


def test_mixed_rows_of_the_result_are_the_reml_fit(clients: pd.DataFrame) -> None:
    res = fit_early_alliance_clients(clients)
    exp = REF["reml"]
    np.testing.assert_allclose([t.estimate for t in res.mixed], exp["coef"], rtol=LMM_FIXED_RTOL)
    np.testing.assert_allclose(
        [t.se for t in res.mixed], np.sqrt(np.diag(np.array(exp["vcov"]))), rtol=LMM_VARCOMP_RTOL
    )
    np.testing.assert_allclose(res.therapist_variance, exp["tau2"], rtol=LMM_VARCOMP_RTOL)
    frame = res.to_frame()
    assert set(frame["group"]) == {"ols", "mixed"}
