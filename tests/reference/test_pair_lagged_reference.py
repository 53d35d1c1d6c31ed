"""The lagged model with the client's and the therapist's rating against lme4 and lmerTest.

Reference: ``tests/reference/data/lmertest/pair_lagged.json``, made by
``tests/reference/r/make_pair_lagged.R`` from ``pair_lagged.csv`` (a simulated clinic's
pair frame, ``make_pair_lagged_data.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from bordin.analytics.multilevel import fit_lagged_model
from support.tolerances import CLOSED_FORM_RTOL, LMM_FIXED_RTOL, LMM_LOGLIK_ATOL

DATA = Path(__file__).parent / "data" / "lmertest"
NAMES = {"client_total_within": "alliance_within", "client_total_between": "alliance_between"}


def test_two_ratings_as_lme4_and_lmertest() -> None:
    ref = json.loads((DATA / "pair_lagged.json").read_text(encoding="utf-8"))
    frame = pd.read_csv(DATA / "pair_lagged.csv", dtype={"client_id": str})
    res = fit_lagged_model(
        frame, alliance="client_total", outcome="outcome", predictors=("therapist_total",)
    )
    assert not ref["singular"] and not res.singular
    assert list(res.terms) == [NAMES.get(t, t) for t in ref["terms"]]
    assert (res.n_obs, res.n_clients) == (ref["n_obs"], ref["n_clients"])
    se = np.asarray(ref["se"])
    got = np.array([res.fixed[t] for t in res.terms])
    assert np.all(np.abs(got - ref["estimate"]) <= LMM_FIXED_RTOL * (np.abs(ref["estimate"]) + se))
    np.testing.assert_allclose([res.se[t] for t in res.terms], se, rtol=LMM_FIXED_RTOL)
    np.testing.assert_allclose([res.df[t] for t in res.terms], ref["df"], rtol=LMM_FIXED_RTOL)
    t_values = np.array([res.statistic[t] for t in res.terms])
    df = np.array([res.df[t] for t in res.terms])
    p = np.array([res.p_value[t] for t in res.terms])
    np.testing.assert_allclose(p, 2.0 * stats.t.sf(np.abs(t_values), df), rtol=CLOSED_FORM_RTOL)
    # against R's p: the optimisers' differences in t and df are amplified in the tail
    big = np.asarray(ref["p_value"]) > 1e-12
    np.testing.assert_allclose(p[big], np.asarray(ref["p_value"])[big], rtol=1e-3)
    np.testing.assert_allclose(res.loglik, ref["loglik"], atol=LMM_LOGLIK_ATOL)
