"""Compiled row kernels for the feedback rules (numba).

Why compiled loops rather than numpy expressions: every rule is a short recurrence within a
client (previous value, running mean and SD, an exponentially weighted level, run lengths,
a forward search for a repair within three sessions). As numpy expressions each recurrence
becomes a dozen whole-column temporaries; on a clinic of a million sessions that made the
engine take twice as long as reading the data from CSV. A compiled kernel walks the rows
once, in the frame's client-and-session order, and keeps the recurrence's state in
registers. pandas' own ``engine="numba"`` for window and group operations takes the same
route.

Each kernel visits one client's rows in session order and resets its state at the client's
first row, so a client's values are added in the same order as a loop over that client
alone would add them: they never depend, even in the last bit, on other clients' data or on
later sessions. That is what makes "a session added later never changes an earlier signal"
hold exactly. Sums pooled across clients by session number (the clinic's within-client SD,
the expected recovery curves) are accumulated in row order into per-session bins, the same
order ``numpy.bincount`` uses.

All kernels release the GIL (``nogil=True``), so the engine's worker thread runs them on a
second core, and are cached on disk after the first compilation (``cache=True``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np

__all__ = [
    "bordin_evidence",
    "ceiling_runs",
    "early_means",
    "group_layout",
    "outcome_rows",
    "row_features",
    "rupture_events",
    "running_counts",
    "scale_pass",
    "scale_z",
    "trajectory_rows",
    "trajectory_sums",
]

_JIT: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}
_NAN = np.nan
_BIG = float(np.finfo(np.float64).max)


def group_layout(first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's client number (0, 1, ... in row order) and the number of rows of its
    client after it, from the mark on each client's first row."""
    out = np.empty((2, first.shape[0]), dtype=np.int64)
    _group_layout(first, out)
    return out[0], out[1]


@numba.njit(**_JIT)
def _group_layout(first: np.ndarray, out: np.ndarray) -> None:
    code = -1
    for r in range(first.shape[0]):
        if first[r]:
            code += 1
        out[0, r] = code
    after = 0
    for r in range(first.shape[0] - 1, -1, -1):
        out[1, r] = after
        after = 0 if first[r] else after + 1


def scale_pass(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    top: int,
    sd_min_sessions: int,
    decay: float,
    blend: float,
) -> tuple[np.ndarray, ...]:
    """One alliance scale, row by row: the previous value, the client's own within-client SD
    of the earlier sessions (ddof 1; NaN until ``sd_min_sessions`` earlier values), Bordin's
    baseline (``blend`` x the previous value + (1 - ``blend``) x the exponentially weighted
    level of the earlier sessions, ``decay`` per session; the previous value alone before
    there is a level; skipped when ``decay`` is 0), and per session number the clinic's
    pooled within-client sum of squares and degrees of freedom (Welford's update of each
    client's own mean).

    Sums are taken around the client's first value (a client-local centre, for accuracy).
    """
    n = values.shape[0]
    out = (np.empty(n), np.empty(n), np.empty(n if decay > 0.0 else 0), np.zeros((2, top)))
    _scale_pass(values, first, session, sd_min_sessions, decay, blend, *out)
    return out[0], out[1], out[2], out[3][0], out[3][1]


