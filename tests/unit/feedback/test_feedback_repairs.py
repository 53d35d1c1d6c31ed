"""Repair classification (V-shape within 3 sessions) and client codes (McLaughlin et al., 2014)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.feedback import (
    RUPTURE_COLUMNS,
    FeedbackConfig,
    compute_feedback,
    detect_ruptures,
    fit_clinic_norms,
)


def _clinic(target: list[float], *, tension_at: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for c in range(30):
        level = rng.uniform(3.6, 4.4)
        for s in range(1, 11):
            rows.append(
                {
                    "client_id": f"k{c:02d}",
                    "session": s,
                    "sac_total": float(level + rng.normal(0, 0.1)),
                }
            )
    for i, x in enumerate(target):
        rows.append({"client_id": "target", "session": i + 1, "sac_total": x})
    return pd.DataFrame(rows)


def _target_events(frame: pd.DataFrame, detector: str = "sd_k2") -> pd.DataFrame:
    events = detect_ruptures(frame, detector=detector)  # type: ignore[arg-type]
    return events[events["client_id"] == "target"].reset_index(drop=True)


def test_v_shape_within_three_sessions_is_repaired() -> None:
    frame = _clinic([4.2, 4.2, 4.2, 3.0, 3.6, 4.25, 4.2])
    event = _target_events(frame).iloc[0]
    assert event["onset"] == 4
    assert event["pre_level"] == pytest.approx(4.2)
    assert event["depth"] == pytest.approx(1.2)
    assert event["status"] == "repaired"
    assert event["repair_session"] == 6
    assert event["status_session"] == 6
    assert event["time_to_repair"] == 2
    assert event["length"] == 2


def test_not_back_within_window_is_unrepaired_at_onset_plus_three() -> None:
    frame = _clinic([4.2, 4.2, 4.2, 3.0, 3.4, 3.8, 4.0, 4.3])
    event = _target_events(frame).iloc[0]
    assert event["status"] == "unrepaired"
    assert event["status_session"] == 7  # decided once session onset + 3 was seen
    assert pd.isna(event["repair_session"])
    assert event["length"] == 4  # at least onset..status_session


def test_open_until_the_window_has_been_seen() -> None:
    frame = _clinic([4.2, 4.2, 4.2, 3.0, 3.4])
    event = _target_events(frame).iloc[0]
    assert event["status"] == "open"
    assert event["status_session"] == 4
    assert event["length"] == 2


def test_a_missed_session_number_counts_in_the_window() -> None:
    # sessions 1,2,3,4 then 8: session 8 is past onset + 3, so unrepaired even though high
    frame = _clinic([4.2, 4.2, 4.2, 3.0])
    extra = pd.DataFrame([{"client_id": "target", "session": 8, "sac_total": 4.5}])
    frame = pd.concat([frame, extra], ignore_index=True)
    event = _target_events(frame).iloc[0]
    assert event["status"] == "unrepaired"
    assert event["status_session"] == 8


def test_window_is_a_parameter() -> None:
    frame = _clinic([4.2, 4.2, 4.2, 3.0, 3.4, 3.8, 3.9, 4.3])
    cfg = FeedbackConfig(repair_window=4)
    events = detect_ruptures(frame, detector="sd_k2", config=cfg)
    event = events[events["client_id"] == "target"].iloc[0]
    assert event["status"] == "repaired"
    assert event["repair_session"] == 8


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ([4.2, 4.2, 4.2, 4.25, 4.2, 4.2], "none"),
        ([4.2, 4.2, 4.2, 3.0, 4.3, 4.2], "repaired"),
        ([4.2, 4.2, 4.2, 3.0, 3.2, 3.3, 3.4], "unrepaired"),
        ([4.2, 4.2, 4.2, 3.0, 3.2], "open"),
    ],
)
def test_client_rupture_code(target: list[float], code: str) -> None:
    result = compute_feedback(_clinic(target), outcomes=())
    row = result.clients.set_index("client_id").loc["target"]
    assert row["rupture_code"] == code


def test_session_counts_know_only_the_past() -> None:
    result = compute_feedback(_clinic([4.2, 4.2, 4.2, 3.0, 3.4, 4.3, 4.2]), outcomes=())
    s = result.sessions[result.sessions["client_id"] == "target"].set_index("session")
    assert s.loc[4, "rupture_onset"]
    assert s.loc[4, "ruptures_open"] == 1
    assert s.loc[5, "ruptures_open"] == 1
    assert s.loc[6, "ruptures_open"] == 0
    assert s.loc[6, "ruptures_repaired"] == 1
    assert s.loc[3, "ruptures_repaired"] == 0


@pytest.mark.parametrize("ids", ["str", "int64", "category"])
def test_a_client_without_ruptures_gets_a_fresh_empty_table_like_one_with_events(
    ids: str,
) -> None:
    # a client's recompute with no event takes a copy of a table made once per client_id
    # dtype: same columns and types as a table with events, and each call's its own
    clinic = _clinic([4.2, 4.2, 4.2, 3.0, 3.6, 4.25, 4.2])
    steady = pd.DataFrame({"client_id": "steady", "session": [1, 2, 3], "sac_total": 4.0})
    both = pd.concat([clinic, steady], ignore_index=True)
    codes = pd.factorize(both["client_id"])[0]
    both["client_id"] = codes if ids == "int64" else both["client_id"].astype(ids)
    clinic, steady = both.iloc[: len(clinic)], both.iloc[len(clinic) :]
    norms = fit_clinic_norms(clinic, outcomes=())
    with_events = compute_feedback(clinic, outcomes=(), norms=norms).ruptures
    assert len(with_events)
    assert list(with_events.columns) == list(RUPTURE_COLUMNS)
    first = compute_feedback(steady, outcomes=(), norms=norms)
    pd.testing.assert_frame_equal(first.ruptures, with_events.iloc[:0], check_index_type=True)
    first.ruptures["extra"] = 1
    first.ruptures.index.name = "changed"
    second = compute_feedback(steady, outcomes=(), norms=norms)
    pd.testing.assert_frame_equal(second.ruptures, with_events.iloc[:0], check_index_type=True)
    assert not [a for a in second.alerts if a.kind.startswith("rupture")]
