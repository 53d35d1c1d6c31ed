"""Pair signals (client and therapist session checks), on hand-built cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.errors import InputError
from bordin.feedback import (
    PAIR_ALERT_KINDS,
    PairConfig,
    build_pair_table,
    detect_pair_signals,
)


def _session(
    client: str,
    session: int,
    c: tuple[float, float, float],
    t: tuple[float, float, float] | None,
    *,
    items: tuple[int, int, int] = (0, 0, 0),
    noticed: float | None = 0,
) -> dict[str, object]:
    row: dict[str, object] = {"client_id": client, "therapist_id": "t1", "session": session}
    for prefix, values in (("sac", c), ("tsc", t)):
        if values is None:
            continue
        bond, goal, task = values
        row.update(
            {
                f"{prefix}_bond": bond,
                f"{prefix}_goal": goal,
                f"{prefix}_task": task,
                f"{prefix}_total": (bond + goal + task) / 3,
            }
        )
    row.update(
        dict(zip(("sac_tension", "sac_misunderstood", "sac_withdrawal"), items, strict=True))
    )
    if t is not None:
        row["tsc_rupture"] = noticed
    return row


def test_discrepancy_is_client_minus_therapist_per_component() -> None:
    frame = pd.DataFrame([_session("a", 1, (4.5, 4.0, 3.5), (3.5, 4.0, 4.5))])
    out = detect_pair_signals(frame).sessions.iloc[0]
    assert out["gap_bond"] == pytest.approx(1.0)
    assert out["gap_goal"] == pytest.approx(0.0)
    assert out["gap_task"] == pytest.approx(-1.0)
    assert out["gap_total"] == pytest.approx(0.0)


def test_trend_is_the_ols_slope_of_the_total_gap_so_far() -> None:
    # gaps (total) 0, 0.5, 1.5 at sessions 1, 2, 4 (session 3 rated by the client only)
    rows = [
        _session("a", 1, (4, 4, 4), (4, 4, 4)),
        _session("a", 2, (4.5, 4.5, 4.5), (4, 4, 4)),
        _session("a", 3, (4, 4, 4), None),
        _session("a", 4, (5, 5, 5), (3.5, 3.5, 3.5)),
    ]
    out = detect_pair_signals(pd.DataFrame(rows)).sessions
    expected = np.polyfit([1, 2, 4], [0.0, 0.5, 1.5], 1)[0]
    assert np.isnan(out["gap_trend"].iloc[:3]).all()
    assert out["gap_trend"].iloc[3] == pytest.approx(expected, abs=1e-12)


def test_client_drop_without_the_therapist_noticing_is_client_only() -> None:
    rows = [
        _session("a", 1, (4.5, 4.5, 4.5), (4, 4, 4)),
        _session("a", 2, (3.5, 3.5, 4.0), (4, 4, 4), noticed=0),
    ]
    result = detect_pair_signals(pd.DataFrame(rows))
    assert result.ruptures[["session", "side"]].values.tolist() == [[2, "client_only"]]
    assert result.sessions["client_drop"].iloc[1] == pytest.approx(4.5 - 11 / 3)
    # a smaller drop (0.5) is below the default threshold of 0.75
    rows[1] = _session("a", 2, (4, 4, 4), (4, 4, 4), noticed=0)
    assert detect_pair_signals(pd.DataFrame(rows)).ruptures.empty
    kinds = [a.kind for a in result.alerts]
    assert kinds == ["rupture_client_only"]
    assert result.alerts[0].references and result.alerts[0].suggestions


def test_a_slide_below_the_usual_level_is_a_client_side_rupture() -> None:
    rows = [_session("a", s, (4.5, 4.5, 4.5), (4, 4, 4)) for s in (1, 2, 3)]
    rows.append(_session("a", 4, (4, 4, 4), (4, 4, 4)))  # 0.5 down: not yet
    rows.append(_session("a", 5, (3.6, 3.6, 3.6), (4, 4, 4)))  # 0.4 down, 0.775 below usual
    out = detect_pair_signals(pd.DataFrame(rows)).sessions
    assert out["client_below_usual"].iloc[4] == pytest.approx(4.375 - 3.6)
    assert out["one_sided"].tolist() == ["", "", "", "", "client_only"]


def test_a_rupture_item_alone_is_a_client_side_rupture() -> None:
    rows = [_session("a", 1, (4, 4, 4), (4, 4, 4), items=(0, 0, 2))]
    assert detect_pair_signals(pd.DataFrame(rows)).ruptures["side"].tolist() == ["client_only"]


def test_a_noticed_client_rupture_is_not_one_sided() -> None:
    rows = [
        _session("a", 1, (4.5, 4.5, 4.5), (4, 4, 4)),
        _session("a", 2, (3, 3, 3), (3, 3, 3), noticed=1),
    ]
    result = detect_pair_signals(pd.DataFrame(rows))
    assert result.ruptures.empty
    assert bool(result.sessions["client_rupture"].iloc[1])


def test_therapist_noticed_tension_without_client_drop_is_therapist_only() -> None:
    rows = [
        _session("a", 1, (4, 4, 4), (4, 4, 4)),
        _session("a", 2, (4, 4, 4), (3.5, 4, 4), noticed=3),
        _session("a", 3, (3.25, 3.25, 3.25), (3.5, 4, 4), noticed=1),
    ]
    result = detect_pair_signals(pd.DataFrame(rows))
    assert result.ruptures[["session", "side"]].values.tolist() == [[2, "therapist_only"]]
    # below the therapist threshold, and a drop of exactly 0.75 is a client rupture noticed
    assert result.sessions["one_sided"].tolist() == ["", "therapist_only", ""]


def test_a_missing_session_breaks_the_drop_not_the_usual_level() -> None:
    rows = [
        _session("a", 1, (5, 5, 5), (4, 4, 4)),
        _session("a", 3, (3, 3, 3), (4, 4, 4)),
    ]
    out = detect_pair_signals(pd.DataFrame(rows)).sessions
    assert np.isnan(out["client_drop"].iloc[1])
    assert out["client_below_usual"].iloc[1] == pytest.approx(2.0)
    assert out["one_sided"].tolist() == ["", "client_only"]
    relaxed = detect_pair_signals(pd.DataFrame(rows), config=PairConfig(client_drop=2.5))
    assert relaxed.sessions["one_sided"].tolist() == ["", ""]


def test_unrated_therapist_side_gives_no_one_sided_rupture() -> None:
    rows = [
        _session("a", 1, (5, 5, 5), None),
        _session("a", 2, (3, 3, 3), None, items=(4, 4, 4)),
    ]
    result = detect_pair_signals(pd.DataFrame(rows))
    assert result.ruptures.empty and not result.alerts
    assert result.sessions["gap_total"].isna().all()


@pytest.mark.parametrize(
    ("client_bond", "therapist_bond", "kind"),
    [(5.0, 3.5, "bond_gap_therapist_lower"), (3.0, 4.5, "bond_gap_client_lower")],
)
def test_bond_gap_alert_needs_two_paired_sessions_in_a_row(
    client_bond: float, therapist_bond: float, kind: str
) -> None:
    rows = [
        _session("a", 1, (client_bond, 4, 4), (therapist_bond, 4, 4)),
        _session("a", 2, (4, 4, 4), (4, 4, 4)),
        _session("a", 3, (client_bond, 4, 4), (therapist_bond, 4, 4)),
        _session("a", 4, (client_bond, 4, 4), None),
        _session("a", 5, (client_bond, 4, 4), (therapist_bond, 4, 4)),
    ]
    frame = pd.DataFrame(rows)
    alerts = [a for a in detect_pair_signals(frame).alerts if a.kind == kind]
    # 1 and 3 are interrupted by the agreeing session 2; 3 and 5 are consecutive pairs
    assert [a.session for a in alerts] == [5]
    alert = alerts[0]
    assert alert.evidence["gap_bond"] == pytest.approx(client_bond - therapist_bond)
    assert alert.references == PAIR_ALERT_KINDS[kind][5]
    assert len(alert.suggestions) >= 2


def test_a_gap_just_below_the_threshold_raises_no_alert() -> None:
    rows = [_session("a", s, (4.75, 4, 4), (3.875, 4, 4)) for s in (1, 2, 3)]
    assert not detect_pair_signals(pd.DataFrame(rows)).alerts
    config = PairConfig(bond_gap=0.875)
    assert [a.session for a in detect_pair_signals(pd.DataFrame(rows), config=config).alerts] == [
        2,
        3,
    ]


def test_pair_table_keeps_sessions_both_rated_sorted() -> None:
    rows = [
        _session("b", 2, (4, 4, 4), (3, 3, 3)),
        _session("a", 1, (4, 4, 4), None),
        _session("a", 2, (2, 3, 4), (4, 3, 2)),
    ]
    table = build_pair_table(pd.DataFrame(rows))
    assert list(table.columns) == [
        "client_id",
        "therapist_id",
        "session",
        "client_bond",
        "client_goal",
        "client_task",
        "client_total",
        "therapist_bond",
        "therapist_goal",
        "therapist_task",
        "therapist_total",
    ]
    assert table[["client_id", "session"]].values.tolist() == [["a", 2], ["b", 2]]
    assert table["client_bond"].tolist() == [2.0, 4.0]
    assert table["therapist_bond"].tolist() == [4.0, 3.0]


def test_wai_sr_pairs_with_the_therapist_form() -> None:
    frame = pd.DataFrame(
        {
            "client_id": ["a"],
            "session": [1],
            "wai_sr_total": [4.0],
            "wai_sr_bond": [4.0],
            "wai_sr_t_total": [3.0],
            "wai_sr_t_bond": [3.5],
        }
    )
    table = build_pair_table(frame, client="wai_sr")
    assert table["therapist_total"].tolist() == [3.0]
    assert table["therapist_bond"].tolist() == [3.5]
    with pytest.raises(InputError, match="no therapist form is paired with 'phq9'"):
        build_pair_table(frame, client="phq9")


def test_duplicate_session_names_the_row() -> None:
    rows = [_session("a", 1, (4, 4, 4), (4, 4, 4)), _session("a", 1, (3, 3, 3), (4, 4, 4))]
    with pytest.raises(InputError, match="two rows for one session") as info:
        detect_pair_signals(pd.DataFrame(rows))
    assert info.value.row == 2 and info.value.column == "session"


@pytest.mark.parametrize("bad", [0, 2.5, None, "x"])
def test_a_bad_session_number_names_the_row(bad: object) -> None:
    rows = [_session("a", 1, (4, 4, 4), (4, 4, 4)), _session("a", 2, (4, 4, 4), (4, 4, 4))]
    frame = pd.DataFrame(rows).astype({"session": object})
    frame.loc[1, "session"] = bad
    with pytest.raises(InputError, match="whole number") as info:
        detect_pair_signals(frame)
    assert info.value.row == 2 and info.value.column == "session"


def test_missing_id_column_is_named() -> None:
    with pytest.raises(InputError) as info:
        build_pair_table(pd.DataFrame({"client_id": ["a"]}))
    assert info.value.column == "session"


@pytest.mark.parametrize(
    "bad", [{"bond_gap": 0}, {"client_drop": float("nan")}, {"min_trend_pairs": 1}]
)
def test_config_rejects_bad_thresholds(bad: dict[str, float]) -> None:
    with pytest.raises(InputError):
        PairConfig(**bad)


def test_summary_and_frame() -> None:
    rows = [
        _session("a", 1, (4.5, 4.5, 4.5), (4, 4, 4)),
        _session("a", 2, (3.5, 3.5, 4.0), (4, 4, 4), noticed=0),
    ]
    result = detect_pair_signals(pd.DataFrame(rows))
    text = result.summary()
    assert "2 paired sessions of 1 clients" in text and "client only: 1" in text
    frame = result.to_frame()
    frame.loc[0, "gap_total"] = 99
    assert result.sessions.loc[0, "gap_total"] != 99
