"""Hypothesis properties of the meta-analysis engine (issue 4).

Invariant to study order; tau^2 >= 0; I^2 in [0, 100]; random effects equal fixed effects
when tau^2 is estimated at 0. Runs are derandomized (seeded), so the suite is reproducible.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bordin.analytics.meta_analysis import compute_effect_sizes, random_effects_meta
from bordin.errors import ConvergenceWarning

METHODS = ("REML", "ML", "DL", "PM", "HE", "SJ", "FE")

studies = st.integers(min_value=2, max_value=25).flatmap(
    lambda k: st.tuples(
        st.lists(
            st.floats(min_value=-0.95, max_value=0.95, allow_nan=False), min_size=k, max_size=k
        ),
        st.lists(st.integers(min_value=4, max_value=2000), min_size=k, max_size=k),
    )
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    data=studies,
    method=st.sampled_from(METHODS),
    measure=st.sampled_from(("ZCOR", "COR")),
    seed=st.integers(0, 2**32 - 1),
)
@example(data=([0.1, 0.1], [10, 10]), method="REML", measure="ZCOR", seed=0)
@example(data=([0.0, -0.937, 0.625], [4, 4, 22]), method="ML", measure="ZCOR", seed=1)
def test_invariant_to_study_order(
    data: tuple[list[float], list[int]], method: str, measure: str, seed: int
) -> None:
    r, n = data
    es = compute_effect_sizes(r, n, measure=measure)  # type: ignore[arg-type]
    perm = np.random.default_rng(seed).permutation(es.k)
    # ML/REML at a local maximum warn and fall back to tau^2 = 0 (metafor's ll0check), in
    # either order; the property is about the numbers.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        a = random_effects_meta(es.yi, es.vi, method=method)  # type: ignore[arg-type]
        b = random_effects_meta(es.yi[perm], es.vi[perm], method=method)  # type: ignore[arg-type]
    # Summation order changes the last bits only; iterative estimators stop within 1e-12.
    for name in ("estimate", "se", "tau2", "q", "i2", "h2"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-7, atol=1e-12)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(data=studies, method=st.sampled_from(METHODS), test=st.sampled_from(("z", "knha")))
@example(data=([0.3, 0.3, 0.3], [50, 60, 70]), method="DL", test="z")
@example(data=([0.9, -0.9], [2000, 2000]), method="PM", test="knha")
@example(data=([0.0, 0.0], [4, 4]), method="REML", test="knha")
def test_tau2_nonnegative_and_i2_in_range(
    data: tuple[list[float], list[int]], method: str, test: str
) -> None:
    r, n = data
    if method == "FE" and test == "knha":
        test = "z"
    es = compute_effect_sizes(r, n, measure="ZCOR")
    res = random_effects_meta(es.yi, es.vi, method=method, test=test)  # type: ignore[arg-type]
    assert res.tau2 >= 0.0
    assert 0.0 <= res.i2 <= 100.0
    assert res.h2 >= 1.0 or method == "FE"
    assert res.ci_low <= res.estimate <= res.ci_high
    if res.pi_low is not None and res.pi_high is not None:
        # sqrt(tau2 + se^2) >= se with the same critical value: the PI contains the CI.
        assert res.pi_low <= res.ci_low + 1e-15
        assert res.ci_high <= res.pi_high + 1e-15


homogeneous = st.integers(min_value=3, max_value=20).flatmap(
    lambda k: st.tuples(
        st.floats(min_value=-0.6, max_value=0.6, allow_nan=False),
        st.lists(st.integers(min_value=20, max_value=500), min_size=k, max_size=k),
        st.lists(st.floats(min_value=-0.3, max_value=0.3), min_size=k, max_size=k),
    )
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=homogeneous, method=st.sampled_from(("REML", "ML", "DL", "PM", "HE")))
def test_random_equals_fixed_when_tau2_is_zero(
    data: tuple[float, list[int], list[float]], method: str
) -> None:
    centre, n, jitter = data
    n_arr = np.asarray(n, dtype=float)
    # Effects spread well inside their sampling error (|z - centre| <= 0.3 SE), so Q < k - 1.
    yi = np.arctanh(centre) + np.asarray(jitter) / np.sqrt(n_arr - 3)
    vi = 1.0 / (n_arr - 3)
    fe = random_effects_meta(yi, vi, method="FE")
    re = random_effects_meta(yi, vi, method=method)  # type: ignore[arg-type]
    assert fe.q < len(n) - 1
    if method in ("DL", "PM"):
        assert re.tau2 == 0.0  # Q below its df: these estimators are exactly 0
    if re.tau2 == 0.0:
        np.testing.assert_allclose(re.estimate, fe.estimate, rtol=1e-12)
        np.testing.assert_allclose(re.se, fe.se, rtol=1e-12)
        np.testing.assert_allclose(re.ci_low, fe.ci_low, rtol=1e-12, atol=1e-15)
        assert re.i2 == 0.0
    elif re.tau2 < 1e-10:
        # REML/ML approach the boundary by step halving and stop at a tiny positive tau^2;
        # the estimate is then FE's up to that tau^2's effect on the weights.
        np.testing.assert_allclose(re.estimate, fe.estimate, rtol=1e-6, atol=1e-9)
