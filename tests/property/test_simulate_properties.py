"""Invariants of simulated clinics over random parameters and seeds (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bordin.instruments import get_instrument
from bordin.simulate import SimulationConfig, simulate_clinic

configs = st.builds(
    SimulationConfig,
    n_clients=st.integers(1, 40),
    clients_per_therapist=st.integers(1, 15),
    sessions_min=st.integers(1, 6),
    sessions_max=st.integers(6, 14),
    alliance_instrument=st.sampled_from(["sac", "wai_sr"]),
    include_gad7=st.booleans(),
    rupture_rate=st.floats(0.001, 0.6),
    repair_probability=st.floats(0.01, 0.99),
    dropout_hazard=st.floats(0.001, 0.5),
    alliance_mean=st.floats(2.0, 5.0),
    intake_severity_mean=st.floats(3.0, 25.0),
    within_effect=st.floats(-4.0, 2.0),
    feedback_trial=st.booleans(),
    repair_window=st.integers(1, 5),
    item_missing_probability=st.sampled_from([0.0, 0.02, 0.3]),
    form_missing_probability=st.sampled_from([0.0, 0.1, 0.5]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, seed=st.integers(0, 2**32 - 1))
def test_every_value_is_in_range_and_tables_are_consistent(
    config: SimulationConfig, seed: int
) -> None:
    clinic = simulate_clinic(config, seed=seed)
    responses = clinic.responses
    for instrument in responses["instrument"].unique():
        definition = get_instrument(str(instrument))
        part = responses[responses["instrument"] == instrument]
        lows = {item.number: item.min_value for item in definition.items}
        highs = {item.number: item.max_value for item in definition.items}
        assert part["value"].between(part["item"].map(lows), part["item"].map(highs)).all()
    scores = clinic.scores
    alliance = f"{config.alliance_instrument}_total"
    assert scores[alliance].dropna().between(1, 5).all()
    assert scores["phq9_total"].dropna().between(0, 27).all()
    if config.include_gad7:
        assert scores["gad7_total"].dropna().between(0, 21).all()
    assert scores["adherence"].between(0, 1).all()
    # Sessions are 1..attended for every client; the client table agrees.
    per_client = scores.groupby("client_id")["session"].agg(["min", "max", "count"])
    assert (per_client["min"] == 1).all()
    assert (per_client["max"] == per_client["count"]).all()
    attended = clinic.clients.set_index("client_id")["sessions_attended"]
    assert per_client["max"].reindex(attended.index).equals(attended)
    assert (attended <= clinic.clients.set_index("client_id")["planned_sessions"]).all()
    assert len(clinic.clients) == config.n_clients
    # Ruptures lie within attended sessions; repairs within the window, after onset.
    r = clinic.ruptures
    last = attended.loc[r["client_id"]].to_numpy()
    assert (r["onset_session"].to_numpy() <= last).all()
    assert (r["onset_session"] >= 2).all()
    fixed = r[r["repaired"]]
    delay = (fixed["repair_session"] - fixed["onset_session"]).to_numpy()
    assert ((delay >= 1) & (delay <= config.repair_window)).all()
    assert (fixed["repair_session"].to_numpy() <= attended.loc[fixed["client_id"]].to_numpy()).all()
    assert not (r["repaired"] & r["censored"]).any()
    assert (
        np.isfinite(
            clinic.truth.drop(columns=["rupture_hazard", "dropout_hazard"]).select_dtypes("number")
        )
        .all()
        .all()
    )
    arms = set(clinic.clients["arm"])
    assert arms <= ({"feedback", "no_feedback"} if config.feedback_trial else {"none"})
