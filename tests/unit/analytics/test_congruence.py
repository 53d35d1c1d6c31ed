"""Client-therapist congruence: the per-client table, its surface, the paired lagged models."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.congruence import (
    client_congruence_table,
    fit_congruence,
    fit_pair_lagged_model,
    has_therapist_ratings,
    interpret_surface,
    pair_session_frame,
)
from bordin.analytics.multilevel import fit_lagged_model, prepare_lagged_design
from bordin.analytics.response_surface import fit_response_surface
from bordin.errors import BoundaryFitWarning, InputError
from bordin.simulate import SimulationConfig, simulate_clinic, simulate_therapist_ratings


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    clinic = simulate_clinic(SimulationConfig(n_clients=60, clients_per_therapist=10), seed=5)
    return simulate_therapist_ratings(clinic, seed=6).scores


def test_table_by_hand() -> None:
    # client a: both rated sessions 1 and 3 (session 2 the therapist did not rate)
    scores = pd.DataFrame(
        {
            "client_id": ["a", "a", "a", "b", "b"],
            "therapist_id": ["t", "t", "t", "t", "t"],
            "session": [3, 1, 2, 1, 2],
            "sac_total": [4.0, 2.0, 1.0, 3.0, 5.0],
            "tsc_total": [3.0, 4.0, np.nan, np.nan, 2.0],
            "phq9_total": [6.0, 15.0, 10.0, 9.0, np.nan],
        }
    )
    table = client_congruence_table(scores, outcome="phq9_total").set_index("client_id")
    assert list(table.index) == ["a", "b"]
    assert table.loc["a", "n_pairs"] == 2 and table.loc["b", "n_pairs"] == 1
    assert table.loc["a", "client_total"] == 3.0  # (2 + 4) / 2, session 2 left out
    assert table.loc["a", "therapist_total"] == 3.5
    assert table.loc["a", "intake"] == 15.0 and table.loc["a", "last"] == 6.0
    assert table.loc["a", "change"] == -9.0
    assert np.isnan(table.loc["b", "change"])  # one outcome score: no change
    assert has_therapist_ratings(scores)
    assert not has_therapist_ratings(scores.drop(columns="tsc_total"))
    assert not has_therapist_ratings(scores.assign(tsc_total=np.nan))


def test_surface_is_the_response_surface_of_the_table(scores: pd.DataFrame) -> None:
    res = fit_congruence(scores, outcome="phq9_total")
    direct = fit_response_surface(
        client_congruence_table(scores, outcome="phq9_total"),
        x="client_total",
        y="therapist_total",
        outcome="change",
        center="pooled",
    )
    assert res.surface.n == direct.n == res.clients["change"].notna().sum()
    for got, want in zip(res.surface.surface, direct.surface, strict=True):
        assert got == want
    numbers = res.numbers()
    assert numbers["surface.a4.estimate"] == res.surface.parameter("a4").estimate
    payload = res.to_json_dict()
    assert [r["term"] for r in payload["surface"]] == ["a1", "a2", "a3", "a4", "a5"]
    assert payload["surface"][3]["ci_high"] == numbers["surface.a4.ci_high"]


def test_without_therapist_checks_is_a_clear_error(scores: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="tsc_total"):
        fit_congruence(
            scores.drop(columns=[c for c in scores if c.startswith("tsc_")]), outcome="phq9_total"
        )


def test_interpretation_follows_the_intervals() -> None:
    rng = np.random.default_rng(4)
    c = rng.normal(3.5, 0.6, 300)
    t = 0.5 * c + rng.normal(1.8, 0.5, 300)
    # lower is better for phq9 change: best (most negative change) where the two agree
    z = -5 + 4 * (c - t) ** 2 + rng.normal(0, 1, 300)
    frame = pd.DataFrame({"x": c, "y": t, "z": z})
    s = fit_response_surface(frame, x="x", y="y", outcome="z", center="pooled")
    lines = interpret_surface(s, outcome="phq9_total")
    assert s.parameter("a4").ci_low > 0
    assert "lowest where the two ratings agree (lower is better)" in lines[3]
    assert "the pattern of a congruence effect is present" in lines[5]
    # the same surface upside down: for PHQ-9 change the worst outcome is at agreement
    flipped = fit_response_surface(frame.assign(z=-z), x="x", y="y", outcome="z", center="pooled")
    lines = interpret_surface(flipped, outcome="phq9_total")
    assert "highest where the two ratings agree" in lines[3]
    assert "is not present" in lines[5]


def test_pair_lagged_model_is_the_lagged_model_on_the_sessions_both_rated(
    scores: pd.DataFrame,
) -> None:
    scores = scores.copy()
    rng = np.random.default_rng(8)
    scores.loc[rng.random(len(scores)) < 0.2, "tsc_total"] = np.nan  # some checks not done
    frame = pair_session_frame(scores, outcome="phq9_total")
    both = scores["tsc_total"].notna() & scores["sac_total"].notna()
    assert int(frame["therapist_total"].notna().sum()) == int(both.sum())
    assert frame["phq9_total"].notna().sum() == scores["phq9_total"].notna().sum()
    with warnings.catch_warnings():
        # little slope variation in this small simulated clinic: a boundary fit is allowed
        warnings.simplefilter("ignore", BoundaryFitWarning)
        fit = fit_pair_lagged_model(scores, outcome="phq9_total")
        masked = scores.assign(
            sac_total=scores["sac_total"].where(both), tsc_total=scores["tsc_total"].where(both)
        )
        direct = fit_lagged_model(
            masked, alliance="sac_total", outcome="phq9_total", predictors=("tsc_total",)
        )
    assert fit.terms[2:6] == (
        "alliance_within",
        "alliance_between",
        "therapist_total_within",
        "therapist_total_between",
    )
    assert direct.n_obs == fit.n_obs
    for a, b in zip(fit.terms, direct.terms, strict=True):
        np.testing.assert_allclose(fit.fixed[a], direct.fixed[b], rtol=1e-9, err_msg=a)


def test_a_further_predictor_is_split_within_and_between() -> None:
    frame = pd.DataFrame(
        {
            "client_id": ["a"] * 4 + ["b"] * 4 + ["c"] * 4,
            "session": [1, 2, 3, 4] * 3,
            "y": [10.0, 9.0, 7.0, 6.0, 12.0, 12.0, 11.0, 9.0, 8.0, 8.0, 5.0, 4.0],
            "c": [3.0, 4.0, 3.5, 5.0, 2.0, 2.5, 3.0, 4.0, 4.0, 3.0, 4.5, 4.0],
            "t": [4.0, np.nan, 3.0, 4.0, 3.0, 2.0, 2.5, 3.5, 4.5, 4.0, 3.0, 5.0],
        }
    )
    design = prepare_lagged_design(
        frame, alliance="c", outcome="y", predictors=("t",), random_slope=False
    ).design
    assert design.fixed_names[4:] == ("t_within", "t_between")
    # client a, session 2 has no therapist rating: its pair (2, 3) is left out; t's person
    # mean is over the rated sessions (4, 3, 4) only
    assert design.y.tolist() == [9.0, 6.0, 12.0, 11.0, 9.0, 8.0, 5.0, 4.0]
    np.testing.assert_allclose(design.x[:2, 5], [11 / 3, 11 / 3])
    np.testing.assert_allclose(design.x[:2, 4], [4 - 11 / 3, 3 - 11 / 3])
    with pytest.raises(InputError, match="column not found") as info:
        prepare_lagged_design(frame, alliance="c", outcome="y", predictors=("nope",))
    assert "nope" in str(info.value)
