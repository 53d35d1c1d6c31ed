"""Moderation and OLS robust covariances against R's lm and sandwich (closed forms, 1e-9).

The references were made by tests/reference/r/make_report_references.R from mtcars, which is
copied to tests/reference/data/report/mtcars.csv.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bordin.analytics._ols import fit_ols
from bordin.analytics.moderation import fit_moderation
from support.tolerances import CLOSED_FORM_RTOL

DATA = Path(__file__).parent / "data" / "report"


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cars() -> pd.DataFrame:
    return pd.read_csv(DATA / "mtcars.csv")


@pytest.mark.parametrize("cov_type", ["classic", "HC3"])
def test_moderation_matches_lm(cars: pd.DataFrame, cov_type: str) -> None:
    ref = _load("moderation_mtcars.json")
    exp = ref[cov_type]
    res = fit_moderation(
        cars,
        outcome="mpg",
        predictor="hp",
        moderator="wt",
        cov_type=cov_type,  # type: ignore[arg-type]
        at=(4.5,),
    )
    assert res.n == ref["n"] and res.df_resid == ref["df_resid"]
    np.testing.assert_allclose(res.r_squared, ref["r_squared"], rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(res.moderator_mean, ref["moderator_mean"], rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(res.moderator_sd, ref["moderator_sd"], rtol=CLOSED_FORM_RTOL)
    assert [t.term for t in res.coefficients] == [c["term"] for c in exp["coefficients"]]
    for got, want in zip(res.coefficients, exp["coefficients"], strict=True):
        for key in ("estimate", "se", "ci_low", "ci_high", "statistic", "p_value"):
            np.testing.assert_allclose(getattr(got, key), want[key], rtol=CLOSED_FORM_RTOL)
    assert len(res.simple_slopes) == len(exp["simple_slopes"]) == 4
    for got_s, want_s in zip(res.simple_slopes, exp["simple_slopes"], strict=True):
        np.testing.assert_allclose(
            got_s.moderator_value, want_s["moderator_value"], rtol=CLOSED_FORM_RTOL
        )
        for key in ("estimate", "se", "ci_low", "ci_high", "statistic", "p_value"):
            np.testing.assert_allclose(
                getattr(got_s.slope, key), want_s[key], rtol=CLOSED_FORM_RTOL
            )
    jn = res.johnson_neyman
    assert jn.kind == exp["johnson_neyman"]["kind"]
    np.testing.assert_allclose(jn.lower, exp["johnson_neyman"]["lower"], rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(jn.upper, exp["johnson_neyman"]["upper"], rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(
        jn.critical_value, exp["johnson_neyman"]["critical_value"], rtol=CLOSED_FORM_RTOL
    )


def test_published_johnson_neyman_interval(cars: pd.DataFrame) -> None:
    # The worked case quoted in the issue: hp's slope over wt is significant outside
    # [3.69, 5.90] (classical lm standard errors).
    jn = fit_moderation(cars, outcome="mpg", predictor="hp", moderator="wt").johnson_neyman
    assert jn.kind == "outside"
    assert round(jn.lower, 2) == 3.69 and round(jn.upper, 2) == 5.90


@pytest.mark.parametrize("cov_type", ["classic", "HC0", "HC1", "HC2", "HC3"])
def test_ols_covariances_match_sandwich(cars: pd.DataFrame, cov_type: str) -> None:
    ref = _load("ols_hc_mtcars.json")
    x = np.column_stack([np.ones(len(cars)), cars["hp"], cars["wt"], cars["qsec"]])
    fit = fit_ols(x, cars["mpg"].to_numpy(), ref["terms"], cov_type=cov_type)  # type: ignore[arg-type]
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(fit.cov, np.array(ref[cov_type]), rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(fit.sigma, ref["sigma"], rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(fit.r_squared, ref["r_squared"], rtol=CLOSED_FORM_RTOL)


PANEL = _load("moderation_panel.json")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(DATA / "moderation_panel.csv")


def test_fixed_effects_moderation_matches_lm_with_client_dummies(panel: pd.DataFrame) -> None:
    exp = PANEL["fixed_effects"]
    for cov_type, key in (("classic", "classic"), ("CR1", "CR1")):
        res = fit_moderation(
            panel,
            outcome="outcome",
            predictor="adherence",
            moderator="alliance",
            covariates=("session",),
            absorb="client_id",
            cluster="client_id" if cov_type == "CR1" else None,
            cov_type=cov_type,  # type: ignore[arg-type]
        )
        assert [t.term for t in res.coefficients] == exp["terms"]
        assert res.df_resid == exp["df_resid"]
        np.testing.assert_allclose(
            [t.estimate for t in res.coefficients], exp["coef"], rtol=CLOSED_FORM_RTOL
        )
        np.testing.assert_allclose(
            [t.se for t in res.coefficients],
            np.sqrt(np.diag(np.array(exp[key]))),
            rtol=CLOSED_FORM_RTOL,
        )
        v = np.array(exp[key])
        np.testing.assert_allclose(res.slope_interaction_cov, v[0, 3], rtol=CLOSED_FORM_RTOL)


def test_pooled_cluster_robust_matches_vcovcl(panel: pd.DataFrame) -> None:
    exp = PANEL["pooled"]
    res = fit_moderation(
        panel,
        outcome="outcome",
        predictor="adherence",
        moderator="alliance",
        covariates=("session",),
        cluster="client_id",
        cov_type="CR1",
    )
    assert [t.term for t in res.coefficients] == exp["terms"]
    np.testing.assert_allclose(
        [t.estimate for t in res.coefficients], exp["coef"], rtol=CLOSED_FORM_RTOL
    )
    np.testing.assert_allclose(
        [t.se for t in res.coefficients],
        np.sqrt(np.diag(np.array(exp["CR1"]))),
        rtol=CLOSED_FORM_RTOL,
    )
