"""The alert defaults chosen by docs/alert-validity.md's burden analysis, and one set of
rules for the engine's alerts, its client table and the burden analysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.analytics import session_alerts
from bordin.feedback import FeedbackConfig, compute_feedback
from bordin.simulate import SimulationConfig, simulate_clinic
from support.alert_settings import PREVIOUS


def test_the_defaults_are_those_of_the_burden_analysis() -> None:
    config = FeedbackConfig()
    assert config.not_on_track_level == 0.95
    assert config.early_slope_threshold == -0.35
    assert config.yellow_alert is False
    assert config.unrepaired_alert_sessions == 1
    assert config.early_alert_until() == 3
    # recorded with the result, so a JSON output says which rules made its alerts
    assert config.as_dict()["yellow_alert"] is False


def _recovering_clinic(target: list[float]) -> pd.DataFrame:
    """250 clients recovering along a log curve (alliance varying, so no ceiling alert),
    and a target client with the given PHQ-9 scores."""
    rng = np.random.default_rng(1)
    rows = []
    for c in range(250):
        y1 = rng.uniform(8, 25)
        for t in range(1, 9):
            lt = np.log(t)
            y = y1 + (-0.5 - 0.15 * y1) * lt + 1.5 * np.sqrt(lt) * rng.normal()
            rows.append(
                {
                    "client_id": f"c{c:03d}",
                    "session": t,
                    "sac_total": 4.0 + 0.1 * rng.normal(),
                    "phq9_total": y,
                }
            )
    for t, y in enumerate(target, start=1):
        sac = 4.0 + 0.05 * (-1) ** t
        rows.append({"client_id": "target", "session": t, "sac_total": sac, "phq9_total": y})
    return pd.DataFrame(rows)


def test_a_yellow_only_client_has_no_open_alert() -> None:
    frame = _recovering_clinic([18, 17, 16, 15.5])
    result = compute_feedback(frame, outcomes=("phq9",))
    target = result.clients.set_index("client_id").loc["target"]
    assert target["phq9_colour"] == "yellow"  # the colour stays, for the chart and caseload
    assert [a.kind for a in result.alerts if a.client_id == "target"] == []
    assert target["n_alerts"] == 0 and target["priority"] == 0
    # a clinic that counts yellow gets the moderate alert back
    counted = compute_feedback(frame, outcomes=("phq9",), config=FeedbackConfig(yellow_alert=True))
    kinds = [(a.kind, a.severity) for a in counted.alerts if a.client_id == "target"]
    assert kinds == [("not_on_track", "moderate")]


def _rupture_clinic(target: list[float]) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for c in range(30):
        level = rng.uniform(3.6, 4.4)
        for s in range(1, 11):
            rows.append(
                {"client_id": f"k{c:02d}", "session": s, "sac_total": level + rng.normal(0, 0.1)}
            )
    rows += [{"client_id": "target", "session": s, "sac_total": x} for s, x in enumerate(target, 1)]
    return pd.DataFrame(rows)


def _target_kinds(frame: pd.DataFrame, up_to: int, config: FeedbackConfig) -> list[str]:
    result = compute_feedback(frame[frame["session"] <= up_to], outcomes=(), config=config)
    return [a.kind for a in result.alerts if a.client_id == "target"]


def test_an_unrepaired_rupture_is_an_alert_at_its_declaration_only() -> None:
    # a drop at session 4, not back by session 7 (onset + repair window): declared
    # unrepaired at session 7
    frame = _rupture_clinic([4.2, 4.2, 4.2, 3.0, 3.4, 3.8, 4.0, 4.3, 4.2])
    events = compute_feedback(frame, outcomes=()).ruptures
    event = events[
        (events["client_id"] == "target")
        & (events["detector"] == FeedbackConfig().rupture_detector)  # the alerts' detector
        & (events["scale"] == "total")
    ].iloc[0]
    assert (event["onset"], event["status"], event["status_session"]) == (4, "unrepaired", 7)
    assert "rupture_open" in _target_kinds(frame, 6, FeedbackConfig())
    assert "rupture_unrepaired" in _target_kinds(frame, 7, FeedbackConfig())
    assert "rupture_unrepaired" not in _target_kinds(frame, 8, FeedbackConfig())
    assert "rupture_unrepaired" not in _target_kinds(frame, 9, FeedbackConfig())
    # the previous display kept it for 6 sessions
    assert "rupture_unrepaired" in _target_kinds(frame, 9, PREVIOUS)


def test_weak_early_alliance_is_an_alert_at_session_three_only() -> None:
    frame = _rupture_clinic([3.0, 3.4, 3.5, 3.6, 3.8])
    assert "weak_early_alliance" in _target_kinds(frame, 3, FeedbackConfig())
    for later in (4, 5):
        assert "weak_early_alliance" not in _target_kinds(frame, later, FeedbackConfig())
    # the signal itself is carried forward in the sessions table
    sessions = compute_feedback(frame, outcomes=()).sessions
    target = sessions[sessions["client_id"] == "target"].set_index("session")
    assert target.loc[5, "weak_early_alliance"]
    assert "weak_early_alliance" in _target_kinds(frame, 5, PREVIOUS)


@pytest.mark.parametrize("config", [FeedbackConfig(), PREVIOUS], ids=["default", "previous"])
def test_the_client_table_and_the_burden_analysis_count_the_alerts_the_engine_builds(
    config: FeedbackConfig,
) -> None:
    clinic = simulate_clinic(SimulationConfig(n_clients=120), seed=7)
    outcomes = ("phq9", "gad7")
    result = compute_feedback(clinic.scores, alliance="sac", outcomes=outcomes, config=config)
    built = pd.Series([a.client_id for a in result.alerts], dtype=object).value_counts()
    clients = result.clients.set_index("client_id")
    n_alerts = clients["n_alerts"]
    assert n_alerts.sum() == len(result.alerts)
    assert (n_alerts.loc[built.index] == built).all()
    # session_alerts at each client's latest session: the same clients carry an alert
    alerts = session_alerts(result.sessions, result.ruptures, outcomes=outcomes, config=config)
    latest = alerts.sort_values("session").groupby("client_id").tail(1).set_index("client_id")
    assert set(latest.index[latest["any_alert"]]) == set(built.index)
