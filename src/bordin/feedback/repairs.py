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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from bordin.feedback._groups import FloatArray, IntArray
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.ruptures import COMPONENTS, DETECTORS, MARKERS, Detection

__all__ = [
    "CLIENT_CODES",
    "RUPTURE_COLUMNS",
    "STATUSES",
    "RuptureCounts",
    "classify_repairs",
    "classify_repairs_batch",
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
    """Per-row counts, as known at that session: ruptures begun, repaired, unrepaired, open."""

    onsets: FloatArray
    repaired: FloatArray
    unrepaired: FloatArray

    @property
    def open(self) -> FloatArray:
        result: FloatArray = self.onsets - self.repaired - self.unrepaired
        return result


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


def classify_repairs_batch(
    detections: list[Detection], prepared: Prepared, config: FeedbackConfig
) -> pd.DataFrame:
    """:func:`classify_repairs` for several detections at once: one table, in input order."""
    events, _, _, _ = _classify(detections, prepared, config)
    return events


def classify_repairs_counted(
    detections: list[Detection], prepared: Prepared, config: FeedbackConfig
) -> tuple[pd.DataFrame, pd.DataFrame, RuptureCounts]:
    """All detections' events in one table (input order), as :func:`classify_repairs_batch`;
    and the first detection's events and per-session counts, as :func:`classify_repairs`."""
    events, repair_row, decided_row, n_first = _classify(detections, prepared, config)
    counts = _counts(detections[0], repair_row[:n_first], decided_row[:n_first], prepared)
    return events, events.iloc[:n_first], counts


def _counts(
    detection: Detection, repair_row: IntArray, decided_row: IntArray, prepared: Prepared
) -> RuptureCounts:
    groups = prepared.groups
    n = groups.n_rows
    rep_ind = np.bincount(repair_row[repair_row >= 0], minlength=n)
    unr_ind = np.bincount(decided_row[(repair_row < 0) & (decided_row >= 0)], minlength=n)
    return RuptureCounts(
        onsets=groups.count(detection.onset),
        repaired=groups.count(rep_ind),
        unrepaired=groups.count(unr_ind),
    )


def _int_array(values: FloatArray, present: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole numbers as a nullable ``Int64`` array, missing where not ``present``."""
    data = np.where(present, values, 0.0).astype(np.int64)
    return pd.arrays.IntegerArray(data, ~present)


_SPLIT_EVENTS = 100_000  # fewer followed events are settled in this thread alone


def _classify(
    detections: list[Detection], prepared: Prepared, config: FeedbackConfig
) -> tuple[pd.DataFrame, IntArray, IntArray, int]:
    """Events of all detections with the rows where each was repaired / declared unrepaired,
    and the number of events of the first detection."""
    groups = prepared.groups
    n = groups.n_rows
    session = prepared.session
    scales = sorted({d.scale for d in detections}, key=COMPONENTS.index)
    # the scales one after another: the value of scale s at row r is at s * n + r
    flat = np.concatenate([prepared.alliance[s] for s in scales]) if scales else np.zeros(0)
    parts = [np.flatnonzero(d.onset) for d in detections]
    rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    which = np.repeat(np.arange(len(detections)), [p.shape[0] for p in parts])
    scale_of = np.array([scales.index(d.scale) for d in detections], dtype=np.int64)[which]
    at = scale_of * n + rows

    def gather(name: str) -> FloatArray:
        if not detections:
            return np.zeros(0)
        return np.concatenate([getattr(d, name)[p] for d, p in zip(detections, parts, strict=True)])

    def gather_codes(name: str) -> np.ndarray:
        if not detections:
            return np.zeros(0, dtype=np.int8)
        return np.concatenate(
            [getattr(d, name)[p] for d, p in zip(detections, parts, strict=True)]
        ).astype(np.int8)

    onset_session = session[rows]
    pre = gather("pre_level")
    pre_tolerance = pre - 1e-9
    left = groups.remaining[rows]  # rows after each row, same client
    window = config.repair_window
    repair_row = np.full(rows.shape[0], -1, dtype=np.int64)
    decided_row = np.full(rows.shape[0], -1, dtype=np.int64)
    # The j-th later session of each event still undecided (neither repaired nor past the
    # window); an event leaves once settled: a repair needs a session within the window, and
    # the unrepaired decision (the first later session at or past onset + window) comes once.
    # Each event is followed on its own, so the events are split in two halves settled
    # concurrently (numpy releases the GIL), each half writing only its own events' rows.

    def settle(active: IntArray) -> None:
        for j in range(1, window + 1):
            if not active.shape[0]:
                break
            later = rows[active] + j
            gap = session[later] - onset_session[active]
            back = (gap <= window) & (flat[at[active] + j] >= pre_tolerance[active])
            repair_row[active[back]] = later[back]
            reached = gap >= window
            decided_row[active[reached]] = later[reached]
            active = active[~back & ~reached & (left[active] > j)]

    followed = np.flatnonzero(left >= 1)
    if followed.shape[0] < _SPLIT_EVENTS:
        settle(followed)
    else:
        half = followed.shape[0] // 2
        with ThreadPoolExecutor(max_workers=1) as pool:
            second = pool.submit(settle, followed[half:])
            settle(followed[:half])
            second.result()
    repaired = repair_row >= 0
    unrepaired = ~repaired & (decided_row >= 0)
    status_code = np.zeros(rows.shape[0], dtype=np.int8)
    status_code[repaired] = 1
    status_code[unrepaired] = 2
    status_row = np.where(repaired, repair_row, np.where(unrepaired, decided_row, rows))
    status_session = session[status_row]  # the repair session of a repaired event
    # repaired: to the repair; unrepaired: through the deciding session; open: so far
    length = np.where(
        repaired,
        status_session - onset_session,
        np.where(
            unrepaired,
            status_session - onset_session + 1,
            session[rows + left] - onset_session + 1,
        ),
    )
    detector_codes = np.array([DETECTORS.index(d.detector) for d in detections], dtype=np.int8)
    scale_codes = np.array([COMPONENTS.index(d.scale) for d in detections], dtype=np.int8)
    events = pd.DataFrame(
        {
            "client_id": prepared.client_id.iloc[rows].reset_index(drop=True),
            "detector": pd.Categorical.from_codes(
                detector_codes[which], categories=list(DETECTORS)
            ),
            "scale": pd.Categorical.from_codes(scale_codes[which], categories=list(COMPONENTS)),
            "onset": onset_session.astype(np.int64),
            "component": pd.Categorical.from_codes(
                gather_codes("component"), categories=list(COMPONENTS)
            ),
            "marker": pd.Categorical.from_codes(gather_codes("marker"), categories=list(MARKERS)),
            "pre_level": pre,
            "value": flat[at],
            "depth": gather("depth"),
            "evidence": gather("evidence"),
            "status": pd.Categorical.from_codes(status_code, categories=list(STATUSES)),
            "status_session": status_session.astype(np.int64),
            "repair_session": _int_array(status_session, repaired),
            "time_to_repair": _int_array(length, repaired),
            "length": length.astype(np.int64),
        },
        columns=list(RUPTURE_COLUMNS),
        copy=False,  # fresh arrays: no copies, no consolidation
    )
    n_first = int(parts[0].shape[0]) if parts else 0
    return events, repair_row, decided_row, n_first


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
    return pd.Categorical.from_codes(code, categories=list(CLIENT_CODES))
