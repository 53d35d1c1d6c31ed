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

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from bordin.feedback._groups import FloatArray, cumulative_sum
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.ruptures import COMPONENTS, MARKERS, Detection

__all__ = [
    "CLIENT_CODES",
    "RUPTURE_COLUMNS",
    "RuptureCounts",
    "classify_repairs",
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
    detection: Detection, prepared: Prepared, config: FeedbackConfig
) -> tuple[pd.DataFrame, RuptureCounts]:
    """Turn a detector's onsets into rupture events with their repair status.

    Returns the events (columns :data:`RUPTURE_COLUMNS`, sorted by client and onset) and the
    per-session counts of ruptures begun, repaired and declared unrepaired up to each session.
    """
    groups = prepared.groups
    n = groups.n_rows
    session = prepared.session
    x = detection.values
    rows = np.flatnonzero(detection.onset)
    onset_session = session[rows]
    pre = detection.pre_level[rows]
    size_of_row = np.repeat(groups.size, groups.size)
    remaining = size_of_row - groups.position - 1  # rows after each row, same client
    window = config.repair_window
    repair_row = np.full(rows.shape[0], -1, dtype=np.int64)
    decided_row = np.full(rows.shape[0], -1, dtype=np.int64)
    for j in range(1, window + 1):
        has = remaining[rows] >= j
        later = np.where(has, rows + j, 0)
        within = has & (session[later] - onset_session <= window)
        back = within & (x[later] >= pre - 1e-9) & (repair_row < 0)
        repair_row[back] = later[back]
    # Unrepaired: the first later session at or past onset + window, when not repaired by it.
    for j in range(1, window + 1):
        has = remaining[rows] >= j
        later = np.where(has, rows + j, 0)
        reached = has & (session[later] - onset_session >= window) & (decided_row < 0)
        decided_row[reached] = later[reached]
    repaired = repair_row >= 0
    unrepaired = ~repaired & (decided_row >= 0)
    status = np.where(repaired, "repaired", np.where(unrepaired, "unrepaired", "open"))
    status_row = np.where(repaired, repair_row, np.where(unrepaired, decided_row, rows))
    repair_session = np.where(repaired, session[np.maximum(repair_row, 0)], np.nan)
    last_row = groups.start[groups.code[rows]] + groups.size[groups.code[rows]] - 1
    length = np.where(
        repaired,
        repair_session - onset_session,
        np.where(
            unrepaired,
            session[status_row] - onset_session + 1,
            session[last_row] - onset_session + 1,
        ),
    )
    events = pd.DataFrame(
        {
            "client_id": prepared.client_id.to_numpy()[rows],
            "detector": detection.detector,
            "scale": detection.scale,
            "onset": onset_session.astype(np.int64),
            "component": np.asarray(COMPONENTS)[detection.component[rows]],
            "marker": np.asarray(MARKERS)[detection.marker[rows]],
            "pre_level": pre,
            "value": x[rows],
            "depth": detection.depth[rows],
            "evidence": detection.evidence[rows],
            "status": status,
            "status_session": session[status_row].astype(np.int64),
            "repair_session": pd.array(np.where(repaired, repair_session, np.nan), dtype="Int64"),
            "time_to_repair": pd.array(
                np.where(repaired, repair_session - onset_session, np.nan), dtype="Int64"
            ),
            "length": length.astype(np.int64),
        },
        columns=list(RUPTURE_COLUMNS),
    )
    rep_ind = np.zeros(n)
    np.add.at(rep_ind, repair_row[repaired], 1.0)
    unr_ind = np.zeros(n)
    np.add.at(unr_ind, decided_row[unrepaired], 1.0)
    counts = RuptureCounts(
        onsets=cumulative_sum(detection.onset.astype(np.float64), groups),
        repaired=cumulative_sum(rep_ind, groups),
        unrepaired=cumulative_sum(unr_ind, groups),
    )
    return events, counts


def client_rupture_code(counts: RuptureCounts, prepared: Prepared) -> np.ndarray:
    """Client-level rupture code at the client's latest session (McLaughlin et al., 2014).

    ``unrepaired`` when any rupture went unrepaired, else ``repaired`` when at least one was
    repaired, else ``open`` when a rupture is still within its repair window, else ``none``.
    """
    last = prepared.groups.last_row()
    unrep = counts.unrepaired[last] > 0
    rep = counts.repaired[last] > 0
    opened = counts.open[last] > 0
    return np.where(
        unrep, "unrepaired", np.where(rep, "repaired", np.where(opened, "open", "none"))
    )
