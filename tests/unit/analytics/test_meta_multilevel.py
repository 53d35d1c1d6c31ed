"""Three-level meta-analysis: the block-wise engine against dense matrices, invariances,
boundaries and input errors (issue 20). Agreement with metafor is in tests/reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.meta_analysis import fit_multilevel_meta, robust_cr2, sigma2_confint
from bordin.analytics.meta_analysis._multilevel_fit import Blocks, _score_info, loglik
from bordin.errors import InputError


def _data(seed: int = 3, clusters: int = 15) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, clusters)
    cluster = np.repeat(np.arange(clusters), sizes)
    k = cluster.size
    vi = rng.uniform(0.01, 0.1, k)
    x = rng.normal(size=k)
    yi = (
        0.3
        + 0.2 * x
        + rng.normal(0, 0.3, clusters)[cluster]
        + rng.normal(0, 0.35, k)
        + rng.normal(0, np.sqrt(vi))
    )
    group = np.where(rng.uniform(size=k) < 0.5, "a", "b")
    return pd.DataFrame({"cluster": cluster, "yi": yi, "vi": vi, "x": x, "g": group})


def _dense(blocks: Blocks, theta: np.ndarray, reml: bool) -> tuple[np.ndarray, np.ndarray, float]:
    z = (blocks.code[:, None] == np.arange(blocks.n_clusters)).astype(float)
    m = np.diag(blocks.v + theta[1]) + theta[0] * z @ z.T
    w = np.linalg.inv(m)
    x = blocks.x
    p = w - w @ x @ np.linalg.inv(x.T @ w @ x) @ x.T @ w
    q = p if reml else w
    derivs = [z @ z.T, np.eye(blocks.k)]
    py = p @ blocks.y
    score = 0.5 * np.array([py @ d @ py - np.trace(q @ d) for d in derivs])
    info = 0.5 * np.array([[np.trace(q @ a @ q @ b) for b in derivs] for a in derivs])
    k, n_x = x.shape
    _, logdet_m = np.linalg.slogdet(m)
    ll = -0.5 * logdet_m - 0.5 * blocks.y @ p @ blocks.y
    if reml:
        ll += -0.5 * (k - n_x) * np.log(2 * np.pi) + 0.5 * np.linalg.slogdet(x.T @ x)[1]
        ll -= 0.5 * np.linalg.slogdet(x.T @ w @ x)[1]
    else:
        ll += -0.5 * k * np.log(2 * np.pi)
    return score, info, float(ll)


@pytest.mark.parametrize("reml", [True, False])
def test_block_formulas_equal_dense_matrices(reml: bool) -> None:
    d = _data()
    x = np.column_stack([np.ones(len(d)), d["x"], 1990 + 10 * d["x"] ** 2])
    blocks = Blocks(d["yi"].to_numpy(), d["vi"].to_numpy(), x, d["cluster"].to_numpy())
    theta = np.array([0.07, 0.02])
    score, info, _ = _score_info(blocks, theta, reml)
    want_score, want_info, want_ll = _dense(blocks, theta, reml)
    np.testing.assert_allclose(score, want_score, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(info, want_info, rtol=1e-9)
    np.testing.assert_allclose(loglik(blocks, theta, reml=reml), want_ll, rtol=1e-10)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_maximum_has_zero_score_and_is_order_invariant(method: str) -> None:
    d = _data()
    res = fit_multilevel_meta(
        d["yi"], d["vi"], list(d["cluster"]), mods=d[["x", "g"]], method=method
    )  # type: ignore[arg-type]
    blocks = Blocks(res.yi, res.vi, res.x, res.cluster)
    score, info, _ = _score_info(blocks, res.sigma2, method == "REML")
    assert np.all(res.sigma2 > 0)
    assert np.max(np.abs(score) / np.sqrt(np.diag(info))) < 1e-8
    shuffled = d.sample(frac=1.0, random_state=1)
    again = fit_multilevel_meta(
        shuffled["yi"],
        shuffled["vi"],
        list(shuffled["cluster"]),
        mods=shuffled[["x", "g"]],
        method=method,  # type: ignore[arg-type]
    )
    np.testing.assert_allclose(again.sigma2, res.sigma2, rtol=1e-9)
    np.testing.assert_allclose(again.coef, res.coef, rtol=1e-9)
    np.testing.assert_allclose(robust_cr2(again).df, robust_cr2(res).df, rtol=1e-8)
    assert res.terms == ("intrcpt", "x", "gb")


def test_no_within_cluster_heterogeneity_gives_zero_component() -> None:
    # Effects in a cluster differ by less than their sampling error: sigma2 within is 0.
    yi = [0.10, 0.11, 0.50, 0.49, -0.20, -0.21, 0.30, 0.31, 0.05, 0.04]
    vi = [0.02] * 10
    cl = ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"]
    res = fit_multilevel_meta(yi, vi, cl)
    assert res.sigma2[1] == 0.0 and res.sigma2[0] > 0
    ci = sigma2_confint(res)
    assert ci.ci_low[1] == 0.0 and ci.lower_at_zero[1]
    assert ci.ci_low[0] < res.sigma2[0] < ci.ci_high[0]


def test_fixed_components_and_fit_statistics() -> None:
    d = _data()
    res = fit_multilevel_meta(d["yi"], d["vi"], list(d["cluster"]))
    held = fit_multilevel_meta(d["yi"], d["vi"], list(d["cluster"]), sigma2=(0.1, None))
    assert held.sigma2[0] == 0.1
    assert held.loglik <= res.loglik
    # One estimated variance component fewer in the parameter count.
    assert held.aic == pytest.approx(-2 * held.loglik + 2 * 2)
    assert res.aic == pytest.approx(-2 * res.loglik + 2 * 3)


def test_missing_moderators_are_dropped_and_counted() -> None:
    d = _data()
    d.loc[[0, 5], "x"] = np.nan
    res = fit_multilevel_meta(d["yi"], d["vi"], list(d["cluster"]), mods=d[["x"]])
    assert res.n_dropped == 2 and res.k == len(d) - 2
    frame = res.to_frame()
    assert list(frame.columns[:7]) == [
        "term",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "statistic",
        "p_value",
    ]


def test_input_errors_name_the_row() -> None:
    with pytest.raises(InputError, match="row 3.*'effect'.*occurs twice"):
        fit_multilevel_meta([0.1, 0.2, 0.3, 0.4], [0.01] * 4, [1, 1, 1, 2], effect=[1, 2, 1, 1])
    with pytest.raises(InputError, match="row 2.*'vi'"):
        fit_multilevel_meta([0.1, 0.2, 0.3], [0.01, 0.0, 0.01], [1, 1, 2])
    with pytest.raises(InputError, match="at least 2 clusters"):
        fit_multilevel_meta([0.1, 0.2, 0.3], [0.01] * 3, [1, 1, 1])
    with pytest.raises(InputError, match="collinear"):
        x = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 4, 6, 8, 10]})
        fit_multilevel_meta([0.1, 0.2, 0.3, 0.4, 0.1], [0.01] * 5, [1, 1, 2, 2, 3], mods=x)
    with pytest.raises(InputError, match="unknown method"):
        fit_multilevel_meta([0.1, 0.2, 0.3], [0.01] * 3, [1, 1, 2], method="DL")  # type: ignore[arg-type]


def test_robust_needs_more_clusters_than_coefficients() -> None:
    x = pd.DataFrame({"x": [0.0, 1.0, 0.5, 2.0, 1.0, 0.0]})
    res = fit_multilevel_meta(
        [0.1, 0.3, 0.2, 0.5, 0.4, 0.1], [0.01] * 6, [1, 1, 2, 2, 2, 2], mods=x
    )
    with pytest.raises(InputError, match="2 clusters"):
        robust_cr2(res)


def test_docstrings_follow_the_statistics_convention_and_examples_run() -> None:
    import doctest
    import inspect
    import re
    from pathlib import Path

    from bordin.analytics.meta_analysis import multilevel, multilevel_confint, robust

    root = Path(__file__).resolve().parents[3]
    sections = ["Parameters", "Returns", "Raises", "Notes", "Validation", "References", "Examples"]
    for func in (fit_multilevel_meta, sigma2_confint, robust_cr2):
        doc = inspect.getdoc(func) or ""
        positions = [doc.find(f"\n{s}\n---") for s in sections]
        assert all(p > 0 for p in positions), func.__name__
        assert positions == sorted(positions), func.__name__
        assert "doi.org/" in doc
        for cited in re.findall(r"tests/[\w/]+\.(?:json|py|R)", doc):
            assert (root / cited).is_file(), cited
    for module in (multilevel, multilevel_confint, robust):
        assert doctest.testmod(module).failed == 0
