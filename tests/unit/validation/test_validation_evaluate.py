"""The family evaluation table: its columns, the detectors it runs and its summary."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bordin.feedback import ClinicNorms, FeedbackConfig
from bordin.validation import (
    FAMILY,
    TABLE_COLUMNS,
    Draws,
    FamilyResult,
    evaluate_calm,
    evaluate_clinic,
    evaluate_family,
)


@pytest.fixture(scope="module")
def result() -> FamilyResult:
    return evaluate_family(150, seeds=(5, 6), settings=FAMILY[:3])


def test_table_has_the_columns_and_one_row_per_setting_and_detector(result: FamilyResult) -> None:
    table = result.to_frame()
    assert tuple(table.columns) == TABLE_COLUMNS
    assert len(table) == 3 * 4
    assert set(table["detector"]) == {"bordin", "sd_k1", "sd_k2", "adaptive"}
    np.testing.assert_allclose(table["gap_to_oracle"], table["oracle_f1"] - table["f1"])
    assert table[["precision", "recall", "f1", "oracle_f1"]].stack().between(0, 1).all()
    assert (table["n_true"] > 0).all()


def test_by_setting_and_worst_case(result: FamilyResult) -> None:
    by = result.by_setting
    assert list(by["setting"]) == [s.name for s in FAMILY[:3]]
    # the default detector is the one that leads the feedback: the adaptive detector
    assert result.default_detector == FeedbackConfig().rupture_detector == "adaptive"
    np.testing.assert_array_equal(by["default_f1"], by["adaptive_f1"])
    np.testing.assert_allclose(by["gap_to_oracle"], by["oracle_f1"] - by["default_f1"])
    for d in ("sd_k1", "sd_k2"):
        assert (by[f"beats_{d}"] == (by["default_f1"] > by[f"{d}_f1"])).all()
    for d in ("adaptive", "bordin"):
        rows = result.table[result.table["detector"] == d].set_index("setting")
        np.testing.assert_allclose(by[f"{d}_f1"], rows.loc[by["setting"], "f1"])
        np.testing.assert_allclose(by[f"{d}_gap_to_oracle"], by["oracle_f1"] - by[f"{d}_f1"])
    assert result.standing() == result.standing("adaptive")
    worst = result.worst_case
    assert worst["gap_to_oracle"] == by["gap_to_oracle"].max()
    assert worst["setting"] in result.summary()
    assert set(result.oracles["rule"]) == {"previous", "blend"}
    assert len(result.oracles) == 3 * 2 * 2
    assert result.seeds == (5, 6) and result.n_clients == 150
    held_out = by["oracle_f1_held_out"]
    assert held_out.between(0, 1).all()
    assert (held_out <= by["oracle_f1"] + 0.05).all()


def test_held_out_oracle_needs_two_seeds() -> None:
    single = evaluate_family(100, seeds=(9,), settings=FAMILY[:1])
    assert single.by_setting["oracle_f1_held_out"].isna().all()


def test_oracle_is_the_better_rule_on_each_clinic() -> None:
    clinic = FAMILY[0].generate(150, seed=3)
    detectors, oracles = evaluate_clinic(clinic)
    assert list(detectors["detector"]) == ["bordin", "sd_k1", "sd_k2", "adaptive"]
    assert list(oracles["rule"]) == ["previous", "blend"]
    assert oracles.loc[1, "f1"] >= oracles.loc[0, "f1"]


def test_norms_fitted_on_the_clinic_are_passed_when_the_detector_takes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bordin.validation.evaluate as evaluate

    seen: list[ClinicNorms] = []
    original = evaluate.detect_ruptures

    def with_norms(scores: pd.DataFrame, *, norms: ClinicNorms, **kwargs: Any) -> pd.DataFrame:
        seen.append(norms)
        return original(scores, **kwargs)

    clinic = FAMILY[0].generate(80, seed=2)
    monkeypatch.setattr(evaluate, "detect_ruptures", with_norms)
    detectors, _ = evaluate_clinic(clinic)
    assert len(seen) == len(detectors) == 4
    assert all(n.fitted_on.n_clients == 80 and n.alliance == "wai_sr" for n in seen)
    assert seen[0].fitted_on.n_sessions == len(clinic.scores)


def test_the_fixed_constant_detector_is_the_default_when_configured() -> None:
    fixed = FeedbackConfig(rupture_detector="bordin")
    result = evaluate_family(100, seeds=(5,), settings=FAMILY[:1], config=fixed)
    by = result.by_setting
    assert result.default_detector == "bordin"
    np.testing.assert_array_equal(by["default_f1"], by["bordin_f1"])
    assert result.standing() == result.standing("bordin")


def test_per_seed_rows_average_to_the_table(result: FamilyResult) -> None:
    per_seed = result.per_seed
    assert per_seed is not None
    assert len(per_seed) == len(result.table) * len(result.seeds)
    assert set(per_seed["seed"]) == set(result.seeds)
    means = per_seed.groupby(["setting", "detector"], sort=False)["f1"].mean()
    table = result.table.set_index(["setting", "detector"])["f1"]
    assert np.allclose(means.loc[table.index].to_numpy(), table.to_numpy())


@pytest.fixture(scope="module")
def draws(result: FamilyResult) -> Draws:
    return Draws.of([result])


def test_a_pair_of_draws_stands_as_the_run_of_those_two_seeds(
    result: FamilyResult, draws: Draws
) -> None:
    # the standing is recomputed from the per-seed figures, not from the run's table
    assert draws.seeds == (5, 6) and draws.n_clients == 150
    pairs = draws.pairs()
    assert list(pairs["seeds"]) == ["5, 6"]
    row = pairs.iloc[0]
    assert {k: row[k] for k in result.standing()} == result.standing()
    # three settings cannot meet a target asked of fourteen
    assert not row["target"]


def test_draws_by_setting_are_the_per_seed_figures_summarised(draws: Draws) -> None:
    by = draws.by_setting().set_index("setting")
    assert list(by.index) == [s.name for s in FAMILY[:3]]
    rows = draws.per_seed
    for setting in by.index:
        mine = rows[(rows["setting"] == setting) & (rows["detector"] == "adaptive")]
        gaps = mine.set_index("seed")["gap_to_oracle"]
        got = by.loc[setting]
        assert got["n_seeds"] == 2
        assert got["gap_to_oracle"] == pytest.approx(gaps.mean())
        assert got["gap_se"] == pytest.approx(gaps.std(ddof=1) / np.sqrt(2))
        assert got["worst_gap"] == pytest.approx(gaps.max())
        assert got["worst_seed"] == gaps.idxmax()
        assert got["default_f1"] == pytest.approx(mine["f1"].mean())
        sd = rows[(rows["setting"] == setting) & rows["detector"].isin(["sd_k1", "sd_k2"])]
        best_sd = sd.groupby("seed")["f1"].max()
        own = mine.set_index("seed")["f1"]
        assert got["seeds_beating_sd"] == int((own > best_sd.loc[own.index]).sum())
        assert got["seeds_close"] == int((gaps <= 0.03).sum())


def test_draws_refuse_a_seed_twice_and_mixed_sizes(result: FamilyResult) -> None:
    with pytest.raises(ValueError, match="more than one"):
        Draws.of([result, result])
    other = evaluate_family(120, seeds=(9,), settings=FAMILY[:1])
    with pytest.raises(ValueError, match="differ"):
        Draws.of([result, other])
    with pytest.raises(ValueError, match="no results"):
        Draws.of([])


def test_calm_clinics_count_every_flag_as_a_false_alarm() -> None:
    calm = evaluate_calm(150, seeds=(5,), settings=FAMILY[:1])
    assert list(calm["detector"]) == ["adaptive", "sd_k1", "sd_k2"]
    row = calm.set_index("detector")
    # the same rupture-free clinic under each detector
    assert row["sessions"].nunique() == 1 and row["clients"].nunique() == 1
    np.testing.assert_allclose(row["session_rate"], row["flagged_sessions"] / row["sessions"])
    np.testing.assert_allclose(row["client_rate"], row["flagged_clients"] / row["clients"])
    assert (row["flagged_clients"] <= row["flagged_sessions"]).all()
    # a drop of one SD happens by chance; one of two SDs is rarer
    assert row.loc["sd_k1", "flagged_sessions"] > row.loc["sd_k2", "flagged_sessions"] > 0
    # the generator drew no ruptures: the clinic is the setting's without them
    clinic = dataclasses.replace(FAMILY[0], prevalence=0.0).generate(150, seed=5)
    assert clinic.truth.empty
    assert row.loc["adaptive", "sessions"] == len(clinic.scores)
