"""Rupture detectors: published SD criteria against a loop-based reference, hand-built cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.errors import InputError
from bordin.feedback import FeedbackConfig, compute_feedback, detect_ruptures
from bordin.feedback._prepare import prepare_scores
from bordin.feedback.ruptures import run_detector


def _stable_clinic(n_clients: int = 30, n_sessions: int = 6, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_clients):
        level = rng.uniform(3.6, 4.4)
        for s in range(1, n_sessions + 1):
            x = float(np.clip(level + rng.normal(0, 0.15), 1, 5))
            rows.append({"client_id": f"k{c:02d}", "session": s, "sac_total": x})
    return pd.DataFrame(rows)


def _reference_sd_flags(frame: pd.DataFrame, k: float, min_sessions: int = 3) -> set[tuple]:
    """Loop implementation of the Gumz et al. (2012) scale and the k x SD drop rule."""
    frame = frame.sort_values(["client_id", "session"])
    by_client = {c: g["sac_total"].to_numpy() for c, g in frame.groupby("client_id")}
    sess_by_client = {c: g["session"].to_numpy() for c, g in frame.groupby("client_id")}
    flags = set()
    for client, x in by_client.items():
        sessions = sess_by_client[client]
        for i in range(1, len(x)):
            t = sessions[i]
            # clinic pooled within-client SD over sessions numbered <= t
            ss, df = 0.0, 0
            for other, y in by_client.items():
                ys = y[sess_by_client[other] <= t]
                if len(ys) >= 2:
                    ss += float(np.sum((ys - ys.mean()) ** 2))
                    df += len(ys) - 1
            clinic = np.sqrt(ss / df) if df >= 20 else np.nan
            own = np.std(x[:i], ddof=1) if i >= min_sessions else np.nan
            scale = np.fmax(own, clinic)
            if np.isfinite(scale) and x[i - 1] - x[i] >= k * scale:
                flags.add((client, int(t)))
    return flags


@pytest.mark.parametrize(("detector", "k"), [("sd_k1", 1.0), ("sd_k2", 2.0)])
def test_sd_criteria_match_loop_reference(detector: str, k: float) -> None:
    frame = _stable_clinic()
    # add some drops of different sizes
    frame.loc[(frame["client_id"] == "k03") & (frame["session"] == 4), "sac_total"] -= 0.5
    frame.loc[(frame["client_id"] == "k07") & (frame["session"] == 5), "sac_total"] -= 0.25
    prepared = prepare_scores(frame, alliance="sac")
    det = run_detector(prepared, detector=detector, config=FeedbackConfig())  # type: ignore[arg-type]
    got = {
        (c, int(s))
        for c, s, f in zip(
            prepared.frame["client_id"], prepared.frame["session"], det.flag, strict=True
        )
        if f
    }
    assert got == _reference_sd_flags(frame, k)
    assert ("k03", 4) in got


def test_k1_is_more_sensitive_than_k2() -> None:
    frame = _stable_clinic()
    frame.loc[(frame["client_id"] == "k05") & (frame["session"] == 4), "sac_total"] -= 0.3
    k1 = detect_ruptures(frame, detector="sd_k1")
    k2 = detect_ruptures(frame, detector="sd_k2")
    assert set(zip(k2["client_id"], k2["onset"], strict=True)) <= set(
        zip(k1["client_id"], k1["onset"], strict=True)
    )
    assert len(k1) > len(k2)


def _clinic_with_target(target: list[dict[str, float]]) -> pd.DataFrame:
    base = _stable_clinic(n_sessions=len(target))
    base["sac_bond"] = base["sac_total"]
    base["sac_goal"] = base["sac_total"]
    base["sac_task"] = base["sac_total"]
    for col in ("sac_tension", "sac_misunderstood", "sac_withdrawal"):
        base[col] = 0.0
    rows = [{"client_id": "target", "session": i + 1, **r} for i, r in enumerate(target)]
    return pd.concat([base, pd.DataFrame(rows)], ignore_index=True)


def _session(total: float, bond: float | None = None, **items: float) -> dict[str, float]:
    bond = total if bond is None else bond
    rest = (3 * total - bond) / 2
    row = {"sac_total": total, "sac_bond": bond, "sac_goal": rest, "sac_task": rest}
    row.update({"sac_tension": 0.0, "sac_misunderstood": 0.0, "sac_withdrawal": 0.0})
    row.update(items)
    return row


def test_bordin_detector_types_a_bond_rupture_with_withdrawal_marker() -> None:
    target = [_session(4.2), _session(4.3), _session(4.2), _session(4.25)]
    target += [_session(3.3, bond=2.5, sac_withdrawal=3.0, sac_tension=1.0)]
    target += [_session(4.3)]
    frame = _clinic_with_target(target)
    events = detect_ruptures(frame, detector="bordin")
    mine = events[events["client_id"] == "target"]
    assert len(mine) == 1
    event = mine.iloc[0]
    assert event["onset"] == 5
    assert event["component"] == "bond"
    assert event["marker"] == "withdrawal"
    assert event["depth"] == pytest.approx(event["pre_level"] - 3.3)
    # the other clients' ruptures are real drops of at least 2 within-client SDs (0.3)
    others = events[events["client_id"] != "target"]
    assert (others["depth"] > 0.3).all()


def test_confrontation_marker_from_tension_and_feeling_misunderstood() -> None:
    target = [_session(4.2), _session(4.3), _session(4.2)]
    target += [_session(3.6, bond=4.0, sac_tension=3.0, sac_misunderstood=3.0)]
    frame = _clinic_with_target(target)
    events = detect_ruptures(frame, detector="bordin")
    event = events[events["client_id"] == "target"].iloc[0]
    assert event["marker"] == "confrontation"
    assert event["component"] in ("goal", "task")


def test_items_detector_flags_self_reported_rupture_even_without_a_drop() -> None:
    target = [_session(4.8), _session(4.8), _session(4.8, sac_tension=2.0)]
    frame = _clinic_with_target(target)
    items = detect_ruptures(frame, detector="items")
    assert list(zip(items["client_id"], items["onset"], strict=True)) == [("target", 3)]
    # Bordin's detector needs the alliance to have fallen
    assert detect_ruptures(frame, detector="bordin").empty


def test_consecutive_flagged_sessions_are_one_event() -> None:
    target = [_session(4.5), _session(4.5), _session(4.4), _session(3.6), _session(2.8)]
    frame = _clinic_with_target(target)
    k1 = detect_ruptures(frame, detector="sd_k1")
    mine = k1[k1["client_id"] == "target"]
    assert list(mine["onset"]) == [4]


def test_small_drop_is_not_a_rupture() -> None:
    target = [_session(4.2), _session(4.3), _session(4.2), _session(4.15)]
    frame = _clinic_with_target(target)
    for detector in ("bordin", "sd_k1", "sd_k2"):
        events = detect_ruptures(frame, detector=detector)  # type: ignore[arg-type]
        assert "target" not in set(events["client_id"]), detector


def test_subscale_level_detection() -> None:
    target = [_session(4.2), _session(4.3), _session(4.2), _session(3.9, bond=3.0)]
    frame = _clinic_with_target(target)
    bond = detect_ruptures(frame, detector="sd_k2", scale="bond")
    assert ("target", 4) in set(zip(bond["client_id"], bond["onset"], strict=True))
    assert set(bond["component"]) == {"bond"}


def test_reliable_change_detector_needs_a_threshold() -> None:
    # The session alliance check defines no reliable-change threshold (not validated).
    with pytest.raises(InputError, match="reliable-change"):
        detect_ruptures(_stable_clinic(), detector="reliable_change")


def test_reliable_change_detector_with_a_clinic_threshold() -> None:
    frame = _stable_clinic()
    frame.loc[(frame["client_id"] == "k01") & (frame["session"] == 3), "sac_total"] -= 0.9
    frame.loc[(frame["client_id"] == "k02") & (frame["session"] == 3), "sac_total"] -= 0.2
    cfg = FeedbackConfig(alliance_reliable_change=0.6)
    events = detect_ruptures(frame, detector="reliable_change", config=cfg)
    prev = frame.set_index(["client_id", "session"])["sac_total"]
    expected = {(c, s) for (c, s), x in prev.items() if s > 1 and prev[(c, s - 1)] - x >= 0.6}
    assert set(zip(events["client_id"], events["onset"], strict=True)) == expected
    assert ("k01", 3) in expected and ("k02", 3) not in expected
    result = compute_feedback(frame, outcomes=(), config=cfg)
    assert "reliable_change" in set(result.ruptures["detector"])


def test_errors_name_the_problem() -> None:
    with pytest.raises(InputError, match="unknown rupture detector"):
        detect_ruptures(_stable_clinic(), detector="magic")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="sac_bond"):
        detect_ruptures(_stable_clinic(), detector="sd_k1", scale="bond")
    bad = _stable_clinic()
    bad.loc[3, "session"] = 0
    with pytest.raises(InputError, match="session"):
        detect_ruptures(bad)
    dup = pd.concat([_stable_clinic(), _stable_clinic().iloc[:1]])
    with pytest.raises(InputError, match="twice"):
        detect_ruptures(dup)
    with pytest.raises(InputError, match="sac_total"):
        detect_ruptures(_stable_clinic().drop(columns="sac_total"))