@numba.njit(**_JIT)
def _scale_pass(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    sd_min_sessions: int,
    decay: float,
    blend: float,
    prev: np.ndarray,
    own: np.ndarray,
    baseline: np.ndarray,
    by_session: np.ndarray,
) -> None:
    n = values.shape[0]
    centre = 0.0
    count = 0.0
    s1 = 0.0
    s2 = 0.0
    ew_s = 0.0
    ew_w = 0.0
    for r in range(n):
        v = values[r]
        if first[r]:
            centre = 0.0 if math.isnan(v) else v
            count = 0.0
            s1 = 0.0
            s2 = 0.0
            ew_s = 0.0
            ew_w = 0.0
            prev[r] = _NAN
        else:
            prev[r] = values[r - 1]
        if decay > 0.0:
            p = prev[r]
            baseline[r] = blend * p + (1.0 - blend) * (ew_s / ew_w) if ew_w > 1e-12 else p
        if count >= 2.0 and count >= sd_min_sessions:
            mean_c = s1 / count
            var = (s2 - s1 * mean_c) / (count - 1.0)
            own[r] = math.sqrt(var) if var > 0.0 else 0.0
        else:
            own[r] = _NAN
        ok = not math.isnan(v)
        if ok and count >= 1.0:
            d = v - (s1 / count + centre)
            by_session[0, session[r]] += d * d * count / (count + 1.0)
            by_session[1, session[r]] += 1.0
        if ok:
            dv = v - centre
            count += 1.0
            s1 += dv
            s2 += dv * dv
        if decay > 0.0:
            ew_s = (v if ok else 0.0) + decay * ew_s
            ew_w = (1.0 if ok else 0.0) + decay * ew_w


