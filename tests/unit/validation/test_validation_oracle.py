"""The oracle rules: known optima on hand-made clinics, the vectorised grid agreeing with
score_ruptures, and no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.errors import InputError
from bordin.feedback.validation import score_ruptures
from bordin.validation import (
    ar1_trait,
    blend_drops,
    oracle_events,
    tune_blend_rule,
    tune_previous_rule,
)
from bordin.validation.oracle import _grid_f1, _layout


def _frame(series: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"client_id": c, "session": s + 1, "wai_sr_total": v}
        for c, values in series.items()
        for s, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


def _truth(onsets: list[tuple[str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": [c for c, _ in onsets],
            "onset_session": [s for _, s in onsets],
            "repaired": False,
            "censored": False,
        }
    )


def test_previous_rule_finds_the_threshold_that_separates_noise_from_ruptures() -> None:
    # Noise drops of 0.2, rupture drops of 0.6: any threshold in (0.2, 0.6] is perfect.
    scores = _frame(
        {
            "a": [4.0, 3.8, 4.0, 3.4, 4.0, 3.8, 4.0],
            "b": [3.0, 3.0, 2.8, 3.0, 3.0, 2.4, 3.0],
            "c": [4.5, 4.3, 4.5, 4.5, 4.3, 4.5, 4.5],
        }
    )
    truth = _truth([("a", 4), ("b", 6)])
    result = tune_previous_rule(scores, truth, thresholds=np.array([0.1, 0.3, 0.5, 0.7]))
    assert result.rule == "previous" and result.weight == 1.0
    assert result.threshold == 0.3  # the first of the best
    assert result.f1 == 1.0 and result.n_detected == 2 and result.n_true == 2
    low = tune_previous_rule(scores, truth, thresholds=np.array([0.1]))
    assert low.precision == pytest.approx(2 / 7) and low.recall == 1.0


def test_blend_rule_finds_a_running_mean_that_ignores_a_single_high_session() -> None:
    # Session 4 is a one-off high; the fall back from it is no rupture, session 8 is.
    scores = _frame({"a": [4.0, 4.0, 4.0, 4.8, 4.0, 4.0, 4.0, 3.2, 3.2]})
    truth = _truth([("a", 8)])
    thresholds = np.array([0.5])
    previous = tune_previous_rule(scores, truth, thresholds=thresholds)
    assert previous.f1 == pytest.approx(2 / 3)
    blend = tune_blend_rule(scores, truth, thresholds=thresholds)
    assert blend.f1 == 1.0
    # Session 5's drop is 0.8 w + 0.2 (1 - w) below 0.5 only for w < 0.5.
    assert blend.weight == 0.0
    only_high = tune_blend_rule(scores, truth, thresholds=thresholds, weights=np.array([0.6, 1.0]))
    assert only_high.f1 == pytest.approx(2 / 3)


def test_blend_drops_use_the_mean_of_earlier_sessions() -> None:
    values = np.array([4.0, 3.0, 5.0, 2.0, 1.0, 3.0])
    first = np.array([True, False, False, False, True, False])
    drops = blend_drops(values, first, 0.25)
    assert np.isnan(drops[0]) and np.isnan(drops[4])
    np.testing.assert_allclose(drops[1], 0.25 * 4 + 0.75 * 4 - 3)
    np.testing.assert_allclose(drops[2], 0.25 * 3 + 0.75 * 3.5 - 5)
    np.testing.assert_allclose(drops[3], 0.25 * 5 + 0.75 * 4 - 2)
    np.testing.assert_allclose(drops[5], 1.0 - 3.0)


def test_no_look_ahead() -> None:
    clinic = ar1_trait(40, seed=2, prevalence=0.1, depth=3.0)
    scores = clinic.scores.copy()
    layout = _layout(scores, clinic.truth, "wai_sr_total")
    before = blend_drops(layout.values, layout.first, 0.4)
    changed = layout.values.copy()
    changed[200:] = 1.0
    after = blend_drops(changed, layout.first, 0.4)
    np.testing.assert_array_equal(before[:200], after[:200])


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0])
def test_vectorised_grid_matches_score_ruptures(weight: float) -> None:
    clinic = ar1_trait(200, seed=4, prevalence=0.08, depth=2.5)
    layout = _layout(clinic.scores, clinic.truth, "wai_sr_total")
    drops = blend_drops(layout.values, layout.first, weight)
    thresholds = np.array([0.1, 0.3, 0.5, 0.8])
    grid = _grid_f1(layout, drops, thresholds)
    for threshold, f1 in zip(thresholds, grid, strict=True):
        events = oracle_events(
            clinic.scores, column="wai_sr_total", threshold=threshold, weight=weight
        )
        assert f1 == pytest.approx(score_ruptures(events, clinic.truth).f1, abs=1e-12)


def test_oracle_events_are_the_first_of_each_run_of_flags() -> None:
    scores = _frame({"a": [4.0, 3.0, 2.0, 2.0, 1.0], "b": [3.0, 2.0]})
    events = oracle_events(scores, column="wai_sr_total", threshold=0.5)
    assert events[["client_id", "onset"]].values.tolist() == [["a", 2], ["a", 5], ["b", 2]]
    assert (events["status"] == "open").all()


def test_blend_beats_or_ties_previous_on_generated_data() -> None:
    clinic = ar1_trait(300, seed=6, prevalence=0.08, depth=2.5)
    previous = tune_previous_rule(clinic.scores, clinic.truth)
    blend = tune_blend_rule(clinic.scores, clinic.truth)
    assert blend.f1 >= previous.f1 - 1e-12
    assert 0.0 <= blend.weight <= 1.0 and blend.threshold > 0


def test_missing_alliance_value_is_refused() -> None:
    scores = _frame({"a": [4.0, float("nan"), 3.0]})
    with pytest.raises(InputError, match="wai_sr_total"):
        tune_previous_rule(scores, _truth([("a", 3)]))
    with pytest.raises(InputError, match="sac_total"):
        tune_previous_rule(scores, _truth([("a", 3)]), column="sac_total")
