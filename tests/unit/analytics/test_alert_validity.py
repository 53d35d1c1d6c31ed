"""Alert burden and validity: hand-made cases with known answers, no look-ahead, benchmark."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from bordin.analytics import (
    ALERT_RULES,
    alert_validity,
    classification_counts,
    end_of_treatment_outcomes,
    session_alerts,
    weekly_alert_burden,
)
from bordin.errors import InputError
from bordin.feedback import FeedbackConfig, compute_feedback, fit_clinic_norms
from bordin.simulate import SimulationConfig, simulate_clinic
from support.alert_settings import PREVIOUS

ROOT = Path(__file__).resolve().parents[3]


def _sessions(n: int, client: str = "a", **columns: object) -> pd.DataFrame:
    """A sessions frame of one client with n sessions and no signal unless given."""
    frame = pd.DataFrame(
        {
            "client_id": [client] * n,
            "session": np.arange(1, n + 1),
            "risk": False,
            "weak_early_alliance": False,
            "uninformative": False,
            "phq9_colour": "green",
            "phq9_status": "no_reliable_change",
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


NO_RUPTURES = pd.DataFrame(columns=["client_id", "onset", "status", "status_session"])


def _ruptures(*rows: tuple[str, int, str, int], detector: str = "adaptive") -> pd.DataFrame:
    """Rupture events of the leading detector (adaptive by default) on the total."""
    frame = pd.DataFrame(rows, columns=["client_id", "onset", "status", "status_session"])
    frame["detector"] = detector
    frame["scale"] = "total"
    return frame


# ---- classification arithmetic


def test_classification_counts_by_hand() -> None:
    flagged = np.array([True, True, False, False, True])
    outcome = np.array([True, False, True, False, False])
    c = classification_counts(flagged, outcome)
    assert (c["tp"], c["fp"], c["fn"], c["tn"]) == (1, 2, 1, 1)
    assert c["n"] == 5 and c["n_flagged"] == 3 and c["n_outcome"] == 2
    assert c["sensitivity"] == pytest.approx(1 / 2)
    assert c["specificity"] == pytest.approx(1 / 3)
    assert c["ppv"] == pytest.approx(1 / 3)
    assert c["flagged_share"] == pytest.approx(3 / 5)


def test_classification_counts_empty_denominators_are_nan() -> None:
    c = classification_counts(np.array([False, False]), np.array([False, False]))
    assert math.isnan(c["sensitivity"]) and math.isnan(c["ppv"])
    assert c["specificity"] == 1.0


def test_classification_counts_lengths_must_match() -> None:
    with pytest.raises(InputError, match="differ in length"):
        classification_counts(np.array([True]), np.array([True, False]))


# ---- alerts per session


def test_session_alerts_follow_the_dashboard_rules() -> None:
    sessions = _sessions(
        8,
        phq9_colour=["green", "yellow", "red", "green", "green", "green", "green", "green"],
        phq9_status=["no_reliable_change"] * 4
        + ["reliably_deteriorated"]
        + ["no_reliable_change"] * 3,
        weak_early_alliance=[False, False, True, True, True, True, True, True],
        risk=[False] * 7 + [True],
    )
    ruptures = pd.concat(
        [
            _ruptures(("a", 2, "unrepaired", 5)),  # open at 2-4, unrepaired from 5
            _ruptures(("a", 7, "repaired", 8)),  # open at 7 only
            _ruptures(("a", 1, "unrepaired", 4), detector="sd_k1"),  # does not lead: ignored
        ]
    )
    config = FeedbackConfig(yellow_alert=True, unrepaired_alert_sessions=2, early_alert_sessions=4)
    alerts = session_alerts(sessions, ruptures, outcomes=("phq9",), config=config)
    assert alerts["not_on_track_yellow"].tolist() == [False, True] + [False] * 6
    assert alerts["not_on_track_red"].tolist() == [False, False, True] + [False] * 5
    assert alerts["reliable_deterioration"].tolist() == [False] * 4 + [True] + [False] * 3
    assert alerts["rupture_open"].tolist() == [False, True, True, True, False, False, True, False]
    # declared unrepaired at 5, shown for a look-back of 2 sessions: 5 and 6
    assert alerts["rupture_unrepaired"].tolist() == [False] * 4 + [True, True, False, False]
    # weak early alliance is shown for 4 sessions from early_session = 3: until session 6
    assert alerts["weak_early_alliance"].tolist() == [
        False,
        False,
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert alerts["risk"].tolist() == [False] * 7 + [True]
    assert alerts["any_alert"].tolist() == [False] + [True] * 7
    assert alerts["oq_style"].tolist() == [False, True, True] + [False] * 5
    assert alerts["reliable_change"].tolist() == alerts["reliable_deterioration"].tolist()


def test_session_alerts_follow_the_default_config() -> None:
    # the defaults (docs/alert-validity.md): yellow is a colour, not an alert; weak early
    # alliance is an alert at session 3 only
    sessions = _sessions(
        5,
        phq9_colour=["green", "yellow", "yellow", "green", "green"],
        weak_early_alliance=[False, False, True, True, True],
    )
    alerts = session_alerts(sessions, NO_RUPTURES, outcomes=("phq9",))
    assert alerts["not_on_track_yellow"].tolist() == [False, True, True, False, False]
    assert alerts["weak_early_alliance"].tolist() == [False, False, True, False, False]
    assert alerts["any_alert"].tolist() == [False, False, True, False, False]


def test_session_alerts_open_rupture_at_the_end_stays_open() -> None:
    alerts = session_alerts(_sessions(4), _ruptures(("a", 3, "open", 4)), outcomes=("phq9",))
    assert alerts["rupture_open"].tolist() == [False, False, True, True]


def test_session_alerts_name_a_missing_column() -> None:
    with pytest.raises(InputError, match="phq9_colour"):
        session_alerts(_sessions(2).drop(columns="phq9_colour"), NO_RUPTURES, outcomes=("phq9",))


# ---- weekly burden


def test_weekly_burden_by_hand() -> None:
    # weeks end on Sundays 2024-01-07, -14, -21
    alerts = pd.DataFrame(
        {
            "client_id": ["a", "a", "a", "b", "b"],
            "session": [1, 2, 3, 1, 2],
            "any_alert": [False, True, False, True, False],
        }
    )
    dates = pd.DataFrame(
        {
            "client_id": ["a", "a", "a", "b", "b"],
            "session": [1, 2, 3, 1, 2],
            "date": ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-07", "2024-01-17"],
        }
    )
    result = weekly_alert_burden(alerts, dates, rules=("any_alert",))
    weeks = result.weeks
    assert weeks["week_end"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-07",
        "2024-01-14",
        "2024-01-21",
    ]
    assert weeks["n_active"].tolist() == [2, 2, 2]
    # week 1: a's alert-free session, b's alert on the Sunday itself; week 2: a's alert in
    # that week, and b (no session that week, still in treatment) carries theirs; week 3: none
    assert weeks["share_any_alert"].tolist() == [0.5, 1.0, 0.0]
    assert result.typical() == pytest.approx(0.5)
    assert result.steady_weeks == 3


def test_weekly_burden_counts_only_clients_in_treatment() -> None:
    alerts = pd.DataFrame({"client_id": ["a", "b"], "session": [1, 1], "any_alert": [True, False]})
    dates = pd.DataFrame(
        {"client_id": ["a", "b"], "session": [1, 1], "date": ["2024-01-02", "2024-01-10"]}
    )
    weeks = weekly_alert_burden(alerts, dates, rules=("any_alert",)).weeks
    # a finished in week 1: not active in week 2
    assert weeks["n_active"].tolist() == [1, 1]
    assert weeks["share_any_alert"].tolist() == [1.0, 0.0]


def test_weekly_burden_needs_a_date_for_every_session() -> None:
    alerts = pd.DataFrame({"client_id": ["a"], "session": [1], "any_alert": [True]})
    dates = pd.DataFrame({"client_id": ["a"], "session": [2], "date": ["2024-01-02"]})
    with pytest.raises(InputError, match="no date for client a session 1"):
        weekly_alert_burden(alerts, dates, rules=("any_alert",))


# ---- validity


def test_alert_validity_counts_alerts_before_the_last_session_only() -> None:
    alerts = pd.DataFrame(
        {
            "client_id": ["x", "x", "x", "y", "y", "y", "z", "w", "w"],
            "session": [1, 2, 3, 1, 2, 3, 1, 1, 2],
            "any_alert": [True, False, False, False, False, True, True, False, False],
        }
    )
    outcomes = pd.DataFrame(
        {
            "client_id": ["x", "y", "z", "w"],
            "reliable_deterioration": [True, True, True, False],
        }
    )
    result = alert_validity(alerts, outcomes, rules=("any_alert",))
    # x flagged before the end (tp); y only at the last session (fn); z has one session
    # (left out); w never (tn)
    assert result.n_clients == 3
    row = result.table.iloc[0]
    assert (row["tp"], row["fp"], row["fn"], row["tn"]) == (1, 0, 1, 1)
    assert result.get("any_alert", "reliable_deterioration", "sensitivity") == 0.5
    assert result.get("any_alert", "reliable_deterioration", "specificity") == 1.0
    assert result.get("any_alert", "reliable_deterioration", "ppv") == 1.0


def test_alert_validity_rejects_duplicate_clients() -> None:
    alerts = pd.DataFrame({"client_id": ["x", "x"], "session": [1, 2], "any_alert": [True, True]})
    outcomes = pd.DataFrame({"client_id": ["x", "x"], "reliable_deterioration": [True, False]})
    with pytest.raises(InputError, match="client x appears more than once"):
        alert_validity(alerts, outcomes, rules=("any_alert",))


def test_end_of_treatment_outcomes() -> None:
    sessions = pd.concat(
        [
            _sessions(3, "a", phq9_status=["not_assessed", "reliably_improved", "recovered"]),
            _sessions(2, "b", phq9_status=["not_assessed", "reliably_deteriorated"]),
            _sessions(2, "c", phq9_status=["not_assessed", "no_reliable_change"]),
            _sessions(1, "d", phq9_status=["not_assessed"]),
        ]
    )
    out = end_of_treatment_outcomes(sessions, "phq9")
    assert out["client_id"].tolist() == ["a", "b", "c"]
    assert out["no_reliable_improvement"].tolist() == [False, True, True]
    assert out["reliable_deterioration"].tolist() == [False, True, False]


# ---- no look-ahead: alerts from the full run equal a recompute on the data up to a week


def test_session_alerts_unrepaired_rupture_by_default_at_its_declaration_only() -> None:
    ruptures = _ruptures(("a", 2, "unrepaired", 5))
    alerts = session_alerts(_sessions(8), ruptures, outcomes=("phq9",))
    assert alerts["rupture_unrepaired"].tolist() == [False] * 4 + [True] + [False] * 3
    before = session_alerts(_sessions(8), ruptures, outcomes=("phq9",), config=PREVIOUS)
    assert before["rupture_unrepaired"].tolist() == [False] * 4 + [True] * 4


def _kinds(result_alerts: pd.DataFrame) -> dict[object, set[str]]:
    kinds: dict[object, set[str]] = {}
    for row in result_alerts.itertuples():
        kind = row.kind
        if kind == "not_on_track":
            kind = "not_on_track_red" if row.severity == "high" else "not_on_track_yellow"
        kinds.setdefault(row.client_id, set()).add(kind)
    return kinds


@pytest.mark.slow
@pytest.mark.parametrize(
    "feedback_config", [FeedbackConfig(), PREVIOUS], ids=["default", "previous"]
)
def test_alerts_at_a_week_end_equal_a_recompute_on_the_truncated_data(
    feedback_config: FeedbackConfig,
) -> None:
    outcomes = ("phq9", "gad7")
    config = SimulationConfig(n_clients=80, intake_spread_days=120)
    clinic = simulate_clinic(config, seed=5)
    norms = fit_clinic_norms(
        simulate_clinic(config, seed=6).scores, alliance="sac", outcomes=outcomes
    )
    full = compute_feedback(
        clinic.scores, alliance="sac", outcomes=outcomes, norms=norms, config=feedback_config
    )
    alerts = session_alerts(full.sessions, full.ruptures, outcomes=outcomes, config=feedback_config)
    alerts = alerts.merge(
        clinic.scores[["client_id", "session", "date"]], on=["client_id", "session"]
    )
    dates = pd.to_datetime(clinic.scores["date"])
    # the yellow column marks the colour; it is an alert only with yellow_alert
    dropped = {"any_alert"} | (set() if feedback_config.yellow_alert else {"not_on_track_yellow"})
    kinds = [k for k in ALERT_RULES if k not in dropped]
    checked = 0
    for cut in pd.date_range(dates.min() + pd.Timedelta(days=30), dates.max(), periods=4):
        week_end = cut.normalize() + pd.Timedelta(days=6 - cut.day_of_week)
        truncated = clinic.scores.loc[dates <= week_end]
        recomputed = compute_feedback(
            truncated, alliance="sac", outcomes=outcomes, norms=norms, config=feedback_config
        )
        expected = _kinds(recomputed.alerts_frame())
        known = alerts.loc[pd.to_datetime(alerts["date"]) <= week_end]
        latest = known.sort_values("session").groupby("client_id").tail(1)
        assert len(latest) == truncated["client_id"].nunique()
        for row in latest.itertuples():
            derived = {k for k in kinds if getattr(row, k)}
            assert derived == expected.get(row.client_id, set()), (row.client_id, week_end)
            checked += 1
    assert checked > 100


# ---- the benchmark's functions on a small clinic


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "alert_validity_benchmark", ROOT / "benchmarks" / "alert_validity.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_runs_on_a_small_clinic(tmp_path: Path) -> None:
    bench = _benchmark()
    clinic, norms = bench.make_clinics(150, 3)
    settings = [
        bench.Setting(**bench.TODAY),
        bench.Setting(**bench.PREVIOUS),
        bench.Setting(level=0.99, yellow=False, slope=-0.15, lookback=1, early_until=3),
    ]
    # the grid's settings are FeedbackConfig fields: the defaults' setting is FeedbackConfig()
    assert settings[0].config() == FeedbackConfig()
    assert bench.setting_of_config(PREVIOUS) == settings[1]
    tradeoff, details = bench.evaluate(clinic, norms, settings)
    assert len(tradeoff) == 3 and set(details) == set(settings)
    today, previous, fewer = tradeoff.iloc[0], tradeoff.iloc[1], tradeoff.iloc[2]
    assert 0 < today["burden"] < previous["burden"] <= 1
    assert 0 < fewer["burden"] < previous["burden"]
    assert fewer["flagged_share"] <= previous["flagged_share"]
    proposed, _ = bench.propose(tradeoff)
    others = bench.other_clinics(100, 4, bench.compared(settings[2]))
    assert others["setting"].tolist() == ["previous defaults", "defaults in force", "grid's choice"]
    assert others["demo_share"].between(0, 1).all()
    text = bench.to_markdown(
        others=others,
        tradeoff=tradeoff,
        details=details,
        proposed=proposed,
        meets=False,
        n_clients=150,
        seed=3,
        took=1.0,
    )
    assert "do not edit by hand" in text and "doi:10.1002/jclp.20108" in text
    svg = bench.tradeoff_svg(tradeoff, proposed)
    assert svg.startswith("<svg")
    # namespace names are not fetched; no reference that a browser would load
    assert 'href="http' not in svg and "url(http" not in svg and "@import" not in svg


def test_benchmark_proposal_meets_both_targets_with_fewest_false_alarms() -> None:
    bench = _benchmark()
    base = {"level": 0.9, "yellow": False, "slope": -0.15, "lookback": 6, "early_until": 6}
    tradeoff = pd.DataFrame(
        [
            {**base, "burden": 0.60, "sens_det": 0.99, "sens_det_red": 0.95, "spec_det": 0.10},
            {
                **base,
                "level": 0.95,
                "burden": 0.30,
                "sens_det": 0.90,
                "sens_det_red": 0.85,
                "spec_det": 0.30,
            },
            {
                **base,
                "level": 0.8,
                "burden": 0.32,
                "sens_det": 0.95,
                "sens_det_red": 0.90,
                "spec_det": 0.20,
            },
            # within range but the red alert alone misses deteriorators
            {
                **base,
                "level": 0.99,
                "burden": 0.25,
                "sens_det": 0.95,
                "sens_det_red": 0.40,
                "spec_det": 0.50,
            },
        ]
    )
    proposed, meets = bench.propose(tradeoff)
    assert meets and proposed["level"] == 0.95
    # none in range: the lowest burden that keeps both sensitivities
    proposed, meets = bench.propose(tradeoff.assign(burden=tradeoff["burden"] + 0.5))
    assert not meets and proposed["level"] == 0.95
