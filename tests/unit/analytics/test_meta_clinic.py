"""Per-therapist alliance-outcome correlations from clinic session scores (issue 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.meta_analysis import (
    FLUCKIGER_2018,
    correlations_by_group,
    outcome_direction,
)
from bordin.errors import InputError


def simulated_scores(seed: int = 7, therapists: int = 6, clients: int = 12) -> pd.DataFrame:
    """A small clinic: better early alliance goes with larger PHQ-9 drops (seeded)."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(therapists):
        size = clients if t != therapists - 1 else 3  # the last therapist has 3 clients
        for c in range(size):
            alliance = rng.normal(5.0, 1.0)
            start = rng.normal(16.0, 3.0)
            drop = 2.0 * (alliance - 5.0) + rng.normal(4.0, 2.0)
            sessions = int(rng.integers(3, 9))
            for s in range(1, sessions + 1):
                rows.append(
                    {
                        "client_id": f"c{t}-{c}",
                        "therapist_id": f"T{t}",
                        "session": s,
                        "wai_sr_total": alliance + rng.normal(0, 0.3),
                        "phq9_total": start - drop * (s - 1) / (sessions - 1) + rng.normal(0, 1),
                    }
                )
    return pd.DataFrame(rows)


def test_correlations_follow_the_documented_definition() -> None:
    frame = simulated_scores()
    res = correlations_by_group(
        frame, alliance="wai_sr_total", outcome="phq9_total", higher_is_better=False
    )
    frame = frame.sort_values(["client_id", "session"])
    per_client = frame.groupby("client_id").agg(
        group=("therapist_id", "first"),
        first=("phq9_total", "first"),
        last=("phq9_total", "last"),
    )
    per_client["early"] = frame[frame["session"] <= 3].groupby("client_id")["wai_sr_total"].mean()
    per_client["improvement"] = per_client["first"] - per_client["last"]
    for group, r, n in zip(res.groups, res.r, res.n, strict=True):
        sub = per_client[per_client["group"] == group]
        assert n == len(sub)
        np.testing.assert_allclose(r, sub["early"].corr(sub["improvement"]), rtol=1e-9)
    assert res.groups == ("T0", "T1", "T2", "T3", "T4")
    assert res.dropped == (("T5", "3 client(s), fewer than 4"),)
    assert np.mean(res.r) > 0.3  # better alliance, more improvement: positive r


def test_direction_flips_the_sign_and_comes_from_the_instrument() -> None:
    frame = simulated_scores()
    worse = correlations_by_group(
        frame, alliance="wai_sr_total", outcome="phq9_total", higher_is_better=False
    )
    better = correlations_by_group(
        frame, alliance="wai_sr_total", outcome="phq9_total", higher_is_better=True
    )
    np.testing.assert_allclose(better.r, -worse.r, rtol=1e-12)
    found = outcome_direction("phq9_total")
    auto = correlations_by_group(frame, alliance="wai_sr_total", outcome="phq9_total")
    if found is None:  # instrument registry without PHQ-9: the documented default applies
        assert auto.direction_source == "default" and not auto.higher_is_better
    else:
        assert auto.direction_source == "instrument" and auto.higher_is_better is found
    renamed = frame.rename(columns={"phq9_total": "symptoms"})
    plain = correlations_by_group(renamed, alliance="wai_sr_total", outcome="symptoms")
    assert plain.direction_source == "default" and not plain.higher_is_better


def test_pooling_compares_with_fluckiger() -> None:
    res = correlations_by_group(
        simulated_scores(), alliance="wai_sr_total", outcome="phq9_total", higher_is_better=False
    )
    pooled = res.pool()
    assert pooled.model.k == 5
    assert pooled.effect_sizes.labels == res.groups
    assert FLUCKIGER_2018.r == 0.278 and FLUCKIGER_2018.k == 295
    assert "doi.org/10.1037/pst0000172" in FLUCKIGER_2018.citation
    assert any("dropped" in note for note in res.notes())


def test_bad_scores_name_the_row_or_column() -> None:
    frame = simulated_scores()
    with pytest.raises(InputError, match="missing column"):
        correlations_by_group(frame, alliance="haq", outcome="phq9_total")
    broken = frame.astype({"phq9_total": object})
    broken.loc[4, "phq9_total"] = "n/a?"
    with pytest.raises(InputError) as info:
        correlations_by_group(broken, alliance="wai_sr_total", outcome="phq9_total", file="s.csv")
    assert info.value.row == 6 and info.value.column == "phq9_total"
    tiny = frame[frame["therapist_id"] == "T5"]
    res = correlations_by_group(tiny, alliance="wai_sr_total", outcome="phq9_total")
    with pytest.raises(InputError, match="at least 2 groups"):
        res.pool()
