"""The compiled row kernels against plain Python written straight from each rule's definition.

Small random clinics with missing values, skipped session numbers and one-session clients;
each kernel's output is compared with a per-client loop over the same rows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bordin.feedback import _groups, _scales, ceiling, early, repairs


def _clinic(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Client-first marks, session numbers (increasing within a client, with gaps) and
    alliance values on 1-5 with about 15% missing."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 12, size=25)
    first = np.concatenate([np.eye(1, s, dtype=bool)[0] for s in sizes])
    session = np.concatenate([np.cumsum(rng.integers(1, 3, size=s)) for s in sizes])
    values = np.round(rng.uniform(1, 5, size=first.shape[0]) * 3) / 3
    values[rng.random(first.shape[0]) < 0.15] = np.nan
    return first, session.astype(np.int64), values


def _clients(first: np.ndarray) -> list[range]:
    starts = [*np.flatnonzero(first).tolist(), first.shape[0]]
    return [range(a, b) for a, b in zip(starts[:-1], starts[1:], strict=True)]


SEEDS = [1, 2, 3, 4, 5]


@pytest.mark.parametrize("seed", SEEDS)
def test_scale_pass_matches_definitions(seed: int) -> None:
    first, session, values = _clinic(seed)
    top = int(session.max()) + 1
    decay, blend, min_sessions = 0.5 ** (1 / 2.0), 0.25, 3
    prev, own, baseline, ss_by, df_by = _scales.scale_pass(
        values, first, session, top, min_sessions, decay, blend
    )
    ss_expected = np.zeros(top)
    df_expected = np.zeros(top)
    for rows in _clients(first):
        for r in rows:
            earlier = [values[q] for q in rows if q < r and not math.isnan(values[q])]
            assert (
                np.isnan(prev[r])
                if r == rows[0] or np.isnan(values[r - 1])
                else (prev[r] == values[r - 1])
            )
            if len(earlier) >= max(2, min_sessions):
                assert own[r] == pytest.approx(np.std(earlier, ddof=1), rel=1e-9, abs=1e-12)
            else:
                assert np.isnan(own[r])
            weights = [decay ** (r - 1 - q) for q in rows if q < r and not math.isnan(values[q])]
            if weights:
                level = sum(w * v for w, v in zip(weights, earlier, strict=True)) / sum(weights)
                expected = blend * prev[r] + (1 - blend) * level
                assert baseline[r] == pytest.approx(expected, rel=1e-12, nan_ok=True)
            else:
                assert np.isnan(baseline[r]) if np.isnan(prev[r]) else baseline[r] == prev[r]
        # pooled within-client sums of squares: the client's values up to each session
        for t in range(top):
            upto = [values[q] for q in rows if session[q] <= t and not math.isnan(values[q])]
            if len(upto) >= 2:
                ss_expected[t] += float(np.sum((np.array(upto) - np.mean(upto)) ** 2))
                df_expected[t] += len(upto) - 1
    assert np.cumsum(ss_by) == pytest.approx(ss_expected, rel=1e-9, abs=1e-9)
    assert np.array_equal(np.cumsum(df_by), df_expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_scale_z_uses_the_larger_sd(seed: int) -> None:
    first, session, values = _clinic(seed)
    rng = np.random.default_rng(seed)
    baseline = values + rng.normal(0, 0.5, values.shape[0])
    own = np.where(rng.random(values.shape[0]) < 0.3, np.nan, rng.uniform(0.1, 1, values.shape[0]))
    clinic = np.where(rng.random(int(session.max()) + 1) < 0.2, np.nan, 0.5)
    drop, z = _scales.scale_z(values, baseline, own, clinic, session)
    sd = np.fmax(own, clinic[session])
    assert np.array_equal(drop, baseline - values, equal_nan=True)
    with np.errstate(invalid="ignore"):
        assert np.array_equal(z, (baseline - values) / sd, equal_nan=True)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("window", [1, 3, 5])
def test_rupture_events_and_counts_follow_the_v_shape_rule(seed: int, window: int) -> None:
    first, session, values = _clinic(seed)
    rng = np.random.default_rng(seed + 100)
    n = values.shape[0]
    flag = rng.random(n) < 0.3
    onset = flag & np.concatenate(([True], ~flag[:-1] | first[1:]))
    pre = values + rng.choice([-0.5, 0.0, 0.5], n)
    depth, evidence = rng.normal(size=n), rng.normal(size=n)
    component = rng.integers(0, 4, n).astype(np.int8)
    marker = rng.integers(0, 3, n).astype(np.int8)
    remaining = np.concatenate([np.arange(len(r) - 1, -1, -1) for r in _clients(first)])
    k = int(onset.sum())
    rows, ints = np.empty((3, k), dtype=np.int64), np.empty((5, k), dtype=np.int64)
    floats, codes = np.empty((4, k)), np.empty((3, k), dtype=np.int8)
    missing = np.empty(k, dtype=bool)
    repairs.rupture_events(
        onset, remaining, session, values, pre, depth, evidence, component, marker, window,
        rows, ints, floats, codes, missing,
    )  # fmt: skip
    repaired_at, decided_at = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    for e, r in enumerate(np.flatnonzero(onset)):
        repair = decided = -1
        for later in range(r + 1, r + remaining[r] + 1):
            gap = session[later] - session[r]
            if later - r > window:
                break
            if gap <= window and values[later] >= pre[r] - 1e-9:
                repair = later
            if gap >= window:
                decided = later
            if repair >= 0 or gap >= window:
                break
        status = 1 if repair >= 0 else (2 if decided >= 0 else 0)
        last = r + remaining[r]
        at = {1: repair, 2: decided, 0: r}[status]
        length = {
            1: session[repair] - session[r],
            2: session[decided] - session[r] + 1,
            0: session[last] - session[r] + 1,
        }[status]
        assert rows[:, e].tolist() == [r, repair, decided]
        assert ints[:3, e].tolist() == [session[r], session[at], length]
        assert ints[3, e] == (session[repair] if status == 1 else 0)
        assert ints[4, e] == (length if status == 1 else 0)
        assert missing[e] == (status != 1) and codes[2, e] == status
        assert codes[:2, e].tolist() == [component[r], marker[r]]
        assert np.array_equal(floats[:, e], [pre[r], values[r], depth[r], evidence[r]], True)
        if repair >= 0:
            repaired_at[repair] += 1
        elif decided >= 0:
            decided_at[decided] += 1
    begun, repaired, unrepaired, still_open = repairs.running_counts(onset, first, rows[1], rows[2])
    for client in _clients(first):
        rs = list(client)
        assert begun[rs].tolist() == np.cumsum(onset[rs]).tolist()
        assert repaired[rs].tolist() == np.cumsum(repaired_at[rs]).tolist()
        assert unrepaired[rs].tolist() == np.cumsum(decided_at[rs]).tolist()
    assert np.array_equal(still_open, begun - repaired - unrepaired)


@pytest.mark.parametrize("seed", SEEDS)
def test_ceiling_runs(seed: int) -> None:
    first, _, values = _clinic(seed)
    values = np.where(np.random.default_rng(seed).random(values.shape[0]) < 0.4, 5.0, values)
    at_max, constant, flag = ceiling.ceiling_runs(values, first, 5.0, 3)
    for client in _clients(first):
        run_max = run_same = 0
        for r in client:
            run_max = run_max + 1 if values[r] >= 5.0 else 0
            same = r != client[0] and values[r] == values[r - 1]
            run_same = run_same + 1 if same else 0
            expected_constant = 0 if np.isnan(values[r]) else run_same + 1
            assert (at_max[r], constant[r]) == (run_max, expected_constant)
            assert flag[r] == (run_max >= 3 or expected_constant >= 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_early_means_judge_at_the_first_session_reaching_k(seed: int) -> None:
    first, session, values = _clinic(seed)
    mean, slope, judged, judge = early.early_means(values, first, session, 3)
    for client in _clients(first):
        reached = [r for r in client if session[r] >= 3]
        at = reached[0] if reached else None
        for r in client:
            assert judge[r] == (r == at)
            assert judged[r] == (at is not None and r >= at)
            if not judged[r]:
                assert np.isnan(mean[r]) and np.isnan(slope[r])
                continue
            use = [q for q in client if q <= at and session[q] <= 3 and not np.isnan(values[q])]
            x = np.array([values[q] for q in use])
            t = np.array([session[q] for q in use], dtype=float)
            assert mean[r] == pytest.approx(x.mean() if use else np.nan, nan_ok=True)
            if len(use) >= 2 and np.ptp(t) > 0:
                assert slope[r] == pytest.approx(np.polyfit(t, x, 1)[0], abs=1e-9)
            else:
                assert np.isnan(slope[r])


def test_group_layout() -> None:
    first = np.array([True, False, False, True, True, False])
    code, remaining = _groups.group_layout(first)
    assert code.tolist() == [0, 0, 0, 1, 2, 2]
    assert remaining.tolist() == [2, 1, 0, 0, 1, 0]
