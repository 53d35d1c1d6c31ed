"""Invariances of the Satterthwaite df and the conditional modes (issue 20)."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bordin.analytics.multilevel import (
    MixedDesign,
    SatterthwaiteResult,
    fit_lmm,
    infer_fixed_effects_at,
    predict_random_effects,
)
from bordin.analytics.multilevel.fitting import MixedModelFit
from bordin.errors import BordinWarning, ConvergenceWarning

SETTINGS = settings(max_examples=10, deadline=None)


def _infer(d: MixedDesign, theta: np.ndarray, sigma: float) -> SatterthwaiteResult:
    """The Satterthwaite step, quiet about a boundary fit's Hessian.

    Where a seed fits on the boundary the numerical Hessian straddles the edge of the
    parameter space and may have a negative eigenvalue (lmerTest warns there too); the
    invariances below hold all the same, for the same Hessian on both sides.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="the Hessian of the deviance", category=ConvergenceWarning
        )
        return infer_fixed_effects_at(d, theta, sigma)


def _design(seed: int, slope: bool) -> MixedDesign:
    rng = np.random.default_rng(seed)
    n_clients = 25
    sizes = rng.integers(3, 9, n_clients)
    client = np.repeat(np.arange(n_clients), sizes).astype(np.intp)
    n = client.size
    w = rng.normal(size=n)
    x = np.column_stack([np.ones(n), w, rng.normal(size=n_clients)[client]])
    y = x @ [2.0, 0.5, -0.3] + rng.normal(size=n_clients)[client] + rng.normal(size=n)
    z = x[:, :2] if slope else x[:, :1]
    return MixedDesign(
        y=y,
        x=x,
        fixed_names=("(Intercept)", "w", "b"),
        z=z,
        z_names=("(Intercept)", "w")[: z.shape[1]],
        client=client,
        n_clients=n_clients,
    )


@SETTINGS
@given(seed=st.integers(0, 10_000), slope=st.booleans(), scale=st.floats(0.1, 10.0))
@example(seed=0, slope=True, scale=3.0)
def test_df_do_not_depend_on_the_units_of_the_response(
    seed: int, slope: bool, scale: float
) -> None:
    """y -> c y leaves theta and the df unchanged and scales sigma and the estimates by c."""
    d = _design(seed, slope)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BordinWarning)  # some seeds fit on the boundary
        fit = fit_lmm(d)
    a = _infer(d, fit.theta, fit.sigma)
    scaled = MixedDesign(**{**d.__dict__, "y": scale * d.y})
    b = _infer(scaled, fit.theta, fit.sigma * scale)
    # numDeriv's step is absolute (1e-4) for an element of theta within 1.8e-5 of 0 (a
    # boundary fit), where its second differences carry rounding of ~1e-6 relative (in
    # lmerTest as here); elsewhere the steps are relative and the df agree to rounding.
    np.testing.assert_allclose(b.df, a.df, rtol=1e-5)
    np.testing.assert_allclose(b.estimate, scale * a.estimate, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.statistic, a.statistic, rtol=1e-9, atol=1e-12)


def _fit_at(d: MixedDesign, theta: np.ndarray, sigma: float) -> MixedModelFit:
    p = d.x.shape[1]
    q = d.z.shape[1]
    return MixedModelFit(
        fixed_names=d.fixed_names,
        beta=np.zeros(p),
        vcov=np.eye(p),
        theta=theta,
        sigma=sigma,
        client_cov=np.eye(q),
        sd_therapist=None,
        deviance=0.0,
        loglik=0.0,
        reml=True,
        n_obs=d.y.size,
        n_clients=d.n_clients,
        n_therapists=0,
        converged=True,
        singular=False,
        n_evaluations=0,
    )


@SETTINGS
@given(seed=st.integers(0, 10_000), slope=st.booleans(), shuffle=st.integers(0, 10_000))
def test_client_codes_and_row_order_do_not_matter(seed: int, slope: bool, shuffle: int) -> None:
    d = _design(seed, slope)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BordinWarning)  # some seeds fit on the boundary
        fit = fit_lmm(d)
    theta, sigma = fit.theta, fit.sigma
    rng = np.random.default_rng(shuffle)
    rows = rng.permutation(d.y.size)
    relabel = rng.permutation(d.n_clients)
    moved = MixedDesign(
        **{
            **d.__dict__,
            "y": d.y[rows],
            "x": d.x[rows],
            "z": d.z[rows],
            "client": relabel[d.client[rows]].astype(np.intp),
        }
    )
    a = _infer(d, theta, sigma)
    b = _infer(moved, theta, sigma)
    np.testing.assert_allclose(b.df, a.df, rtol=1e-5)  # as above at a boundary
    ra = predict_random_effects(d, _fit_at(d, theta, sigma))
    rb = predict_random_effects(moved, _fit_at(moved, theta, sigma))
    np.testing.assert_allclose(rb.client_modes[relabel], ra.client_modes, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(
        rb.client_cond_var[relabel], ra.client_cond_var, rtol=1e-8, atol=1e-12
    )
