"""Rupture events and their repair: V-shape within a window, and the client-level code.

A rupture is *repaired* when the alliance returns to at least its pre-rupture level within
``repair_window`` sessions after onset (a V-shape), *unrepaired* when the window has passed
without that, and *open* until then (McLaughlin, Keller, Feeny, Youngstrom & Zoellner,
2014; Stiles et al., 2004). The status is the only value later sessions change, and each
event carries the session at which it changed (``status_session``).

References
----------
McLaughlin, A. A., Keller, S. M., Feeny, N. C., Youngstrom, E. A., & Zoellner, L. A. (2014).
Patterns of therapeutic alliance: rupture-repair episodes in prolonged exposure for PTSD.
doi:10.1037/a0034696
Safran, J. D., Muran, J. C., & Eubanks-Carter, C. (2011). Repairing alliance ruptures.
doi:10.1037/a0022140
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Final

import numba
import numpy as np
import pandas as pd

from bordin.feedback._categorical import from_codes
from bordin.feedback._groups import BoolArray, FloatArray, IntArray
from bordin.feedback._jit import JIT
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.ruptures import COMPONENTS, DETECTORS, MARKERS, Detection

__all__ = [
    "CLIENT_CODES",
    "RUPTURE_COLUMNS",
    "STATUSES",
    "RuptureCounts",
    "classify_repairs",
    "classify_repairs_counted",
    "client_rupture_code",
]

RUPTURE_COLUMNS: Final = (
    "client_id",
    "detector",
    "scale",
    "onset",
    "component",
    "marker",
    "pre_level",
    "value",
    "depth",
    "evidence",
    "status",
    "status_session",
    "repair_session",
    "time_to_repair",
    "length",
)
CLIENT_CODES: Final = ("none", "open", "repaired", "unrepaired")
STATUSES: Final = ("open", "repaired", "unrepaired")


@dataclass(frozen=True)
class RuptureCounts:
    """Per-row counts, as known at that session: ruptures begun, repaired, declared
    unrepaired, and still open."""

    onsets: IntArray
    repaired: IntArray
    unrepaired: IntArray
    open: IntArray


def classify_repairs(
    detection: Detection, prepared: Prepared, config: FeedbackConfig, *, counts: bool = True
) -> tuple[pd.DataFrame, RuptureCounts | None]:
    """Turn a detector's onsets into rupture events with their repair status.

    Returns the events (columns :data:`RUPTURE_COLUMNS`, sorted by client and onset) and the
    per-session counts of ruptures begun, repaired and declared unrepaired up to each session
    (None with ``counts=False``).
    """
    events, repair_row, decided_row, _ = _classify([detection], prepared, config)
    if not counts:
        return events, None
    return events, _counts(detection, repair_row, decided_row, prepared)


def classify_repairs_counted(
    detections: list[Detection],
    prepared: Prepared,
    config: FeedbackConfig,
    pool: Executor | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, RuptureCounts]:
    """All detections' events in one table, in input order (each as
    :func:`classify_repairs` finds them); and the first detection's events and per-session
    counts.

    With a ``pool``, the later detections' events (about half of all events) are found in
    one of its threads while this thread finds the others; each writes only its own
    detections' part of the table, so the result is the same.
    """
    events, repair_row, decided_row, n_first = _classify(detections, prepared, config, pool)
    counts = _counts(detections[0], repair_row[:n_first], decided_row[:n_first], prepared)
    if not len(events):
        return events, _no_events(prepared.client_id), counts
    return events, events.iloc[:n_first], counts


def _counts(
    detection: Detection, repair_row: IntArray, decided_row: IntArray, prepared: Prepared
) -> RuptureCounts:
    onsets, repaired, unrepaired, still_open = running_counts(
        detection.onset, prepared.groups.first, repair_row, decided_row
    )
    return RuptureCounts(onsets=onsets, repaired=repaired, unrepaired=unrepaired, open=still_open)


_SPLIT_EVENTS = 100_000  # fewer events are all found in the calling thread


def _classify(
    detections: list[Detection],
    prepared: Prepared,
    config: FeedbackConfig,
    pool: Executor | None = None,
) -> tuple[pd.DataFrame, IntArray, IntArray, int]:
    """Events of all detections with the rows where each was repaired / declared unrepaired,
    and the number of events of the first detection."""
    groups = prepared.groups
    sizes = [int(np.count_nonzero(d.onset)) for d in detections]
    ends = np.cumsum([0, *sizes])
    total = int(ends[-1])
    rows = np.empty((3, total), dtype=np.int64)  # onset, repair and decision rows
    ints = np.empty((5, total), dtype=np.int64)
    floats = np.empty((4, total))
    codes = np.empty((3, total), dtype=np.int8)
    missing = np.empty(total, dtype=bool)
    jobs = list(zip(detections, ends[:-1], ends[1:], strict=True))

    def find(part: list[tuple[Detection, int, int]]) -> None:
        for d, a, b in part:
            # a detection without onsets is run too (it writes nothing): the kernel's
            # contiguous-array variant is then compiled whenever the engine first runs,
            # as the start-up warm-up relies on (a one-client recompute often has one
            # detection with events, whose slices are whole arrays, so contiguous)
            rupture_events(
                d.onset,
                groups.remaining,
                prepared.session_int,
                d.values,
                d.pre_level,
                d.depth,
                d.evidence,
                d.component,
                d.marker,
                config.repair_window,
                rows[:, a:b],
                ints[:, a:b],
                floats[:, a:b],
                codes[:, a:b],
                missing[a:b],
            )

    n_first = sizes[0] if sizes else 0
    if total == 0:
        return _no_events(prepared.client_id), rows[1], rows[2], n_first
    if pool is None or total < _SPLIT_EVENTS:
        find(jobs)
    else:
        split = int(np.searchsorted(ends[1:], total / 2))
        later = pool.submit(find, jobs[split:])
        find(jobs[:split])
        later.result()
    detector_codes = [DETECTORS.index(d.detector) for d in detections]
    scale_codes = [COMPONENTS.index(d.scale) for d in detections]
    events = _events_table(
        prepared.client_id.array.take(rows[0]),
        from_codes(np.repeat(np.array(detector_codes, dtype=np.int8), sizes), DETECTORS),
        from_codes(np.repeat(np.array(scale_codes, dtype=np.int8), sizes), COMPONENTS),
        ints,
        floats,
        codes,
        missing,
    )
    return events, rows[1], rows[2], n_first


def _events_table(
    client: Any,
    detector: pd.Categorical,
    scale: pd.Categorical,
    ints: IntArray,
    floats: FloatArray,
    codes: np.ndarray,
    missing: BoolArray,
) -> pd.DataFrame:
    """The events table (columns :data:`RUPTURE_COLUMNS`) from the events' fields as
    :func:`rupture_events` writes them; owns the given (fresh) arrays."""
    onset_session, status_session, length, repair_session, time_to_repair = ints
    component, marker, status = codes
    return pd.DataFrame(
        {  # in the order of RUPTURE_COLUMNS
            "client_id": client,
            "detector": detector,
            "scale": scale,
            "onset": onset_session,
            "component": from_codes(component, COMPONENTS),
            "marker": from_codes(marker, MARKERS),
            "pre_level": floats[0],
            "value": floats[1],
            "depth": floats[2],
            "evidence": floats[3],
            "status": from_codes(status, STATUSES),
            "status_session": status_session,
            "repair_session": pd.arrays.IntegerArray(repair_session, missing),
            "time_to_repair": pd.arrays.IntegerArray(time_to_repair, missing.copy()),
            "length": length,
        },
        copy=False,  # fresh arrays: no copies, no consolidation
    )


#: Tables without events, one per client_id dtype (made once: building a table costs
#: pandas' overhead per column, most of a small frame's recompute when it has no event).
_NO_EVENTS: dict[Any, pd.DataFrame] = {}


def _no_events(client: pd.Series) -> pd.DataFrame:
    """A fresh events table without rows, its client_id of ``client``'s dtype.

    A shallow copy of a table made once per dtype: it has no values to share, and pandas
    copies on write, so a caller who changes it changes nobody else's.
    """
    dtype = client.dtype
    cacheable = isinstance(dtype, (np.dtype, pd.StringDtype))  # dtypes equal only if same
    table = _NO_EVENTS.get(dtype) if cacheable else None
    if table is None:
        empty = np.empty(0, dtype=np.int64)
        table = _events_table(
            client.array.take(empty),
            from_codes(np.empty(0, dtype=np.int8), DETECTORS),
            from_codes(np.empty(0, dtype=np.int8), COMPONENTS),
            np.empty((5, 0), dtype=np.int64),
            np.empty((4, 0)),
            np.empty((3, 0), dtype=np.int8),
            np.empty(0, dtype=bool),
        )
        if not cacheable:
            return table
        _NO_EVENTS[dtype] = table
    return table.copy(deep=False)


def client_rupture_code(counts: RuptureCounts, prepared: Prepared) -> pd.Categorical:
    """Client-level rupture code at the client's latest session (McLaughlin et al., 2014).

    ``unrepaired`` when any rupture went unrepaired, else ``repaired`` when at least one was
    repaired, else ``open`` when a rupture is still within its repair window, else ``none``.
    """
    last = prepared.groups.last_row()
    unrep = counts.unrepaired[last] > 0
    rep = counts.repaired[last] > 0
    opened = counts.open[last] > 0
    code = np.where(unrep, 3, np.where(rep, 2, np.where(opened, 1, 0))).astype(np.int8)
    return from_codes(code, CLIENT_CODES)


# ---- compiled kernels (numba; shared options in bordin.feedback._jit) ----


@numba.njit(**JIT)
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


@numba.njit(**JIT)
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