def scale_z(
    values: np.ndarray,
    baseline: np.ndarray,
    own: np.ndarray,
    clinic_by_session: np.ndarray,
    session: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Drop from ``baseline`` to this session and that drop in units of
    max(own SD, clinic SD at this session number) (NaN where both are missing)."""
    drop, z = np.empty(values.shape[0]), np.empty(values.shape[0])
    _scale_z(values, baseline, own, clinic_by_session, session, drop, z)
    return drop, z


@numba.njit(**_JIT)
def _scale_z(
    values: np.ndarray,
    baseline: np.ndarray,
    own: np.ndarray,
    clinic_by_session: np.ndarray,
    session: np.ndarray,
    drop: np.ndarray,
    z: np.ndarray,
) -> None:
    for r in range(values.shape[0]):
        d = baseline[r] - values[r]
        a = own[r]
        b = clinic_by_session[session[r]]
        sd = b if math.isnan(a) else (a if math.isnan(b) else max(a, b))
        drop[r] = d
        z[r] = d / sd


def row_features(
    z_subscales: Sequence[np.ndarray], items: Sequence[np.ndarray], item_threshold: float, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the subscale that dropped most (0 bond, 1 goal, 2 task, 3 none) and that
    drop in its SD units; the marker (0 withdrawal, 1 confrontation, 2 unknown); the
    strongest rupture item and the sum of the items (NaN when none was asked).

    ``z_subscales`` are the bond, goal and task drops in SD units and ``items`` the tension,
    feeling misunderstood and withdrawal items; an array of length 0 is a subscale or item
    the instrument does not have.
    """
    codes = np.empty((2, n), dtype=np.int8)
    floats = np.empty((3, n))
    z_bond, z_goal, z_task = z_subscales
    tension, misunderstood, withdrawal = items
    _row_features(
        z_bond, z_goal, z_task, tension, misunderstood, withdrawal, item_threshold, codes, floats
    )
    return codes[0], floats[0], codes[1], floats[1], floats[2]


@numba.njit(**_JIT)
def _row_features(
    z_bond: np.ndarray,
    z_goal: np.ndarray,
    z_task: np.ndarray,
    tension: np.ndarray,
    misunderstood: np.ndarray,
    withdrawal: np.ndarray,
    item_threshold: float,
    codes: np.ndarray,
    floats: np.ndarray,
) -> None:
    for r in range(codes.shape[1]):
        index = 3
        best = -np.inf
        if z_bond.shape[0] and z_bond[r] > best:
            best = z_bond[r]
            index = 0
        if z_goal.shape[0] and z_goal[r] > best:
            best = z_goal[r]
            index = 1
        if z_task.shape[0] and z_task[r] > best:
            best = z_task[r]
            index = 2
        codes[0, r] = index
        floats[0, r] = _NAN if math.isinf(best) else best
        t = tension[r] if tension.shape[0] else _NAN
        m = misunderstood[r] if misunderstood.shape[0] else _NAN
        w = withdrawal[r] if withdrawal.shape[0] else _NAN
        # fmax: the larger value that is present, NaN when neither is
        confront = m if math.isnan(t) else (t if math.isnan(m) else max(t, m))
        strongest = w if math.isnan(confront) else (confront if math.isnan(w) else max(confront, w))
        floats[1, r] = strongest
        c = -1.0 if math.isnan(confront) else confront
        wd = -1.0 if math.isnan(w) else w
        mark = 2
        if c >= item_threshold and c > wd:
            mark = 1
        if wd >= item_threshold and wd >= c:
            mark = 0
        codes[1, r] = mark
        if math.isnan(t) and math.isnan(m) and math.isnan(w):
            floats[2, r] = _NAN
        else:
            total = 0.0
            if not math.isnan(t):
                total += t
            if not math.isnan(m):
                total += m
            if not math.isnan(w):
                total += w
            floats[2, r] = total


def bordin_evidence(
    z: np.ndarray,
    drop: np.ndarray,
    sub_z: np.ndarray,
    item_sum: np.ndarray,
    item_weight: float,
    threshold: float,
    threshold_no_items: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Bordin's evidence :math:`z + \\tfrac12\\max(0, z^{sub} - z) + \\lambda I` and its
    flag (evidence at or above the threshold and the alliance fell by more than noise)."""
    evidence, flag = np.empty(z.shape[0]), np.empty(z.shape[0], dtype=bool)
    _bordin_evidence(
        z, drop, sub_z, item_sum, item_weight, threshold, threshold_no_items, evidence, flag
    )
    return evidence, flag


@numba.njit(**_JIT)
def _bordin_evidence(
    z: np.ndarray,
    drop: np.ndarray,
    sub_z: np.ndarray,
    item_sum: np.ndarray,
    item_weight: float,
    threshold: float,
    threshold_no_items: float,
    evidence: np.ndarray,
    flag: np.ndarray,
) -> None:
    for r in range(z.shape[0]):
        zr = z[r]
        # numpy.nan_to_num: NaN to 0, infinities to the largest finite values
        z0 = 0.0 if math.isnan(zr) else (_BIG if zr == np.inf else (-_BIG if zr == -np.inf else zr))
        s = sub_z[r]
        boost = 0.0 if math.isnan(s) else 0.5 * max(s - z0, 0.0)
        items = item_sum[r]
        asked = not math.isnan(items)
        e = zr + boost + item_weight * (items if asked else 0.0)
        evidence[r] = e
        flag[r] = e >= (threshold if asked else threshold_no_items) and drop[r] > 1e-9


@numba.njit(**_JIT)
def rupture_events(
    onset: np.ndarray,
    remaining: np.ndarray,
    session: np.ndarray,
    values: np.ndarray,
    pre_level: np.ndarray,
    depth: np.ndarray,
    evidence: np.ndarray,
    component: np.ndarray,
    marker: np.ndarray,
    window: int,
    out_row: np.ndarray,
    out_int: np.ndarray,
    out_float: np.ndarray,
    out_code: np.ndarray,
    out_missing: np.ndarray,
) -> None:
    """Rupture events (the rows of ``onset``, in row order) and their repair, written into
    the ``out_*`` arrays (one entry per event; the ``out_*`` arrays with two dimensions
    hold one field per row, in the order listed below).

    An event is repaired at the first later session within ``window`` sessions after onset
    where the alliance is back at least at the pre-rupture level, unrepaired at the first
    later session at or past onset + window without that, and open until then.

    ``out_row``: rows 0-2 the onset row, the repair row and the row at which the event was
    declared unrepaired (-1 where that has not happened). ``out_int``: the onset session,
    the session at which the status was last set (repair, decision, or the client's latest
    session while open), the length in sessions (to the repair; through the deciding
    session; so far while open), the repair session and the time to repair (0 where not
    repaired, see ``out_missing``). ``out_float``: pre-rupture level, the value, depth and
    evidence. ``out_code``: component, marker and status (0 open, 1 repaired,
    2 unrepaired).
    """
    e = 0
    for r in range(onset.shape[0]):
        if not onset[r]:
            continue
        repair = -1
        decided = -1
        target = pre_level[r] - 1e-9
        for j in range(1, window + 1):
            if remaining[r] < j:
                break
            later = r + j
            gap = session[later] - session[r]
            back = gap <= window and values[later] >= target
            if back:
                repair = later
            if gap >= window:
                decided = later
            if back or gap >= window:
                break
        start = session[r]
        if repair >= 0:
            status = 1
            at = session[repair]
            length = at - start
        elif decided >= 0:
            status = 2
            at = session[decided]
            length = at - start + 1
        else:
            status = 0
            at = start
            length = session[r + remaining[r]] - start + 1
        out_row[0, e] = r
        out_row[1, e] = repair
        out_row[2, e] = decided
        out_int[0, e] = start
        out_int[1, e] = at
        out_int[2, e] = length
        out_int[3, e] = at if status == 1 else 0
        out_int[4, e] = length if status == 1 else 0
        out_missing[e] = status != 1
        out_float[0, e] = pre_level[r]
        out_float[1, e] = values[r]
        out_float[2, e] = depth[r]
        out_float[3, e] = evidence[r]
        out_code[0, e] = component[r]
        out_code[1, e] = marker[r]
        out_code[2, e] = status
        e += 1


def running_counts(
    onset: np.ndarray,
    first: np.ndarray,
    repair_row: np.ndarray,
    decided_row: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row, the client's ruptures begun, repaired, declared unrepaired and still open
    so far."""
    n = onset.shape[0]
    out = np.empty((4, n), dtype=np.int64)
    settled = np.zeros((2, n), dtype=np.int32)  # repairs and decisions at each row
    _running_counts(onset, first, repair_row, decided_row, settled, out)
    return out[0], out[1], out[2], out[3]


@numba.njit(**_JIT)
def _running_counts(
    onset: np.ndarray,
    first: np.ndarray,
    repair_row: np.ndarray,
    decided_row: np.ndarray,
    settled: np.ndarray,
    out: np.ndarray,
) -> None:
    for e in range(repair_row.shape[0]):
        if repair_row[e] >= 0:
            settled[0, repair_row[e]] += 1
        elif decided_row[e] >= 0:
            settled[1, decided_row[e]] += 1
    begun = 0
    repaired = 0
    unrepaired = 0
    for r in range(onset.shape[0]):
        if first[r]:
            begun = 0
            repaired = 0
            unrepaired = 0
        if onset[r]:
            begun += 1
        repaired += settled[0, r]
        unrepaired += settled[1, r]
        out[0, r] = begun
        out[1, r] = repaired
        out[2, r] = unrepaired
        out[3, r] = begun - repaired - unrepaired


def ceiling_runs(
    values: np.ndarray, first: np.ndarray, maximum: float, sessions: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of sessions at the scale maximum and of identical ratings ending at each row,
    and whether either run is ``sessions`` long or longer."""
    runs = np.empty((2, values.shape[0]), dtype=np.int64)
    flag = np.empty(values.shape[0], dtype=bool)
    _ceiling_runs(values, first, maximum, sessions, runs, flag)
    return runs[0], runs[1], flag


@numba.njit(**_JIT)
def _ceiling_runs(
    values: np.ndarray,
    first: np.ndarray,
    maximum: float,
    sessions: int,
    runs: np.ndarray,
    flag: np.ndarray,
) -> None:
    n = values.shape[0]
    at_max = 0
    same = 0
    for r in range(n):
        v = values[r]
        if first[r]:
            at_max = 0
            same = 0
        at_max = at_max + 1 if v >= maximum - 1e-9 else 0
        if not first[r] and abs(v - values[r - 1]) < 1e-9:
            same += 1
        else:
            same = 0
        # a run of k identical ratings is k - 1 "same as before" sessions plus one
        c = 0 if math.isnan(v) else same + 1
        runs[0, r] = at_max
        runs[1, r] = c
        flag[r] = at_max >= sessions or c >= sessions


def early_means(
    values: np.ndarray, first: np.ndarray, session: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and least-squares slope of the alliance over sessions 1..k, judged at the
    client's first row numbered k or later and carried forward (NaN before it); whether the
    client has been judged by each row, and the judging rows."""
    floats = np.empty((2, values.shape[0]))
    flags = np.empty((2, values.shape[0]), dtype=bool)
    _early_means(values, first, session, k, floats, flags)
    return floats[0], floats[1], flags[0], flags[1]


@numba.njit(**_JIT)
def _early_means(
    values: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    k: int,
    floats: np.ndarray,
    flags: np.ndarray,
) -> None:
    n = values.shape[0]
    start = 0
    done = False
    m = _NAN
    b = _NAN
    for r in range(n):
        if first[r]:
            start = r
            done = False
            m = _NAN
            b = _NAN
        flags[1, r] = not done and session[r] >= k
        if flags[1, r]:
            done = True
            cnt = 0.0
            sx = 0.0
            st = 0.0
            stt = 0.0
            stx = 0.0
            for q in range(r, start - 1, -1):  # from the judging row backwards
                x = values[q]
                t = session[q]
                if t <= k and not math.isnan(x):
                    cnt += 1.0
                    sx += x
                    st += t
                    stt += t * t
                    stx += t * x
            m = sx / cnt if cnt > 0 else _NAN
            den = cnt * stt - st * st
            b = (cnt * stx - st * sx) / den if cnt >= 2 and den > 0 else _NAN
        floats[0, r] = m
        floats[1, r] = b
        flags[0, r] = done


def outcome_rows(
    y: np.ndarray,
    first: np.ndarray,
    threshold: float,
    higher_is_better: bool,
    cutoff: float,
    case_op: int,
    response_fraction: float,
    defines_response: bool,
    remission_below: float,
) -> tuple[np.ndarray, ...]:
    """Intake (the client's first score, carried forward), change from it, and per row
    whether change is a reliable improvement or deterioration (``threshold``, NaN for
    none), recovery, response, remission and caseness; ``status`` codes index
    :data:`bordin.feedback.outcomes.OUTCOME_STATUSES`.

    ``case_op`` says how a score compares with ``cutoff`` to be a case (0 ``>=``, 1 ``>``,
    2 ``<=``, 3 ``<``); a NaN cutoff makes no score a case.
    """
    n = y.shape[0]
    floats = np.empty((2, n))
    flags = np.zeros((6, n), dtype=bool)
    status = np.empty(n, dtype=np.int8)
    _outcome_rows(
        y,
        first,
        threshold,
        higher_is_better,
        cutoff,
        case_op,
        response_fraction,
        defines_response,
        remission_below,
        floats,
        flags,
        status,
    )
    return (floats[0], floats[1], *flags, status)


@numba.njit(**_JIT)
def _outcome_rows(
    y: np.ndarray,
    first: np.ndarray,
    threshold: float,
    higher_is_better: bool,
    cutoff: float,
    case_op: int,
    response_fraction: float,
    defines_response: bool,
    remission_below: float,
    floats: np.ndarray,
    flags: np.ndarray,
    status: np.ndarray,
) -> None:
    # flags: improved, deteriorated, recovered, response, remission, caseness
    n = y.shape[0]
    tolerance = 1e-9 * max(1.0, threshold)
    base = _NAN
    for r in range(n):
        v = y[r]
        ok = not math.isnan(v)
        is_intake = False
        if first[r]:
            base = _NAN
        if ok and math.isnan(base):
            base = v
            is_intake = True
        floats[0, r] = base
        c = v - base
        floats[1, r] = c
        case_now = _is_case(v, cutoff, case_op)
        flags[5, r] = case_now
        code = 4  # not assessed
        if ok and not math.isnan(base) and not is_intake:
            code = 2  # no reliable change
            if not math.isnan(threshold) and abs(c) >= threshold - tolerance:
                gain = c if higher_is_better else -c
                if gain > 0:
                    flags[0, r] = True
                    code = 1
                    if _is_case(base, cutoff, case_op) and not case_now:
                        flags[2, r] = True
                        code = 0
                elif gain < 0:
                    flags[1, r] = True
                    code = 3
            if defines_response and base > 0 and (base - v) / base >= response_fraction:
                flags[3, r] = True
            if v < remission_below:
                flags[4, r] = True
        status[r] = code


@numba.njit(**_JIT)
def _is_case(value: float, cutoff: float, op: int) -> bool:
    if op == 0:
        return value >= cutoff
    if op == 1:
        return value > cutoff
    if op == 2:
        return value <= cutoff
    return value < cutoff


@numba.njit(**_JIT)
def trajectory_sums(
    intake: np.ndarray,
    change: np.ndarray,
    first: np.ndarray,
    session: np.ndarray,
    log_session: np.ndarray,
    sign: float,
    top: int,
) -> np.ndarray:
    """Per session number, the weighted least-squares sums of the expected-recovery model
    over follow-up sessions with a score and an intake, the number of such sessions, and
    the clients whose first such session it is (rows of the result, in that order:
    s11, s12, s22, r1, r2, rr, n, clients)."""
    sums = np.zeros((8, top))
    seen = False
    for r in range(intake.shape[0]):
        if first[r]:
            seen = False
        t = session[r]
        y1 = sign * intake[r]
        delta = sign * change[r]
        if t < 2 or math.isnan(delta) or math.isnan(y1):
            continue
        lt = log_session[t]
        sums[0, t] += lt
        sums[1, t] += y1 * lt
        sums[2, t] += y1 * y1 * lt
        sums[3, t] += delta
        sums[4, t] += y1 * delta
        sums[5, t] += delta * delta / lt
        sums[6, t] += 1.0
        if not seen:
            sums[7, t] += 1.0
            seen = True
    return sums


def trajectory_rows(
    intake: np.ndarray,
    change: np.ndarray,
    caseness: np.ndarray,
    session: np.ndarray,
    log_session: np.ndarray,
    sign: float,
    by_session: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Expected change, upper prediction limit and colour code (0 red, 1 yellow, 2 green,
    3 white, -1 none) per row, from the per-session model in ``by_session`` (rows: c, d,
    the inverse cross-product's 11, 12 and 22 entries, the limit's spread t x sigma, and the
    source code), all on the severity scale and returned on the instrument's own."""
    n = intake.shape[0]
    floats = np.empty((3, n))  # expected, upper, change where shown
    off = np.zeros(n, dtype=bool)
    codes = np.full((2, n), -1, dtype=np.int8)  # colour, source
    _trajectory_rows(
        intake, change, caseness, session, log_session, sign, by_session, floats, off, codes
    )
    return floats[0], floats[1], floats[2], off, codes[0], codes[1]


@numba.njit(**_JIT)
def _trajectory_rows(
    intake: np.ndarray,
    change: np.ndarray,
    caseness: np.ndarray,
    session: np.ndarray,
    log_session: np.ndarray,
    sign: float,
    by_session: np.ndarray,
    floats: np.ndarray,
    off: np.ndarray,
    codes: np.ndarray,
) -> None:
    for r in range(intake.shape[0]):
        t = session[r]
        y1 = sign * intake[r]
        lt = log_session[t]
        e = (by_session[0, t] + by_session[1, t] * y1) * lt
        lev = lt * (by_session[2, t] + 2 * y1 * by_session[3, t] + y1 * y1 * by_session[4, t])
        u = e + by_session[5, t] * math.sqrt(lt * (1.0 + lev))
        c = sign * change[r]
        if t < 2 or math.isnan(c) or math.isnan(u):
            floats[0, r] = _NAN
            floats[1, r] = _NAN
            floats[2, r] = _NAN
            continue
        floats[0, r] = sign * e
        floats[1, r] = sign * u
        floats[2, r] = change[r]
        codes[1, r] = np.int8(by_session[6, t])
        if c > u:
            off[r] = True
            codes[0, r] = 0
        elif not caseness[r]:
            codes[0, r] = 3
        elif c > e:
            codes[0, r] = 1
        else:
            codes[0, r] = 2
