"""Lag pairing, person means and input errors of the lagged within/between design."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bordin.analytics.multilevel import fit_lagged_model, prepare_lagged_design
from bordin.columns import check_result_columns
from bordin.errors import InputError


def _frame() -> pd.DataFrame:
    # Client a: sessions 1, 2, 4, 5 (3 missing breaks the 2-4 pair); alliance missing at 5.
    # Client b: sessions 1-3, outcome missing at 3 (no response for the 2-3 pair).
    return pd.DataFrame(
        {
            "client_id": ["a", "a", "a", "a", "b", "b", "b"],
            "session": [1, 2, 4, 5, 1, 2, 3],
            "wai": [4.0, 5.0, 6.0, np.nan, 3.0, 4.0, 8.0],
            "phq": [10.0, 9.0, 7.0, 6.0, 12.0, 11.0, np.nan],
        }
    )


def test_lag_pairs_follow_session_numbers_and_person_means_use_all_sessions() -> None:
    extra = pd.DataFrame(
        {
            "client_id": ["c", "c", "d", "d", "d"],
            "session": [1, 2, 1, 2, 3],
            "wai": [2.0, 4.0, 6.0, 7.0, 8.0],
            "phq": [5.0, 4.0, 8.0, 9.0, 10.0],
        }
    )
    frame = pd.concat([extra, _frame()], ignore_index=True)
    lag = prepare_lagged_design(
        frame, alliance="wai", outcome="phq", random_slope=False, session_trend=True
    )
    d = lag.design
    # Usable pairs: a(1->2), a(4->5), b(1->2); a(2->4) is no pair, b(2->3) has no response.
    # c(1->2), d(1->2), d(2->3) are plain pairs; the frame is sorted by client and session.
    assert lag.n_pairs_possible == 7
    assert d.x.shape[0] == 6
    np.testing.assert_allclose(d.y, [9.0, 6.0, 11.0, 4.0, 9.0, 10.0])
    np.testing.assert_allclose(d.x[:, 1], [10.0, 7.0, 12.0, 5.0, 8.0, 9.0])  # outcome at t
    # a: (4 + 5 + 6) / 3, alliance missing at session 5 left out; b: (3 + 4 + 8) / 3, session
    # 3 has no pair but counts in the mean.
    means = [5.0, 5.0, 5.0, 3.0, 7.0, 7.0]
    np.testing.assert_allclose(d.x[:, 3], means)
    np.testing.assert_allclose(d.x[:, 2], np.array([4.0, 6.0, 3.0, 2.0, 6.0, 7.0]) - means)
    np.testing.assert_allclose(d.x[:, 4], [1.0, 4.0, 1.0, 1.0, 1.0, 2.0])  # session t
    np.testing.assert_array_equal(d.client, [0, 0, 1, 2, 3, 3])
    assert lag.client_labels == ("a", "b", "c", "d")
    assert d.fixed_names == (
        "(Intercept)",
        "outcome",
        "alliance_within",
        "alliance_between",
        "session",
    )


def test_row_order_does_not_matter() -> None:
    frame = _simulated(np.random.default_rng(9))
    shuffled = frame.sample(frac=1.0, random_state=1)
    a = fit_lagged_model(frame, alliance="wai", outcome="phq")
    b = fit_lagged_model(shuffled, alliance="wai", outcome="phq")
    assert a.fixed == pytest.approx(b.fixed, rel=1e-9)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)


def _simulated(rng: np.random.Generator, n_clients: int = 80) -> pd.DataFrame:
    rows = []
    for c in range(n_clients):
        mean, u0, u1 = rng.normal(5, 0.6), rng.normal(0, 0.8), rng.normal(0, 0.4)
        y = rng.normal(15, 3)
        for s in range(1, int(rng.integers(5, 11))):
            a = mean + rng.normal(0, 0.5)
            rows.append((f"k{c:03d}", f"t{c % 7}", s, a, y, round(rng.normal(15, 4), 1)))
            y = 3 + 0.7 * y - (0.9 + u1) * (a - mean) - 0.5 * (mean - 5) + u0 + rng.normal(0, 1.5)
    frame = pd.DataFrame(rows, columns=["client_id", "therapist_id", "session", "wai", "phq", "x"])
    intake = frame.groupby("client_id")["x"].transform("first")
    return frame.assign(intake=intake).drop(columns="x")


def test_result_table_json_and_summary() -> None:
    frame = _simulated(np.random.default_rng(9))
    res = fit_lagged_model(
        frame, alliance="wai", outcome="phq", therapist="therapist_id", covariates=["intake"]
    )
    table = res.to_frame()
    assert check_result_columns(list(table.columns)) == []
    fixed = table[table["group"] == "fixed"]
    assert list(fixed["term"]) == [
        "(Intercept)",
        "outcome",
        "alliance_within",
        "alliance_between",
        "intake",
    ]
    row = fixed.set_index("term").loc["alliance_within"]
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    # Satterthwaite t test (lmerTest), not the normal approximation.
    assert 10 < row["df"] < res.n_obs
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(row["statistic"]), row["df"]))
    assert row["p_value"] > math.erfc(abs(row["statistic"]) / math.sqrt(2))
    assert set(table["group"]) == {"fixed", "client", "therapist", "residual"}
    out = res.to_json_dict()
    for key in (
        "n_obs",
        "n_clients",
        "reml",
        "fixed",
        "se",
        "sd_intercept",
        "sd_slope",
        "corr",
        "sd_residual",
        "loglik",
        "converged",
    ):
        assert key in out
    assert set(out["fixed"]) == set(out["se"]) == set(out["p_value"]) == set(res.terms)
    assert out["p_value"]["alliance_within"] == pytest.approx(row["p_value"], rel=1e-12)
    assert out["n_therapists"] == 7
    text = res.summary()
    assert "alliance_within" in text
    assert "not proof" in text
    assert "next session" in text


def test_no_random_slope_has_no_slope_or_correlation() -> None:
    frame = _simulated(np.random.default_rng(2))
    res = fit_lagged_model(frame, alliance="wai", outcome="phq", random_slope=False)
    assert math.isnan(res.sd_slope)
    assert res.to_json_dict()["sd_slope"] is None
    assert res.to_json_dict()["corr"] is None


def test_missing_column_names_file_and_column() -> None:
    with pytest.raises(InputError, match=r"file scores\.csv, column 'gad7'"):
        fit_lagged_model(_frame(), alliance="wai", outcome="gad7", source="scores.csv")


def test_one_client_only() -> None:
    frame = _frame()[lambda d: d["client_id"] == "a"]
    with pytest.raises(InputError, match="only one client"):
        fit_lagged_model(frame, alliance="wai", outcome="phq")


def test_alliance_that_never_varies_within_clients() -> None:
    frame = _simulated(np.random.default_rng(3))
    frame["wai"] = frame.groupby("client_id")["wai"].transform("mean")
    with pytest.raises(InputError, match="never varies within clients"):
        fit_lagged_model(frame, alliance="wai", outcome="phq")


def test_too_few_lag_pairs() -> None:
    frame = _frame()
    frame = frame[frame["client_id"] == "a"].copy()
    frame.loc[1, "session"] = 3  # a: 1, 3, 4, 5 -> pairs 3-4 and 4-5
    frame = pd.concat([frame, frame.assign(client_id="c", session=[1, 3, 5, 7])])
    with pytest.raises(InputError, match="too few lag pairs"):
        fit_lagged_model(frame, alliance="wai", outcome="phq")


def test_too_few_lag_pairs_for_a_random_slope_suggests_dropping_it() -> None:
    frame = _simulated(np.random.default_rng(5), n_clients=40)
    frame = frame[frame["session"] <= 3]  # two pairs per client: not more than 2 per client
    with pytest.raises(InputError, match="no-random-slope"):
        fit_lagged_model(frame, alliance="wai", outcome="phq")


def test_duplicate_session_is_an_error_naming_the_row() -> None:
    frame = pd.concat([_frame(), _frame().iloc[[2]]], ignore_index=True)
    with pytest.raises(InputError, match="row 8.*session 4 twice"):
        fit_lagged_model(frame, alliance="wai", outcome="phq")


def test_covariate_must_be_time_invariant() -> None:
    frame = _simulated(np.random.default_rng(6))
    frame["intake"] = np.arange(len(frame), dtype=float)
    with pytest.raises(InputError, match="constant within each client"):
        fit_lagged_model(frame, alliance="wai", outcome="phq", covariates=["intake"])


def test_non_numeric_alliance() -> None:
    frame = _frame().astype({"wai": object})
    frame.loc[0, "wai"] = "high"
    with pytest.raises(InputError, match="column 'wai'.*numeric"):
        fit_lagged_model(frame, alliance="wai", outcome="phq")
