"""The traces of metafor's k-by-k residual maker P, computed from p-by-p matrices."""

from __future__ import annotations

import numpy as np
import pytest

from bordin.analytics.meta_analysis._projection import Projection


@pytest.mark.parametrize(("k", "p", "unit_weights"), [(7, 1, False), (9, 3, False), (6, 2, True)])
def test_traces_equal_the_explicit_matrix(k: int, p: int, unit_weights: bool) -> None:
    rng = np.random.default_rng(k * 10 + p)
    x = np.column_stack([np.ones(k)] + [rng.normal(size=k) for _ in range(p - 1)])
    w = np.ones(k) if unit_weights else rng.uniform(0.5, 5.0, size=k)
    y, d, e = rng.normal(size=k), rng.uniform(0.1, 1, size=k), rng.uniform(0.1, 1, size=k)
    big_w = np.diag(w)
    big_p = big_w - big_w @ x @ np.linalg.inv(x.T @ big_w @ x) @ x.T @ big_w
    proj = Projection(y, x, w)
    rtol = 1e-12
    np.testing.assert_allclose(proj.rss(), y @ big_p @ y, rtol=rtol)
    np.testing.assert_allclose(proj.ypp_y(), y @ big_p @ big_p @ y, rtol=rtol)
    np.testing.assert_allclose(proj.tr_pd(), np.trace(big_p), rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(proj.tr_pd(d), np.trace(big_p @ np.diag(d)), rtol=rtol)
    np.testing.assert_allclose(
        proj.tr_pdpe(d, e), np.trace(big_p @ np.diag(d) @ big_p @ np.diag(e)), rtol=rtol
    )
    np.testing.assert_allclose(proj.tr_pdpe(), np.sum(big_p * big_p), rtol=rtol)
    np.testing.assert_allclose(
        proj.beta,
        np.linalg.lstsq(x * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0],
        rtol=1e-10,
    )
