"""Outcome summary: rates per client classification, Wilson intervals against R, dropout rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bordin.analytics._clients import client_table
from bordin.analytics.outcome_summary import summarise_outcomes, wilson_interval
from bordin.errors import InputError
from bordin.scoring import reliable_change
from support.tolerances import CLOSED_FORM_RTOL

REF = Path(__file__).resolve().parents[2] / "reference" / "data" / "report" / "wilson.json"


def test_wilson_matches_prop_test() -> None:
    for case in json.loads(REF.read_text(encoding="utf-8"))["cases"]:
        low, high = wilson_interval(int(case["count"]), int(case["n"]), case["level"])
        np.testing.assert_allclose(low, case["ci_low"], rtol=CLOSED_FORM_RTOL, atol=1e-15)
        np.testing.assert_allclose(high, case["ci_high"], rtol=CLOSED_FORM_RTOL)


def _scores(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        k = int(rng.integers(1, 12))
        start = rng.integers(5, 27)
        drift = rng.normal(-6, 5)
        for s in range(1, k + 1):
            value = float(np.clip(round(start + drift * (s - 1) / 10 + rng.normal(0, 1)), 0, 27))
            rows.append((f"c{i:03d}", f"t{i % 7}", s, value, rng.uniform(1, 5)))
    frame = pd.DataFrame(
        rows, columns=["client_id", "therapist_id", "session", "phq9_total", "sac_total"]
    )
    return frame.sample(frac=1.0, random_state=seed)  # order must not matter


@pytest.mark.parametrize("seed", [1, 2])
def test_rates_equal_per_client_classification(seed: int) -> None:
    scores = _scores(seed)
    res = summarise_outcomes(scores, outcome="phq9_total")
    ordered = scores.sort_values(["client_id", "session"])
    first = ordered.groupby("client_id")["phq9_total"].first()
    last = ordered.groupby("client_id")["phq9_total"].last()
    size = ordered.groupby("client_id").size()
    two = size >= 2
    rc = reliable_change(first[two].to_numpy(), last[two].to_numpy(), instrument="phq9")
    cats = pd.Series([str(c) for c in rc.category])
    assert res.n_clients == len(size) and res.n_with_change == int(two.sum())
    for name in ("reliable_improvement", "no_reliable_change", "reliable_deterioration"):
        rate = res.rate(name)
        assert rate.count == int((cats == name).sum()) and rate.n == int(two.sum())
        low, high = wilson_interval(rate.count, rate.n)
        assert (rate.ci_low, rate.ci_high) == (low, high)
    cases = first[two] >= 10
    assert res.rate("recovery").n == int(cases.sum())
    assert res.rate("recovery").count == int(rc.recovered.sum())
    # no dates and no dropout column: no client's treatment state is known, none is counted
    assert (res.rate("dropout").count, res.rate("dropout").n) == (0, 0)
    np.testing.assert_allclose(res.mean_change.estimate, (last[two] - first[two]).mean())
    frame = res.to_frame()
    assert list(frame["term"])[:3] == [
        "reliable_improvement",
        "no_reliable_change",
        "reliable_deterioration",
    ]


def test_dropout_column_is_used_when_given() -> None:
    scores = _scores(3, n=40)
    ids = sorted(scores["client_id"].unique())[:5]
    scores["dropped"] = scores["client_id"].isin(ids) & (scores["session"] == 1)
    res = summarise_outcomes(scores, outcome="phq9_total", dropout="dropped")
    assert res.rate("dropout").count == 5 and "dropped" in res.dropout_rule


def test_dropout_is_not_known_where_the_data_record_no_endings() -> None:
    scores = _scores(5, n=30)
    first = pd.Timestamp("2026-01-05")
    scores["date"] = [
        (first + pd.Timedelta(weeks=int(s) - 1)).date().isoformat() for s in scores["session"]
    ]
    res = summarise_outcomes(scores, outcome="phq9_total")
    rate = res.rate("dropout")
    assert (rate.count, rate.n) == (0, 0) and np.isnan(rate.estimate)
    assert res.dropout_rule.startswith("not known: the data record no endings")
    # with the clients whose treatment ended as planned (none), the inactive ones count
    recorded = summarise_outcomes(scores, outcome="phq9_total", ended=[])
    assert recorded.rate("dropout").n == 30


def test_unknown_outcome_scale_is_an_input_error() -> None:
    with pytest.raises(InputError, match="my_scale"):
        summarise_outcomes(
            _scores(4, n=10).rename(columns={"phq9_total": "my_scale"}), outcome="my_scale"
        )


def test_client_table_intake_last_and_early_alliance() -> None:
    scores = pd.DataFrame(
        {
            "client_id": ["a"] * 5 + ["b"] * 2,
            "therapist_id": ["t"] * 7,
            "session": [3, 1, 2, 5, 4, 1, 2],
            "phq9_total": [12.0, np.nan, 15.0, 6.0, np.nan, 20.0, np.nan],
            "sac_total": [4.0, 2.0, 3.0, 5.0, 5.0, 3.5, 4.5],
        }
    )
    table = client_table(scores, alliance="sac_total", outcome="phq9_total").set_index("client_id")
    assert table.loc["a", "intake"] == 15.0 and table.loc["a", "last"] == 6.0
    assert table.loc["a", "change"] == -9.0 and table.loc["a", "early_alliance"] == 3.0
    assert np.isnan(table.loc["b", "change"]) and table.loc["b", "early_alliance"] == 4.0


def test_duplicate_sessions_are_named() -> None:
    scores = pd.DataFrame(
        {
            "client_id": ["a", "a"],
            "therapist_id": ["t", "t"],
            "session": [1, 1],
            "phq9_total": [1.0, 2.0],
        }
    )
    with pytest.raises(InputError, match="client a has session 1 twice"):
        summarise_outcomes(scores, outcome="phq9_total")


def test_dropout_column_as_words() -> None:
    scores = _scores(9, n=30)
    ids = sorted(scores["client_id"].unique())[:4]
    scores["left"] = np.where(scores["client_id"].isin(ids), "Yes", "no")
    res = summarise_outcomes(scores, outcome="phq9_total", dropout="left")
    assert res.rate("dropout").count == 4
    scores["left"] = "maybe"
    with pytest.raises(InputError, match="'maybe'"):
        summarise_outcomes(scores, outcome="phq9_total", dropout="left")
