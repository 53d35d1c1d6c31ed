"""Ceiling, weak early alliance, outcome status and risk on hand-built clients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.feedback import FeedbackConfig, compute_feedback


def _frame(alliance: dict[str, list[float]], **columns: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for client, values in alliance.items():
        for i, x in enumerate(values):
            row = {"client_id": client, "session": i + 1, "sac_total": x}
            for name, per_client in columns.items():
                if client in per_client:
                    row[name] = per_client[client][i]
            rows.append(row)
    return pd.DataFrame(rows)


def _session_row(result: object, client: str, session: int) -> pd.Series:
    s = result.sessions  # type: ignore[attr-defined]
    return s[(s["client_id"] == client) & (s["session"] == session)].iloc[0]


# ---- uninformative ratings (ceiling)


def test_three_sessions_at_the_maximum_are_uninformative() -> None:
    result = compute_feedback(_frame({"a": [4.5, 5, 5, 5, 4.5]}), outcomes=())
    flags = result.sessions["uninformative"].tolist()
    assert flags == [False, False, False, True, False]
    assert _session_row(result, "a", 4)["alliance_at_maximum_run"] == 3


def test_no_variation_is_uninformative_below_the_maximum() -> None:
    result = compute_feedback(_frame({"a": [4, 4, 4], "b": [4, 4, 4.5]}), outcomes=())
    s = result.sessions.set_index(["client_id", "session"])
    assert s.loc[("a", 3), "uninformative"]
    assert not s.loc[("b", 3), "uninformative"]
    assert not s.loc[("a", 2), "uninformative"]
    assert result.clients.set_index("client_id").loc["a", "uninformative"]
    kinds = {(a.client_id, a.kind) for a in result.alerts}
    assert ("a", "uninformative_ratings") in kinds


def test_ceiling_length_is_a_parameter() -> None:
    cfg = FeedbackConfig(ceiling_sessions=4)
    result = compute_feedback(_frame({"a": [5, 5, 5]}), outcomes=(), config=cfg)
    assert not result.sessions["uninformative"].any()


# ---- weak early alliance


def test_mean_below_the_concern_cutoff_by_session_three() -> None:
    frame = _frame({"low": [3.0, 3.4, 3.5, 4.0], "ok": [3.6, 3.8, 3.9, 4.0]})
    result = compute_feedback(frame, outcomes=())
    low = _session_row(result, "low", 3)
    assert low["weak_early_alliance"] and low["early_alliance_low"]
    assert low["early_alliance_mean"] == pytest.approx((3.0 + 3.4 + 3.5) / 3)
    assert low["early_alliance_reference"] == 3.5
    assert not _session_row(result, "low", 2)["weak_early_alliance"]  # not judged yet
    assert _session_row(result, "low", 4)["weak_early_alliance"]  # carried forward
    assert not _session_row(result, "ok", 3)["weak_early_alliance"]
    # the alert is shown at the judging session only (early_alert_sessions = 1); the latest
    # session here is 4, so only a clinic that shows it longer sees it
    assert not any(a.kind == "weak_early_alliance" for a in result.alerts)
    longer = compute_feedback(frame, outcomes=(), config=FeedbackConfig(early_alert_sessions=2))
    alert = next(a for a in longer.alerts if a.kind == "weak_early_alliance")
    assert alert.client_id == "low"
    assert "bond-focused" in " ".join(alert.suggestions)
    assert "attachment" in " ".join(alert.suggestions)
    assert any("Zilcha-Mano" in r for r in alert.references)


def test_falling_early_slope() -> None:
    result = compute_feedback(_frame({"a": [4.8, 4.3, 3.8]}), outcomes=())
    row = _session_row(result, "a", 3)
    assert row["early_alliance_slope"] == pytest.approx(-0.5)
    assert row["early_alliance_falling"] and not row["early_alliance_low"]


def test_without_a_concern_cutoff_the_clinic_percentile_is_used() -> None:
    rng = np.random.default_rng(5)
    rows = []
    for c in range(40):
        level = 3.0 + c * 0.05
        for s in range(1, 4):
            x = level + rng.normal(0, 0.01)
            rows.append({"client_id": c, "session": s, "wai_sr_total": x})
    result = compute_feedback(pd.DataFrame(rows), alliance="wai_sr", outcomes=())
    at3 = result.sessions[result.sessions["session"] == 3]
    means = at3["early_alliance_mean"].to_numpy()
    reference = np.percentile(means, 25)
    assert at3["early_alliance_reference"].iloc[0] == pytest.approx(reference)
    assert (at3["early_alliance_low"].to_numpy() == (means < reference)).all()
    assert 8 <= at3["early_alliance_low"].sum() <= 12


# ---- outcome status


def test_outcome_status_from_intake() -> None:
    phq = {
        "rec": [20, 15, 8],  # reliable improvement, case -> non-case: recovered; response
        "imp": [24, 20, 17],  # reliable improvement (7 points), still a case
        "det": [5, 8, 12],  # reliable deterioration
        "rem": [9, 6, 3],  # remission (< 5), response (>= 50%), improvement 6 (reliable)
        "same": [14, 13, 12],
    }
    frame = _frame({k: [4.0, 4.1, 4.2] for k in phq}, phq9_total=phq)
    result = compute_feedback(frame, outcomes=("phq9",))
    last = result.sessions[result.sessions["session"] == 3].set_index("client_id")
    assert last.loc["rec", "phq9_status"] == "recovered"
    assert last.loc["rec", "phq9_response"]
    assert last.loc["imp", "phq9_status"] == "reliably_improved"
    assert not last.loc["imp", "phq9_response"]
    assert last.loc["det", "phq9_status"] == "reliably_deteriorated"
    assert last.loc["rem", "phq9_remission"] and last.loc["rem", "phq9_response"]
    assert last.loc["same", "phq9_status"] == "no_reliable_change"
    first = result.sessions[result.sessions["session"] == 1]
    assert set(first["phq9_status"]) == {"not_assessed"}
    kinds = {(a.client_id, a.kind) for a in result.alerts}
    assert ("det", "reliable_deterioration") in kinds
    alert = next(a for a in result.alerts if a.kind == "reliable_deterioration")
    assert alert.evidence["change"] == 7 and alert.evidence["reliable_change"] == 6


def test_gad7_uses_its_own_threshold() -> None:
    frame = _frame({"a": [4.0, 4.0]}, gad7_total={"a": [12, 8]})
    result = compute_feedback(frame, outcomes=("gad7",))
    assert result.sessions["gad7_status"].iloc[1] == "reliably_improved"  # RC 4


# ---- risk


def test_phq9_item9_raises_the_top_priority_alert() -> None:
    frame = _frame(
        {"a": [4.0, 3.0, 3.0, 3.0], "b": [4, 4, 4, 4]},
        phq9_total={"a": [10, 12, 20, 22], "b": [15, 14, 13, 12]},
        phq9_item9={"a": [0, 0, 0, 0], "b": [0, 0, 0, 1]},
    )
    result = compute_feedback(frame, outcomes=("phq9",))
    first = result.alerts[0]
    assert first.kind == "risk" and first.client_id == "b"
    assert first.severity == "critical" and first.priority == 100
    assert "per your clinic's protocol" in first.explanation
    assert "PHQ-9 item 9" in first.explanation
    assert first.evidence["item"] == "phq9_item9" and first.evidence["value"] == 1
    assert first.evidence["answer"] == "Several days"
    clients = result.clients.set_index("client_id")
    assert clients.loc["b", "risk"] and clients.loc["b", "priority"] == 100
    assert clients.loc["b", "top_alert"] == "risk"
    assert result.clients.sort_values("priority", ascending=False)["client_id"].iloc[0] == "b"


def test_core10_risk_item() -> None:
    frame = _frame({"a": [4.0, 4.0]}, core10_item6={"a": [0, 2]})
    result = compute_feedback(frame, outcomes=())
    assert result.sessions["risk"].tolist() == [False, True]
    assert result.sessions["risk_item"].iloc[1] == "core10_item6"


def test_without_risk_columns_the_result_says_so() -> None:
    result = compute_feedback(_frame({"a": [4.0, 4.0]}), outcomes=())
    assert any("risk" in n for n in result.notes)
