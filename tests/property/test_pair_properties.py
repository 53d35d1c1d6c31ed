"""Pair signals invariants (Hypothesis): no look-ahead, invariant to row order."""

from __future__ import annotations

from random import Random

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bordin.feedback import PairSignalsResult, detect_pair_signals

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_rating = st.sampled_from([x / 2 for x in range(2, 11)])  # 1.0 .. 5.0 by 0.5


@st.composite
def clinics(draw: st.DrawFn) -> pd.DataFrame:
    rows = []
    for c in range(draw(st.integers(1, 4))):
        for s in sorted(draw(st.sets(st.integers(1, 8), min_size=1, max_size=7))):
            row: dict[str, object] = {"client_id": f"c{c}", "therapist_id": "t", "session": s}
            if draw(st.integers(0, 4)) > 0:
                client = [draw(_rating) for _ in range(3)]
                row.update(zip(("sac_bond", "sac_goal", "sac_task"), client, strict=True))
                row["sac_total"] = sum(client) / 3
                for k in ("tension", "misunderstood", "withdrawal"):
                    row[f"sac_{k}"] = draw(st.sampled_from([0, 0, 0, 1, 2, 3]))
            if draw(st.integers(0, 3)) > 0:
                therapist = [draw(_rating) for _ in range(3)]
                row.update(zip(("tsc_bond", "tsc_goal", "tsc_task"), therapist, strict=True))
                row["tsc_total"] = sum(therapist) / 3
                row["tsc_rupture"] = draw(st.sampled_from([0, 0, 1, 2, 3]))
            rows.append(row)
    return pd.DataFrame(rows)


def _alerts(result: PairSignalsResult, upto: int | None = None) -> list[dict[str, object]]:
    return [a.to_dict() for a in result.alerts if upto is None or a.session <= upto]


@SETTINGS
@given(clinics(), st.integers(1, 8))
def test_no_look_ahead(frame: pd.DataFrame, cut: int) -> None:
    """Signals up to session ``cut`` are the same when later sessions are removed."""
    full = detect_pair_signals(frame)
    truncated = detect_pair_signals(frame[frame["session"] <= cut])
    early = full.sessions[full.sessions["session"] <= cut].reset_index(drop=True)
    pd.testing.assert_frame_equal(early, truncated.sessions, check_dtype=False)
    assert _alerts(full, cut) == _alerts(truncated)


@SETTINGS
@given(clinics(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(frame: pd.DataFrame, random: Random) -> None:
    order = list(range(len(frame)))
    random.shuffle(order)
    a = detect_pair_signals(frame)
    b = detect_pair_signals(frame.iloc[order])
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    pd.testing.assert_frame_equal(a.ruptures, b.ruptures)
    assert _alerts(a) == _alerts(b)


@SETTINGS
@given(clinics())
def test_gaps_are_client_minus_therapist_and_sides_exclusive(frame: pd.DataFrame) -> None:
    out = detect_pair_signals(frame).sessions
    for c in ("bond", "goal", "task", "total"):
        np.testing.assert_allclose(
            out[f"gap_{c}"], out[f"client_{c}"] - out[f"therapist_{c}"], equal_nan=True
        )
    client_only = out["one_sided"] == "client_only"
    therapist_only = out["one_sided"] == "therapist_only"
    assert (out.loc[client_only, "therapist_rupture"] == 0).all()
    assert out.loc[client_only, "client_rupture"].all()
    assert not out.loc[therapist_only, "client_rupture"].any()
