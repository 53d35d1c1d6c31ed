"""Simulated therapist session checks: known agreement, known one-sided ruptures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.errors import InputError
from bordin.feedback import detect_pair_signals, score_one_sided_ruptures
from bordin.scoring import score_responses
from bordin.simulate import (
    SimulatedClinic,
    SimulationConfig,
    TherapistRatingConfig,
    simulate_clinic,
    simulate_therapist_ratings,
)


@pytest.fixture(scope="module")
def clinic() -> SimulatedClinic:
    return simulate_clinic(SimulationConfig(n_clients=150), seed=31)


def test_same_seed_same_ratings_and_scores_match_scoring(clinic: SimulatedClinic) -> None:
    a = simulate_therapist_ratings(clinic, seed=5)
    b = simulate_therapist_ratings(clinic, seed=5)
    pd.testing.assert_frame_equal(a.responses, b.responses)
    assert not a.responses.equals(simulate_therapist_ratings(clinic, seed=6).responses)
    scored = score_responses(a.responses)
    for column in ("tsc_total", "tsc_bond", "tsc_rupture", "tsc_addressed", "tsc_adherence"):
        np.testing.assert_allclose(
            scored[column].to_numpy(), a.scores[column].to_numpy(), equal_nan=True
        )
    assert a.scores["tsc_total"].between(1, 5).all()
    # item 8 only where item 7 is above 0
    items = a.responses.pivot_table(
        index=["client_id", "session"], columns="item", values="value", observed=True
    )
    assert (items[8].notna() == (items[7] > 0)).all()


def test_perfect_perception_agrees_and_has_no_one_sided_ruptures(clinic: SimulatedClinic) -> None:
    config = TherapistRatingConfig(
        bias_sd=0,
        perception_sd=0,
        notice_probability=1,
        false_alarm_probability=0,
        background_tension=0,
    )
    ratings = simulate_therapist_ratings(clinic, config, seed=1)
    truth = ratings.truth
    assert not truth["client_only"].any() and not truth["therapist_only"].any()
    np.testing.assert_allclose(truth["perceived_total"], clinic.truth["alliance_total"], atol=1e-12)
    assert ratings.summary_dict()["client_only_ruptures"] == 0


def test_known_bias_shows_in_the_discrepancy(clinic: SimulatedClinic) -> None:
    config = TherapistRatingConfig(bias_mean=-0.6, bias_sd=0.0, perception_sd=0.1)
    ratings = simulate_therapist_ratings(clinic, config, seed=2)
    gap = detect_pair_signals(ratings.scores).sessions["gap_total"]
    # therapists see the alliance 0.6 weaker: the client rates about 0.6 higher (the 1-5
    # range clips a little of it)
    assert 0.45 < gap.mean() < 0.65


def test_unnoticed_ruptures_are_client_only_and_recovered(clinic: SimulatedClinic) -> None:
    ratings = simulate_therapist_ratings(clinic, seed=3)
    truth = ratings.truth
    assert (truth["client_only"] == ((truth["rupture_event"] > 0) & ~truth["noticed"])).all()
    assert not (truth["therapist_only"] & (truth["rupture_event"] > 0)).any()
    # the therapist reports no tension while an unnoticed rupture is open
    assert (ratings.scores.loc[truth["client_only"].to_numpy(), "tsc_rupture"] == 0).all()
    client_only, therapist_only = score_one_sided_ruptures(
        detect_pair_signals(ratings.scores), truth
    )
    assert client_only.n_true == ratings.summary_dict()["client_only_ruptures"] > 0
    assert client_only.precision > 0.5 and client_only.recall > 0.5
    assert therapist_only.recall > 0.8 and therapist_only.precision > 0.35


def test_bad_parameters_and_seed_are_refused(clinic: SimulatedClinic) -> None:
    with pytest.raises(InputError, match="notice_probability"):
        TherapistRatingConfig(notice_probability=1.5)
    with pytest.raises(InputError, match="perception_sd"):
        TherapistRatingConfig(perception_sd=-1)
    with pytest.raises(InputError, match="seed"):
        simulate_therapist_ratings(clinic, seed=-1)


def test_truth_must_have_its_columns(clinic: SimulatedClinic) -> None:
    ratings = simulate_therapist_ratings(clinic, seed=4)
    with pytest.raises(InputError) as info:
        score_one_sided_ruptures(
            detect_pair_signals(ratings.scores), ratings.truth.drop(columns="therapist_only")
        )
    assert info.value.column == "therapist_only"
