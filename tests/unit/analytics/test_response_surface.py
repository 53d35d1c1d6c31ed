"""Response surface analysis: invariants, table and input errors (issue 18)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.response_surface import SURFACE_WEIGHTS, fit_response_surface
from bordin.columns import check_result_columns
from bordin.errors import InputError


def _frame(seed: int = 3, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = rng.normal(5, 1, n)
    t = 0.5 * c + rng.normal(2.5, 0.8, n)
    z = 8 + 0.4 * (c + t) - 0.6 * (c - t) ** 2 + rng.normal(0, 1, n)
    return pd.DataFrame({"c": c, "t": t, "z": z})


def test_recovers_a_congruence_effect_and_table() -> None:
    frame = _frame(n=2000)
    res = fit_response_surface(frame, x="c", y="t", outcome="z", center="pooled")
    # True surface: a2 = 0, a4 = -2.4 (the (c - t)^2 term along x = -y is 4 x^2 * -0.6).
    a4 = res.parameter("a4")
    assert a4.ci_low < -2.4 < a4.ci_high
    a2 = res.parameter("a2")
    assert a2.ci_low < 0.0 < a2.ci_high
    table = res.to_frame()
    assert check_result_columns(list(table.columns)) == []
    assert list(table.loc[table["group"] == "surface", "term"]) == list(SURFACE_WEIGHTS)
    assert "agreement" in res.summary()


def test_swapping_predictors_flips_a3_and_a5_only() -> None:
    frame = _frame()
    a = fit_response_surface(frame, x="c", y="t", outcome="z")
    b = fit_response_surface(frame, x="t", y="c", outcome="z")
    for name, sign in (("a1", 1), ("a2", 1), ("a3", -1), ("a4", 1), ("a5", -1)):
        assert b.parameter(name).estimate == pytest.approx(sign * a.parameter(name).estimate)
        assert b.parameter(name).se == pytest.approx(a.parameter(name).se)


def test_missing_rows_are_dropped_and_counted() -> None:
    frame = _frame()
    frame.loc[[0, 5], "t"] = np.nan
    res = fit_response_surface(frame, x="c", y="t", outcome="z")
    assert (res.n, res.n_excluded) == (148, 2)


def test_bad_input_names_the_column_and_row() -> None:
    frame = _frame()
    with pytest.raises(InputError, match="not found"):
        fit_response_surface(frame, x="nope", y="t", outcome="z")
    bad = frame.astype({"t": object})
    bad.loc[3, "t"] = "high"
    with pytest.raises(InputError) as info:
        fit_response_surface(bad, x="c", y="t", outcome="z")
    assert info.value.row == 4 and info.value.column == "t"
    with pytest.raises(InputError, match="rank deficient"):
        fit_response_surface(frame.assign(t=frame["c"]), x="c", y="t", outcome="z")
    with pytest.raises(InputError, match="at least 10"):
        fit_response_surface(frame.head(8), x="c", y="t", outcome="z")
