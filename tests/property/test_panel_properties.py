"""Invariances of the lagged within/between model (what must not change the answer)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bordin.analytics.multilevel import LaggedModelResult, fit_lagged_model
from bordin.errors import BoundaryFitWarning, ConvergenceWarning

# Each example fits two mixed models; a handful of examples keeps this file to seconds.
SETTINGS = settings(max_examples=6, deadline=None)


def _panel(seed: int, n_clients: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(4, 10, n_clients)
    client = np.repeat(np.arange(n_clients), sizes)
    session = np.concatenate([np.arange(1, k + 1) for k in sizes])
    mean = rng.normal(5, 0.6, n_clients)[client]
    alliance = mean + rng.normal(0, 0.5, client.size)
    outcome = rng.normal(12, 3, client.size) - 0.8 * (alliance - mean)
    outcome += rng.normal(0, 1.0, n_clients)[client]
    return pd.DataFrame(
        {
            "client_id": [f"k{c:02d}" for c in client],
            "session": session,
            "alliance": alliance,
            "outcome": outcome,
        }
    )


def _fit(frame: pd.DataFrame, **options: bool) -> LaggedModelResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryFitWarning)  # some seeds fit on the boundary
        # At such a boundary the numerical Hessian of the Satterthwaite step straddles the
        # edge of the parameter space and may have a negative eigenvalue (lmerTest warns
        # there too); these tests are about the fixed effects, not the degrees of freedom.
        warnings.filterwarnings(
            "ignore", message="the Hessian of the deviance", category=ConvergenceWarning
        )
        return fit_lagged_model(frame, alliance="alliance", outcome="outcome", **options)


@SETTINGS
@given(seed=st.integers(0, 10_000), shuffle=st.integers(0, 10_000))
@example(seed=0, shuffle=1)
@example(seed=5, shuffle=0)  # all-zero variances are a saddle here (panel_e_saddle.csv)
def test_row_order_and_client_labels_do_not_matter(seed: int, shuffle: int) -> None:
    frame = _panel(seed)
    a = _fit(frame)
    relabelled = frame.assign(client_id="z" + frame["client_id"].str[::-1])
    b = _fit(relabelled.sample(frac=1.0, random_state=shuffle))
    # Row order changes only the order of floating-point sums: the optimum moves by the
    # optimiser's resolution (theta to ~1e-7), so estimates agree to 1e-6 of (|b| + se).
    for term in a.terms:
        assert abs(a.fixed[term] - b.fixed[term]) <= 1e-6 * (abs(a.fixed[term]) + a.se[term])
    assert math.isclose(a.loglik, b.loglik, rel_tol=0, abs_tol=1e-7)


@SETTINGS
@given(seed=st.integers(0, 10_000), shift=st.floats(-3, 3), scale=st.floats(0.2, 5))
@example(seed=3, shift=2.0, scale=3.0)
@example(seed=416, shift=1.0, scale=2.0)  # a boundary fit: the Satterthwaite step warns
def test_alliance_shift_and_outcome_scale_move_only_what_they_should(
    seed: int, shift: float, scale: float
) -> None:
    frame = _panel(seed)
    base = _fit(frame, reml=False)
    moved = _fit(
        frame.assign(alliance=frame["alliance"] + shift, outcome=frame["outcome"] * scale),
        reml=False,
    )
    # Shifting alliance leaves within-client deviations alone and moves the person mean; the
    # outcome scale multiplies every coefficient in outcome units, not the lagged outcome.
    assert math.isclose(moved.fixed["outcome"], base.fixed["outcome"], rel_tol=1e-5)
    for term in ("alliance_within", "alliance_between"):
        assert math.isclose(moved.fixed[term], scale * base.fixed[term], rel_tol=1e-5, abs_tol=1e-7)
        assert math.isclose(moved.se[term], scale * base.se[term], rel_tol=1e-5)
    assert math.isclose(moved.sd_residual, scale * base.sd_residual, rel_tol=1e-6)
    n = base.n_obs
    # ML log-likelihood of y * scale: shifted by -n log(scale) (Jacobian).
    assert math.isclose(moved.loglik, base.loglik - n * math.log(scale), abs_tol=1e-5)
