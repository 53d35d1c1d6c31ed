"""Structure and internal consistency of a simulated clinic."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from bordin.instruments import get_instrument
from bordin.scoring import score_responses
from bordin.simulate import SimulatedClinic, SimulationConfig, simulate_clinic

RESPONSE_COLUMNS = ["client_id", "therapist_id", "session", "date", "instrument", "item", "value"]


@pytest.fixture(scope="module")
def clinic() -> SimulatedClinic:
    return simulate_clinic(SimulationConfig(n_clients=400), seed=11)


@pytest.fixture(scope="module")
def wai_clinic() -> SimulatedClinic:
    return simulate_clinic(SimulationConfig(n_clients=150, alliance_instrument="wai_sr"), seed=3)


def test_columns_follow_the_data_contracts(clinic: SimulatedClinic) -> None:
    assert list(clinic.responses.columns) == RESPONSE_COLUMNS
    assert list(clinic.scores.columns[:4]) == ["client_id", "therapist_id", "session", "date"]
    for column in ("sac_total", "sac_bond", "sac_goal", "sac_task", "phq9_total", "gad7_total"):
        assert column in clinic.scores.columns
    assert "adherence" in clinic.scores.columns
    assert list(clinic.ruptures.columns) == [
        "rupture_id",
        "client_id",
        "therapist_id",
        "onset_session",
        "component",
        "marker",
        "depth",
        "pre_rupture_level",
        "repair_session",
        "repaired",
        "censored",
        "repair_probability",
    ]


def test_ids_sessions_and_dates(clinic: SimulatedClinic) -> None:
    scores = clinic.scores
    assert scores["client_id"].map(lambda s: re.fullmatch(r"c\d{6}", s) is not None).all()
    assert scores["therapist_id"].map(lambda s: re.fullmatch(r"t\d{3}", s) is not None).all()
    # Sorted by client then session; sessions are 1..n without gaps.
    keys = scores[["client_id", "session"]]
    assert keys.equals(keys.sort_values(["client_id", "session"]).reset_index(drop=True))
    expected = scores.groupby("client_id").cumcount() + 1
    assert (scores["session"] == expected).all()
    # Weekly sessions, sometimes a week missed, never two sessions in one week.
    dates = pd.to_datetime(scores["date"], format="%Y-%m-%d")
    gaps = dates.groupby(scores["client_id"]).diff().dropna().dt.days
    assert set(gaps.unique()) <= {7, 14}
    assert (gaps == 14).mean() == pytest.approx(0.08, abs=0.03)
    # Each client sees one therapist.
    assert (scores.groupby("client_id")["therapist_id"].nunique() == 1).all()


def test_scores_are_what_score_responses_gives(clinic: SimulatedClinic) -> None:
    scored = score_responses(clinic.responses)
    ours = clinic.scores.drop(columns="adherence")
    pd.testing.assert_frame_equal(scored, ours, check_dtype=False)


def test_wai_sr_scores_are_what_score_responses_gives(wai_clinic: SimulatedClinic) -> None:
    scored = score_responses(wai_clinic.responses)
    pd.testing.assert_frame_equal(scored, wai_clinic.scores.drop(columns="adherence"))
    assert set(wai_clinic.responses["instrument"].unique()) == {"wai_sr", "phq9", "gad7"}
    assert "sac_total" not in wai_clinic.scores.columns


@pytest.mark.parametrize("name", ["clinic", "wai_clinic"])
def test_every_response_is_a_valid_code(name: str, request: pytest.FixtureRequest) -> None:
    responses = request.getfixturevalue(name).responses
    for instrument, part in responses.groupby("instrument", observed=True):
        definition = get_instrument(str(instrument))
        lows = {item.number: item.min_value for item in definition.items}
        highs = {item.number: item.max_value for item in definition.items}
        low, high = part["item"].map(lows), part["item"].map(highs)
        assert part["value"].between(low, high).all(), instrument
        assert set(part["item"].unique()) <= set(range(1, definition.n_items + 1))


def test_scores_stay_in_instrument_ranges(clinic: SimulatedClinic) -> None:
    s = clinic.scores
    for column in ("sac_total", "sac_bond", "sac_goal", "sac_task"):
        assert s[column].between(1, 5).all()
    assert s["phq9_total"].between(0, 27).all()
    assert s["gad7_total"].between(0, 21).all()
    assert s["adherence"].between(0, 1, inclusive="neither").all()
    # The scale is used, with a ceiling effect on the alliance items but not a wall.
    responses = clinic.responses
    alliance_items = responses[(responses["instrument"] == "sac") & (responses["item"] <= 6)]
    assert 0.1 < (alliance_items["value"] == 5).mean() < 0.5
    assert (alliance_items["value"] == 1).mean() < 0.05
    assert 0.005 < (s["sac_total"] == 5).mean() < 0.2
    assert s["phq9_total"].std() > 3


def test_item_8_is_asked_only_after_tension(clinic: SimulatedClinic) -> None:
    sac = clinic.responses[clinic.responses["instrument"] == "sac"]
    wide = sac.pivot_table(
        index=["client_id", "session"], columns="item", values="value", observed=True
    )
    assert wide[7].notna().all()
    assert (wide[8].notna() == (wide[7] > 0)).all()
    assert clinic.scores["sac_resolution"].isna().mean() > 0.5


def test_self_harm_item_only_at_high_severity(clinic: SimulatedClinic) -> None:
    severity = clinic.truth["severity"].to_numpy()
    item9 = clinic.scores["phq9_item9"].to_numpy()
    threshold = clinic.config.self_harm_threshold
    assert (item9[severity < threshold] == 0).all()
    high = severity >= threshold
    assert 0 < (item9[high] > 0).mean() < 0.6
    assert (item9 > 0).mean() < 0.1


def test_tables_agree_with_each_other(clinic: SimulatedClinic) -> None:
    truth, scores, clients, ruptures = clinic.truth, clinic.scores, clinic.clients, clinic.ruptures
    assert len(truth) == len(scores)
    assert truth[["client_id", "session"]].equals(scores[["client_id", "session"]])
    np.testing.assert_array_equal(truth["adherence"], scores["adherence"])
    attended = scores.groupby("client_id")["session"].max()
    np.testing.assert_array_equal(clients.set_index("client_id")["sessions_attended"], attended)
    assert (clients["sessions_attended"] <= clients["planned_sessions"]).all()
    dropped = clients[clients["dropped_out"]]
    assert (dropped["dropout_session"] == dropped["sessions_attended"]).all()
    assert clients.loc[~clients["dropped_out"], "dropout_session"].isna().all()
    assert (clients.loc[~clients["dropped_out"], "sessions_attended"]).equals(
        clients.loc[~clients["dropped_out"], "planned_sessions"]
    )
    # Every rupture onset in the truth is in the rupture table, and nothing else.
    onsets = truth.loc[truth["rupture_onset"], ["client_id", "session"]]
    table = ruptures[["client_id", "onset_session"]].rename(columns={"onset_session": "session"})
    assert onsets.reset_index(drop=True).equals(table.reset_index(drop=True))
    assert (ruptures["onset_session"] >= 2).all()
    assert set(ruptures["component"]) == {"bond", "goal", "task"}
    assert set(ruptures["marker"]) == {"withdrawal", "confrontation"}
    # Ruptures and the within-client effect are the client's own.
    merged = ruptures.merge(clients[["client_id", "therapist_id"]], on="client_id")
    assert (merged["therapist_id_x"] == merged["therapist_id_y"]).all()
    assert clinic.therapists["n_clients"].sum() == len(clients)
    assert clinic.therapists["n_clients"].max() - clinic.therapists["n_clients"].min() <= 1


def test_depth_is_the_drop_of_the_latent_total_at_onset(clinic: SimulatedClinic) -> None:
    truth = clinic.truth.set_index(["client_id", "session"])
    r = clinic.ruptures
    # Ruptures that follow a fully faded one: the drop at onset is exactly the depth.
    keys = list(zip(r["client_id"], r["onset_session"], strict=True))
    previous = list(zip(r["client_id"], r["onset_session"] - 1, strict=True))
    drop_now = truth.loc[keys, "rupture_drop_total"].to_numpy()
    drop_before = truth.loc[previous, "rupture_drop_total"].to_numpy()
    clean = drop_before == 0
    assert clean.mean() > 0.8
    np.testing.assert_allclose(drop_now[clean], r["depth"].to_numpy()[clean], rtol=1e-12)
    # The pre-rupture level is the latent total at the session before onset.
    np.testing.assert_allclose(
        truth.loc[previous, "alliance_total"].to_numpy(), r["pre_rupture_level"], rtol=1e-12
    )
    # The ruptured component drops the most.
    for component in ("bond", "goal", "task"):
        rows = (r["component"] == component).to_numpy()
        own = truth.loc[keys, f"rupture_drop_{component}"].to_numpy()[rows & clean]
        other = "goal" if component == "bond" else "bond"
        others = truth.loc[keys, f"rupture_drop_{other}"].to_numpy()[rows & clean]
        assert (own > others).all()


def test_repair_is_a_return_to_the_pre_rupture_level(clinic: SimulatedClinic) -> None:
    truth = clinic.truth.set_index(["client_id", "session"])
    r = clinic.ruptures
    repaired = r[r["repaired"]]
    assert len(repaired) > 30
    window = clinic.config.repair_window
    delay = repaired["repair_session"] - repaired["onset_session"]
    assert delay.between(1, window).all()
    keys = list(zip(repaired["client_id"], repaired["repair_session"].astype(int), strict=True))
    level = truth.loc[keys, "alliance_total"].to_numpy()
    floor = repaired["pre_rupture_level"].to_numpy() + clinic.config.repair_gain
    assert (level >= floor - 1e-12).all()
    assert truth.loc[keys, "rupture_repair"].all()
    # Unrepaired ruptures whose window was observed keep the rupture open through it.
    unrepaired = r[~r["repaired"] & ~r["censored"]]
    assert len(unrepaired) > 10
    for lag in range(window + 1):
        keys = list(zip(unrepaired["client_id"], unrepaired["onset_session"] + lag, strict=True))
        assert truth.loc[keys, "rupture_open"].all()
    # Censored: not repaired and the window runs past the last attended session.
    attended = clinic.clients.set_index("client_id")["sessions_attended"]
    censored = r[r["censored"]]
    assert (~censored["repaired"]).all()
    last = attended.loc[censored["client_id"]].to_numpy()
    assert (censored["onset_session"].to_numpy() + window > last).all()


def test_rupture_items_show_the_marker(clinic: SimulatedClinic) -> None:
    s = clinic.scores.set_index(["client_id", "session"])
    r = clinic.ruptures
    keys = list(zip(r["client_id"], r["onset_session"], strict=True))
    at_onset = s.loc[keys]
    confrontation = (r["marker"] == "confrontation").to_numpy()
    quiet = s.drop(index=keys)
    # Confrontation: tension and feeling misunderstood; withdrawal: holding back.
    assert at_onset["sac_misunderstood"][confrontation].mean() > 1.0
    assert at_onset["sac_withdrawal"][~confrontation].mean() > 1.0
    assert (
        at_onset["sac_tension"][confrontation].mean()
        > at_onset["sac_tension"][~confrontation].mean()
    )
    assert quiet["sac_tension"].mean() < 0.25
    assert (quiet["sac_tension"] > 0).mean() > 0.01  # background tension: false alarms exist


def test_no_feedback_trial_means_arm_none(clinic: SimulatedClinic) -> None:
    assert set(clinic.clients["arm"]) == {"none"}


def test_parameters_are_json_and_complete(clinic: SimulatedClinic) -> None:
    import json

    params = json.loads(json.dumps(clinic.parameters))
    assert params["seed"] == 11
    assert params["config"]["n_clients"] == 400
    effects = params["true_effects"]["panel_model"]
    assert effects["alliance_within"] == clinic.config.within_effect
    assert effects["outcome_lag"] == clinic.config.severity_ar
    assert params["true_effects"]["moderation"]["adherence_x_alliance"] == (
        clinic.config.adherence_alliance_interaction
    )
    assert {"rupture_onset", "depth", "repaired", "censored"} <= set(params["definitions"])


def test_summary_names_the_rates(clinic: SimulatedClinic) -> None:
    text = clinic.summary()
    for word in ("clients", "sessions", "ruptures", "repaired", "dropout"):
        assert word in text


def test_same_seed_same_clinic_and_different_seed_differs() -> None:
    config = SimulationConfig(n_clients=60, feedback_trial=True)
    a = simulate_clinic(config, seed=5)
    b = simulate_clinic(config, seed=5)
    c = simulate_clinic(config, seed=6)
    for name in ("responses", "scores", "truth", "ruptures", "clients", "therapists"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.parameters == b.parameters
    assert not a.scores.equals(c.scores)
    assert a.parameters["start_date"] != c.parameters["start_date"] or not a.truth.equals(c.truth)


def test_start_date_can_be_set() -> None:
    import datetime as dt

    config = SimulationConfig(n_clients=5, start_date=dt.date(2025, 3, 3), intake_spread_days=0)
    clinic = simulate_clinic(config, seed=1)
    first = clinic.scores[clinic.scores["session"] == 1]["date"]
    assert (first == "2025-03-03").all()
    assert clinic.parameters["start_date"] == "2025-03-03"


def test_fixed_number_of_sessions_without_dropout() -> None:
    config = SimulationConfig(
        n_clients=30,
        sessions_min=8,
        sessions_max=8,
        dropout_hazard=1e-12,
        dropout_alliance_log_odds=0.0,
        dropout_early_alliance_log_odds=0.0,
        dropout_open_rupture_log_odds=0.0,
    )
    clinic = simulate_clinic(config, seed=2)
    assert len(clinic.scores) == 240
    assert (clinic.clients["sessions_attended"] == 8).all()


def test_ids_widen_for_large_clinics() -> None:
    from bordin.simulate._frames import client_ids, therapist_ids

    assert client_ids(3).tolist() == ["c000001", "c000002", "c000003"]
    assert therapist_ids(1000)[-1] == "t1000"


def test_missing_forms_and_items_follow_their_settings() -> None:
    base = SimulationConfig(n_clients=400)
    config = dataclasses.replace(base, item_missing_probability=0.05, form_missing_probability=0.1)
    complete = simulate_clinic(base, seed=21)
    clinic = simulate_clinic(config, seed=21)
    # Missingness only removes responses: the truth and the answered values are unchanged.
    pd.testing.assert_frame_equal(clinic.truth, complete.truth)
    keys = ["client_id", "session", "instrument", "item"]
    kept = clinic.responses.merge(complete.responses, on=keys, suffixes=("", "_complete"))
    assert len(kept) == len(clinic.responses)
    assert (kept["value"] == kept["value_complete"]).all()
    # Forms skipped about 10% of the time; items within forms about 5%.
    phq = clinic.responses[clinic.responses["instrument"] == "phq9"]
    per_session = phq.groupby(["client_id", "session"], observed=True).size()
    n_sessions = len(clinic.scores)
    skipped = 1 - len(per_session) / n_sessions
    assert abs(skipped - 0.1) <= 4 * np.sqrt(0.09 / n_sessions)
    unanswered = 1 - per_session.sum() / (9 * len(per_session))
    assert abs(unanswered - 0.05) <= 4 * np.sqrt(0.05 * 0.95 / (9 * len(per_session)))
    # Item 8 is never there without an answered item 7 above 0.
    sac = clinic.responses[clinic.responses["instrument"] == "sac"]
    wide = sac.pivot_table(
        index=["client_id", "session"], columns="item", values="value", observed=True
    )
    assert (wide[8].isna() | (wide[7] > 0)).all()
    # Every attended session keeps its row; scores follow the scoring rules.
    assert len(clinic.scores) == len(complete.scores)
    assert clinic.scores["adherence"].notna().all()
    assert 0.1 < clinic.scores["phq9_total"].isna().mean() < 0.3
    answered = clinic.responses.groupby(["client_id", "session"], observed=True).size()
    answered = answered.reset_index()[["client_id", "session"]]
    answered["client_id"] = answered["client_id"].astype(str)
    scored = score_responses(clinic.responses)
    ours = clinic.scores.drop(columns="adherence").merge(answered, on=["client_id", "session"])
    pd.testing.assert_frame_equal(scored, ours, check_dtype=False)


def test_docstring_examples_run() -> None:
    import doctest

    from bordin.simulate import _clinic

    result = doctest.testmod(_clinic)
    assert result.attempted > 0
    assert result.failed == 0


def test_summary_of_a_clinic_without_ruptures_is_valid_json() -> None:
    import json

    config = SimulationConfig(n_clients=2, sessions_min=1, sessions_max=1, feedback_trial=True)
    clinic = simulate_clinic(config, seed=1)
    stats = clinic.summary_dict()
    assert stats["ruptures"] == 0 and stats["rupture_rate"] is None
    json.dumps(stats, allow_nan=False)
    assert "n/a" in clinic.summary()
