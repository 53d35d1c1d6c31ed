"""The validation family's generators: the scores contract, the truth, the asked prevalence
and depth measured on the output, determinism, and each generator's defining property."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bordin.errors import InputError
from bordin.validation import (
    FAMILY,
    GeneratedClinic,
    ar1_trait,
    ceiling_items,
    heavy_tailed,
    random_walk,
    sparse_ar1,
    trait_blocks,
)
from bordin.validation._clinic import decay_shapes, draw_ruptures

GENERATORS = {
    "ar1_trait": ar1_trait,
    "random_walk": random_walk,
    "trait_blocks": trait_blocks,
    "ceiling_items": ceiling_items,
    "sparse_ar1": sparse_ar1,
    "heavy_tailed": heavy_tailed,
}
SETTINGS = {s.name: s for s in FAMILY}
TRUTH_COLUMNS = ["client_id", "onset_session", "depth_points", "depth_sd", "repaired", "censored"]
N = 300


def _pooled_sd(scores: pd.DataFrame, column: str = "wai_sr_total") -> float:
    x = scores[column]
    centred = x - scores.groupby("client_id")[column].transform("mean")
    df = (scores.groupby("client_id").size() - 1).clip(lower=0).sum()
    return float(np.sqrt((centred**2).sum() / df))


def _onset_drops(clinic: GeneratedClinic) -> pd.Series:
    scores, truth = clinic.scores, clinic.truth
    total = f"{clinic.alliance}_total"
    previous = scores.groupby("client_id")[total].shift(1)
    keys = pd.MultiIndex.from_frame(scores[["client_id", "session"]])
    onsets = pd.MultiIndex.from_frame(
        truth[["client_id", "onset_session"]].rename(columns={"onset_session": "session"})
    )
    at = keys.isin(onsets)
    return (previous - scores[total])[at]


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_setting_meets_the_scores_and_truth_contract(name: str) -> None:
    clinic = SETTINGS[name].generate(N, seed=11)
    scores, truth = clinic.scores, clinic.truth
    prefix = f"{clinic.alliance}_"
    alliance = [prefix + s for s in ("total", "bond", "goal", "task") if prefix + s in scores]
    items = [prefix + s for s in ("tension", "misunderstood", "withdrawal")]
    assert list(scores.columns[:3]) == ["client_id", "therapist_id", "session"]
    assert prefix + "total" in alliance
    assert clinic.alliance in ("wai_sr", "sac")
    if clinic.alliance == "sac":
        assert set(scores.columns[3:]) == set(alliance) | set(items)
        for column in items:
            values = scores[column]
            assert values.between(0, 4).all() and (values == np.rint(values)).all()
            assert not np.signbit(values).any()
    else:
        assert set(scores.columns[3:]) == set(alliance)
    assert scores["client_id"].map(type).eq(str).all()
    assert scores["therapist_id"].map(type).eq(str).all()
    assert scores["client_id"].nunique() == N
    assert scores["session"].dtype == np.int64 and scores["session"].min() >= 1
    for column in alliance:
        assert scores[column].notna().all()
        assert scores[column].between(1.0, 5.0).all(), column
    step = scores.groupby("client_id")["session"].diff().dropna()
    assert (step >= 1).all()
    assert scores.groupby("client_id")["session"].min().eq(1).all()
    assert list(truth.columns) == TRUTH_COLUMNS
    assert truth["repaired"].dtype == bool and truth["censored"].dtype == bool
    assert (truth["depth_points"] >= 0).all() and (truth["depth_sd"] >= 0).all()
    # Every onset is a session of that client with at least two earlier sessions.
    rank = scores.assign(k=scores.groupby("client_id").cumcount())
    merged = truth.merge(
        rank, left_on=["client_id", "onset_session"], right_on=["client_id", "session"], how="left"
    )
    assert merged["k"].notna().all()
    assert (merged["k"] >= 2).all()
    # Censored: the client's sessions end before the status could be settled.
    last = scores.groupby("client_id")["session"].max()
    settled = ~truth["censored"].to_numpy()
    ends = last.loc[truth["client_id"]].to_numpy()
    assert (ends[settled] >= truth["onset_session"].to_numpy()[settled] + 1).all()
    unrepaired = settled & ~truth["repaired"].to_numpy()
    assert (ends[unrepaired] >= truth["onset_session"].to_numpy()[unrepaired] + 3).all()
    assert (ends[~settled] < truth["onset_session"].to_numpy()[~settled] + 3).all()
    assert clinic.description


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_prevalence_and_depth_measured_on_the_output_are_as_asked(name: str) -> None:
    setting = SETTINGS[name]
    clinic = setting.generate(N, seed=12)
    prevalence = len(clinic.truth) / len(clinic.scores)
    assert prevalence == pytest.approx(setting.prevalence, rel=0.05)
    drops = _onset_drops(clinic) / clinic.within_sd
    # The mean drop at onset, in within-client SDs, on the scores themselves.
    assert drops.mean() == pytest.approx(setting.depth, rel=0.15)
    assert clinic.truth["depth_sd"].mean() == pytest.approx(setting.depth, rel=0.08)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_within_sd_is_the_rupture_free_pooled_within_client_sd(name: str) -> None:
    generator = GENERATORS[name]
    clinic = generator(N, seed=13, prevalence=0.1, depth=3.0)
    free = generator(N, seed=13, prevalence=0.0, depth=3.0)
    assert free.truth.empty
    assert _pooled_sd(free.scores) == pytest.approx(clinic.within_sd, rel=1e-12)
    # Ruptures add variation on top of it.
    assert _pooled_sd(clinic.scores) > clinic.within_sd


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_are_deterministic_per_seed(name: str) -> None:
    generator = GENERATORS[name]
    a = generator(120, seed=5, prevalence=0.08, depth=2.0)
    b = generator(120, seed=5, prevalence=0.08, depth=2.0)
    c = generator(120, seed=6, prevalence=0.08, depth=2.0)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert a.within_sd == b.within_sd
    assert not a.scores["wai_sr_total"].equals(c.scores["wai_sr_total"])


def test_family_spans_the_asked_prevalence_and_depth() -> None:
    assert len(FAMILY) >= 8
    assert len({s.generator for s in FAMILY}) == 6
    assert min(s.prevalence for s in FAMILY) == pytest.approx(0.02)
    assert max(s.prevalence for s in FAMILY) == pytest.approx(0.15)
    assert min(s.depth for s in FAMILY) <= 1.25 and max(s.depth for s in FAMILY) >= 4.0
    assert len({s.name for s in FAMILY}) == len(FAMILY)
    shallowest = min(FAMILY, key=lambda s: s.depth).generate(N, seed=1)
    assert shallowest.truth["depth_sd"].min() >= 1.0


def test_random_walk_has_a_unit_root() -> None:
    scores = random_walk(600, seed=3, prevalence=0.0, depth=1.0, noise_sd=0.0).scores
    wide = scores.pivot(index="client_id", columns="session", values="wai_sr_total")
    spread = wide.sub(wide[1], axis=0)
    # Variance from the first session grows linearly with the session number.
    assert spread[16].var() == pytest.approx(3 * spread[6].var(), rel=0.25)


def test_ar1_is_stationary_around_the_trait() -> None:
    scores = ar1_trait(600, seed=3, prevalence=0.0, depth=1.0).scores
    wide = scores.pivot(index="client_id", columns="session", values="wai_sr_total")
    spread = wide.sub(wide[1], axis=0)
    assert spread[16].var() == pytest.approx(spread[6].var(), rel=0.25)


def test_ar1_subscales_average_to_the_total() -> None:
    clinic = ar1_trait(N, seed=4, prevalence=0.1, depth=3.0)
    s = clinic.scores
    mean = s[["wai_sr_bond", "wai_sr_goal", "wai_sr_task"]].mean(axis=1)
    np.testing.assert_allclose(mean, s["wai_sr_total"], atol=1e-12)


def test_rupture_items_rise_at_ruptures_and_rarely_elsewhere() -> None:
    clinic = ar1_trait(600, seed=4, prevalence=0.08, depth=2.0, rupture_items=True)
    s = clinic.scores
    assert clinic.alliance == "sac" and "wai_sr_total" not in s.columns
    strongest = s[["sac_tension", "sac_misunderstood", "sac_withdrawal"]].max(axis=1)
    keys = pd.MultiIndex.from_frame(s[["client_id", "session"]])
    onsets = pd.MultiIndex.from_frame(
        clinic.truth[["client_id", "onset_session"]].rename(columns={"onset_session": "session"})
    )
    at = keys.isin(onsets)
    assert (strongest[at] >= 2).mean() > 0.7
    assert (strongest[~at] >= 2).mean() < 0.15
    # The alliance itself is the same process as without items.
    plain = ar1_trait(600, seed=4, prevalence=0.08, depth=2.0)
    np.testing.assert_array_equal(s["sac_total"], plain.scores["wai_sr_total"])


def test_ceiling_items_are_integer_means_near_the_top() -> None:
    twelve = ceiling_items(N, seed=8, prevalence=0.05, depth=3.0, n_items=12).scores
    four = ceiling_items(N, seed=8, prevalence=0.05, depth=3.0, n_items=4).scores
    for frame, n in ((twelve, 12), (four, 4)):
        np.testing.assert_allclose(frame["wai_sr_total"] * n, np.rint(frame["wai_sr_total"] * n))
        assert frame.groupby("client_id")["wai_sr_total"].mean().median() >= 4.5
    for sub in ("wai_sr_bond", "wai_sr_goal", "wai_sr_task"):
        np.testing.assert_allclose(twelve[sub] * 4, np.rint(twelve[sub] * 4))
    assert "wai_sr_bond" not in four.columns
    assert (four["wai_sr_total"] == 5.0).mean() > 0.2


def test_sparse_attendance_skips_session_numbers() -> None:
    scores = sparse_ar1(N, seed=9, prevalence=0.08, depth=2.5, attendance=0.6).scores
    gaps = scores.groupby("client_id")["session"].diff().dropna()
    assert (gaps > 1).mean() > 0.25
    assert scores.groupby("client_id")["session"].min().eq(1).all()


def test_heavy_tailed_changes_have_fat_tails() -> None:
    def kurtosis(scores: pd.DataFrame) -> float:
        change = scores.groupby("client_id")["wai_sr_total"].diff().dropna()
        return float(change.kurt())

    heavy = heavy_tailed(600, seed=2, prevalence=0.0, depth=1.0).scores
    gaussian = ar1_trait(600, seed=2, prevalence=0.0, depth=1.0).scores
    assert kurtosis(heavy) > 2.0
    assert abs(kurtosis(gaussian)) < 0.5


def test_block_ruptures_last_their_block() -> None:
    # Deep ruptures on little noise: the level is the trait except inside a rupture block.
    clinic = trait_blocks(N, seed=3, prevalence=0.05, depth=20.0, noise_sd=1e-3, trait_mean=3.0)
    s = clinic.scores.set_index(["client_id", "session"])["wai_sr_total"]
    trait = clinic.scores.groupby("client_id")["wai_sr_total"].max()
    for row in clinic.truth.itertuples(index=False):
        after = [s.get((row.client_id, row.onset_session + k)) for k in range(4)]
        cut = trait[row.client_id] - row.depth_points / 2
        below = [v is not None and v < cut for v in after]
        assert below[0]
        if row.repaired:
            assert not all(below[:4]) or after[3] is None
        elif not row.censored:
            assert all(below)


def test_decay_shapes_repair_within_the_window() -> None:
    rng = np.random.default_rng(0)
    onset = np.zeros((200, 20), dtype=bool)
    onset[:, 5] = True
    ruptures = draw_ruptures(
        rng, onset, depth=2.0, spread=0.5, within_sd=0.3, repair_probability=0.5
    )
    shapes, recovery = decay_shapes(rng, ruptures, 20, 0.85)
    repaired = ruptures.repaired
    assert repaired.any() and (~repaired).any()
    assert (shapes[:, 0] == 1.0).all()
    assert (shapes[repaired, 3] == 0.0).all()
    assert (recovery[repaired] <= 3).all()
    assert (shapes[~repaired, :4] > 0.5).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prevalence": 0.5}, "prevalence"),
        ({"depth": 0.0}, "depth"),
        ({"n_items": 5}, "n_items"),
        ({"min_sessions": 2}, "sessions"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float], message: str) -> None:
    params = {"prevalence": 0.05, "depth": 2.0, **kwargs}
    with pytest.raises(InputError, match=message):
        ceiling_items(50, seed=1, **params)  # type: ignore[arg-type]


def test_validation_does_not_import_the_simulator() -> None:
    package = Path(__file__).resolve().parents[3] / "src" / "bordin" / "validation"
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.startswith("bordin.simulate") for n in names), path.name
