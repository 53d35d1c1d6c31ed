"""The profiled (RE)ML deviance against a dense, direct computation of the likelihood."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from bordin.analytics.multilevel import MixedDesign, fit_lmm
from bordin.analytics.multilevel._deviance import compute_stats, solve_pls
from bordin.errors import BoundaryFitWarning, InputError


def _design(
    seed: int, *, n_clients: int = 30, q: int = 2, therapists: int = 0, crossed: bool = False
) -> MixedDesign:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 9, n_clients)
    client = np.repeat(np.arange(n_clients), sizes)
    n = client.size
    w = rng.normal(0, 1, n)
    x = np.column_stack([np.ones(n), rng.normal(10, 3, n), w, rng.normal(5, 1, n_clients)[client]])
    b0 = rng.normal(0, 1.0, n_clients)[client]
    b1 = rng.normal(0, 0.5, n_clients)[client]
    therapist = None
    if therapists:
        therapist = rng.integers(0, therapists, n_clients)[client]
        if crossed:
            switch = rng.random(n) < 0.2
            therapist = np.where(switch, (therapist + 1) % therapists, therapist)
        therapist = therapist.astype(np.intp)
    y = x @ np.array([2.0, 0.5, -1.0, 0.3]) + b0 + b1 * w + rng.normal(0, 1, n)
    if therapist is not None:
        y += rng.normal(0, 0.7, therapists)[therapist]
    z = np.column_stack([np.ones(n), w]) if q == 2 else np.ones((n, 1))
    return MixedDesign(
        y=y,
        x=x,
        fixed_names=("(Intercept)", "outcome", "alliance_within", "alliance_between"),
        z=z,
        z_names=("(Intercept)", "alliance_within")[:q],
        client=client.astype(np.intp),
        n_clients=n_clients,
        therapist=therapist,
        n_therapists=therapists,
    )


def _dense_deviance(d: MixedDesign, theta: np.ndarray, reml: bool) -> tuple[float, np.ndarray]:
    """-2 profiled log-likelihood from V0 = Z Lambda Lambda' Z' + I, the textbook way."""
    n, p = d.x.shape
    q = d.z.shape[1]
    blocks = []
    t = np.array([[theta[0]]]) if q == 1 else np.array([[theta[0], 0], [theta[1], theta[2]]])
    zc = np.zeros((n, d.n_clients * q))
    for j in range(q):
        zc[np.arange(n), d.client * q + j] = d.z[:, j]
    lam = np.kron(np.eye(d.n_clients), t)
    blocks.append(zc @ lam)
    if d.therapist is not None:
        zt = np.zeros((n, d.n_therapists))
        zt[np.arange(n), d.therapist] = theta[-1]
        blocks.append(zt)
    zl = np.hstack(blocks)
    v0 = zl @ zl.T + np.eye(n)
    vinv = np.linalg.inv(v0)
    xtv = d.x.T @ vinv
    beta = np.linalg.solve(xtv @ d.x, xtv @ d.y)
    r = d.y - d.x @ beta
    rss = float(r @ vinv @ r)
    logdet_v = np.linalg.slogdet(v0)[1]
    if reml:
        dof = n - p
        dev = logdet_v + np.linalg.slogdet(xtv @ d.x)[1] + dof * (1 + np.log(2 * np.pi * rss / dof))
    else:
        dev = logdet_v + n * (1 + np.log(2 * np.pi * rss / n))
    return float(dev), beta


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize(
    ("q", "therapists", "crossed", "theta"),
    [
        (2, 0, False, [0.7, -0.2, 0.4]),
        (2, 0, False, [0.0, 0.3, 0.0]),
        (1, 0, False, [0.9]),
        (2, 4, False, [0.6, 0.1, 0.3, 0.5]),
        (2, 4, True, [0.6, 0.1, 0.3, 0.5]),
        (1, 5, True, [0.8, 0.2]),
    ],
)
def test_pls_deviance_equals_dense_likelihood(
    q: int, therapists: int, crossed: bool, theta: list[float], reml: bool
) -> None:
    d = _design(3, q=q, therapists=therapists, crossed=crossed)
    stats = compute_stats(d.y, d.x, d.z, d.client, d.n_clients, d.therapist, d.n_therapists)
    assert stats.nested is not crossed
    sol = solve_pls(stats, np.array(theta), reml=reml)
    dev, beta = _dense_deviance(d, np.array(theta), reml)
    np.testing.assert_allclose(sol.deviance, dev, rtol=1e-10)
    np.testing.assert_allclose(sol.beta, beta, rtol=1e-8)


def test_fit_minimises_the_dense_deviance() -> None:
    d = _design(11, n_clients=25, therapists=4)
    fit = fit_lmm(d, reml=True)
    assert fit.converged
    base, _ = _dense_deviance(d, fit.theta, True)
    np.testing.assert_allclose(fit.deviance, base, rtol=1e-10)
    rng = np.random.default_rng(0)
    for _ in range(6):
        moved = np.maximum(fit.theta + rng.normal(0, 0.02, fit.theta.size), [0, -np.inf, 0, 0])
        assert _dense_deviance(d, moved, True)[0] >= base - 1e-9


def test_vcov_is_sigma2_times_inverse_schur_and_loglik_is_half_deviance() -> None:
    d = _design(5)
    fit = fit_lmm(d, reml=False)
    stats = compute_stats(d.y, d.x, d.z, d.client, d.n_clients, None, 0)
    sol = solve_pls(stats, fit.theta, reml=False)
    np.testing.assert_allclose(fit.vcov, fit.sigma**2 * np.linalg.inv(sol.schur), rtol=1e-12)
    np.testing.assert_allclose(fit.sigma**2, sol.pwrss / d.x.shape[0], rtol=1e-12)
    assert fit.loglik == pytest.approx(-fit.deviance / 2, rel=1e-15)


def test_zero_variance_is_reported_as_boundary_fit() -> None:
    rng = np.random.default_rng(8)
    n_clients = 60
    client = np.repeat(np.arange(n_clients), 6)
    n = client.size
    x = np.column_stack([np.ones(n), rng.normal(0, 1, n)])
    y = x @ np.array([1.0, 2.0]) + rng.normal(0, 1, n)  # no client variance at all
    d = MixedDesign(
        y=y,
        x=x,
        fixed_names=("(Intercept)", "x"),
        z=np.column_stack([np.ones(n), x[:, 1]]),
        z_names=("(Intercept)", "x"),
        client=client.astype(np.intp),
        n_clients=n_clients,
    )
    with pytest.warns(BoundaryFitWarning):
        fit = fit_lmm(d)
    assert fit.singular


def test_registry_scale_warm_start_reaches_the_same_optimum() -> None:
    d = _design(21, n_clients=3500)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_lmm(d)
    stats = compute_stats(d.y, d.x, d.z, d.client, d.n_clients, None, 0)
    from bordin.analytics.multilevel import fitting

    # The same criterion minimised from lme4's start on every client, without the subset.
    f = fitting._Counted(stats, True)
    theta, _ = fitting._minimise(f, np.array([1.0, 0.0, 1.0]), [0.0, -np.inf, 0.0])
    np.testing.assert_allclose(fit.theta, theta, rtol=1e-6, atol=1e-8)


def test_inconsistent_design_is_an_input_error() -> None:
    d = _design(1)
    with pytest.raises(InputError, match="at most one slope"):
        fit_lmm(replace(d, z=np.column_stack([d.z, d.z[:, 1] ** 2])))
    with pytest.raises(InputError, match="rank deficient"):
        fit_lmm(replace(d, x=np.column_stack([d.x, d.x[:, 1]])))
