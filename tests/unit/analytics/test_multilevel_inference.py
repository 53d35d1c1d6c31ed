"""Satterthwaite inference and conditional modes: input checks and invariants (issue 20)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bordin.analytics.multilevel import (
    MixedDesign,
    fit_lmm,
    infer_fixed_effects,
    infer_fixed_effects_at,
    predict_random_effects,
)
from bordin.errors import InputError


def _design(seed: int = 4, clients: int = 40, per: int = 6) -> MixedDesign:
    rng = np.random.default_rng(seed)
    client = np.repeat(np.arange(clients), per)
    n = client.size
    w = rng.normal(size=n)
    b = rng.normal(size=clients)[client]
    x = np.column_stack([np.ones(n), w, b])
    y = x @ [1.0, -0.4, 0.3] + rng.normal(size=clients)[client] + rng.normal(size=n)
    return MixedDesign(
        y=y,
        x=x,
        fixed_names=("(Intercept)", "w", "b"),
        z=np.ones((n, 1)),
        z_names=("(Intercept)",),
        client=client.astype(np.intp),
        n_clients=clients,
    )


def test_within_and_between_df_and_contrast() -> None:
    design = _design()
    res = infer_fixed_effects(design, fit_lmm(design))
    # A within-client predictor has df near n - clients, a client-level one near clients.
    assert res.df[1] > 150
    assert 25 < res.df[2] < 60
    np.testing.assert_allclose(res.p_value, 2 * stats.t.sf(np.abs(res.statistic), res.df))
    one = res.contrast({"w": 1.0})
    assert one["df"] == pytest.approx(res.df[1], rel=1e-12)
    assert one["p_value"] == pytest.approx(res.p_value[1], rel=1e-12)
    assert (one["ci_low"], one["ci_high"]) == pytest.approx(res.confint("w"), rel=1e-12)
    frame = res.to_frame()
    assert list(frame["term"]) == ["(Intercept)", "w", "b"]
    assert "Satterthwaite" in res.summary()
    with pytest.raises(InputError, match="unknown fixed-effect"):
        res.contrast({"nope": 1.0})


def test_bad_parameters_are_refused() -> None:
    design = _design()
    with pytest.raises(InputError, match="theta must hold 1"):
        infer_fixed_effects_at(design, np.array([0.5, 0.1]), 1.0)
    with pytest.raises(InputError, match="sigma"):
        infer_fixed_effects_at(design, np.array([0.5]), 0.0)
    with pytest.raises(InputError, match="client_labels"):
        predict_random_effects(design, fit_lmm(design), client_labels=["a"])


def test_modes_shrink_client_means_towards_zero() -> None:
    design = _design(seed=8)
    fit = fit_lmm(design)
    re = predict_random_effects(design, fit)
    resid = design.y - design.x @ fit.beta
    raw = np.bincount(design.client, weights=resid) / np.bincount(design.client)
    # Random intercept only: mode = raw mean residual times n tau2 / (n tau2 + sigma2).
    tau2 = fit.client_cov[0, 0]
    shrink = 6 * tau2 / (6 * tau2 + fit.sigma**2)
    np.testing.assert_allclose(re.client_modes[:, 0], shrink * raw, rtol=1e-9)
    np.testing.assert_allclose(
        re.client_cond_var[:, 0, 0], tau2 * fit.sigma**2 / (6 * tau2 + fit.sigma**2), rtol=1e-9
    )
    table = re.to_frame()
    assert list(table.columns) == ["group", "id", "term", "estimate", "se"]
    assert len(table) == 40
