"""Hypothesis properties of meta-regression and two-group effect sizes (issue 20).

Shifting a continuous moderator by a constant changes only the intercept (slopes, tau^2, QM
and R^2 stay); predictions at the same moderator values do not depend on that shift; the
SMD changes sign (and keeps its variance) when the groups are swapped. Derandomized.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bordin.analytics.meta_analysis import compute_group_effect_sizes, fit_meta_regression
from bordin.errors import ConvergenceWarning, InputError

studies = st.integers(min_value=6, max_value=30).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(-2, 2, allow_nan=False), min_size=k, max_size=k),
        st.lists(st.floats(0.005, 0.5, allow_nan=False), min_size=k, max_size=k),
        st.lists(st.integers(0, 40), min_size=k, max_size=k),
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=k, max_size=k),
    )
)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(data=studies, shift=st.floats(-2000, 2000), method=st.sampled_from(("REML", "DL", "FE")))
def test_shifting_a_moderator_moves_only_the_intercept(
    data: tuple[list[float], list[float], list[int], list[str]], shift: float, method: str
) -> None:
    y, v, dose, arm = data
    if len(set(dose)) < 2 or len(set(arm)) < 2:
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        try:
            a = fit_meta_regression(y, v, {"dose": dose, "arm": arm}, method=method)  # type: ignore[arg-type]
        except InputError:  # a collinear design (e.g. dose fixed within arm): nothing to compare
            return
        b = fit_meta_regression(
            y,
            v,
            {"dose": [d + shift for d in dose], "arm": arm},
            method=method,  # type: ignore[arg-type]
        )
    # REML stops within 1e-12 in tau^2 and a shift of 2000 worsens the conditioning of X'WX:
    # the iterative tolerance.
    np.testing.assert_allclose(b.coef[1:], a.coef[1:], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose([b.tau2, b.qm, b.r2], [a.tau2, a.qm, a.r2], rtol=1e-6, atol=1e-9)
    pa = a.predict({"dose": 10, "arm": "a"})
    pb = b.predict({"dose": 10 + shift, "arm": "a"})
    np.testing.assert_allclose(pb.pred, pa.pred, rtol=1e-6, atol=1e-8)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    m=st.tuples(st.floats(-50, 50), st.floats(-50, 50)),
    sd=st.tuples(st.floats(0.1, 20), st.floats(0.1, 20)),
    n=st.tuples(st.integers(2, 500), st.integers(2, 500)),
)
def test_swapping_groups_flips_the_smd(
    m: tuple[float, float], sd: tuple[float, float], n: tuple[int, int]
) -> None:
    if n[0] + n[1] <= 3:
        return
    one = {
        "m1i": [m[0]],
        "sd1i": [sd[0]],
        "n1i": [n[0]],
        "m2i": [m[1]],
        "sd2i": [sd[1]],
        "n2i": [n[1]],
    }
    two = {
        "m1i": [m[1]],
        "sd1i": [sd[1]],
        "n1i": [n[1]],
        "m2i": [m[0]],
        "sd2i": [sd[0]],
        "n2i": [n[0]],
    }
    a = compute_group_effect_sizes(one, measure="SMD")
    b = compute_group_effect_sizes(two, measure="SMD")
    np.testing.assert_allclose(b.yi, -a.yi, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(b.vi, a.vi, rtol=1e-12)
