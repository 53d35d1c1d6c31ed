"""Tables of the synthetic clinic, built from the latent arrays without row loops."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pandas as pd

from bordin.simulate._items import ItemBlock
from bordin.simulate._latent import COMPONENTS, LatentClinic

__all__ = [
    "SessionIndex",
    "client_ids",
    "clients_frame",
    "responses_frame",
    "ruptures_frame",
    "session_index",
    "therapist_ids",
    "therapists_frame",
    "truth_frame",
]

IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.object_]


def client_ids(n: int) -> StrArray:
    """``c000001``, ``c000002``, ... (at least six digits)."""
    width = max(6, len(str(n)))
    return np.array([f"c{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def therapist_ids(n: int) -> StrArray:
    """``t001``, ``t002``, ... (at least three digits)."""
    width = max(3, len(str(n)))
    return np.array([f"t{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


class SessionIndex:
    """The attended sessions as flat arrays, sorted by client then session."""

    def __init__(self, latent: LatentClinic, start: dt.date) -> None:
        flat = np.flatnonzero(latent.mask.ravel())
        n_sessions = latent.mask.shape[1]
        self.flat = flat
        self.client = flat // n_sessions
        self.session = flat % n_sessions + 1
        self.therapist = latent.therapist[self.client]
        days = latent.day.ravel()[flat]
        unique_days, self.date_code = np.unique(days, return_inverse=True)
        origin = np.datetime64(start.isoformat(), "D")
        dates = origin + unique_days.astype("timedelta64[D]")
        self.date_labels: StrArray = np.datetime_as_string(dates, unit="D").astype(object)
        self.client_labels = client_ids(latent.mask.shape[0])
        self.therapist_labels = therapist_ids(latent.therapist_alliance.size)

    def __len__(self) -> int:
        return int(self.flat.size)

    def keys(self) -> pd.DataFrame:
        """``client_id, therapist_id, session, date`` as plain string and integer columns."""
        return pd.DataFrame(
            {
                "client_id": self.client_labels[self.client],
                "therapist_id": self.therapist_labels[self.therapist],
                "session": self.session.astype(np.int64),
                "date": self.date_labels[self.date_code],
            }
        )


def session_index(latent: LatentClinic, start: dt.date) -> SessionIndex:
    """Index the attended sessions of ``latent``."""
    return SessionIndex(latent, start)


def responses_frame(index: SessionIndex, blocks: list[ItemBlock]) -> pd.DataFrame:
    """The long item-response frame (DESIGN.md columns), one row per answered item.

    Rows are sorted by client, session, instrument (in ``blocks`` order) and item. The
    repeated string columns are categoricals (25 rows per session would otherwise hold 25
    string objects per column).
    """
    values = np.column_stack([b.values for b in blocks])
    present = np.column_stack([b.present for b in blocks])
    instrument_of_col = np.concatenate(
        [np.full(len(b.items), j, dtype=np.int8) for j, b in enumerate(blocks)]
    )
    item_of_col = np.concatenate([np.asarray(b.items, dtype=np.int16) for b in blocks])
    width = values.shape[1]
    hit = np.flatnonzero(present.ravel())
    col = hit % width
    # Rows are sorted by session, so per-session columns are repeats, not gathers.
    counts = present.sum(axis=1)

    def per_session(codes: npt.NDArray[np.integer], labels: StrArray) -> pd.Categorical:
        repeated = np.repeat(codes.astype(np.int32), counts)
        return pd.Categorical.from_codes(repeated, categories=labels.tolist(), validate=False)

    instruments = [b.instrument for b in blocks]
    return pd.DataFrame(
        {
            "client_id": per_session(index.client, index.client_labels),
            "therapist_id": per_session(index.therapist, index.therapist_labels),
            "session": np.repeat(index.session.astype(np.int64), counts),
            "date": per_session(index.date_code, index.date_labels),
            "instrument": pd.Categorical.from_codes(
                instrument_of_col[col], categories=instruments, validate=False
            ),
            "item": item_of_col[col].astype(np.int64),
            "value": values.ravel()[hit].astype(np.int64),
        },
        copy=False,
    )


def truth_frame(index: SessionIndex, latent: LatentClinic) -> pd.DataFrame:
    """Per-session latent values (the ground truth behind every rating)."""
    f = index.flat
    c = index.client
    frame = index.keys()
    trait = latent.trait[c]
    state = latent.state.reshape(-1, 3)[f]
    alliance = latent.alliance.reshape(-1, 3)[f]
    drop = latent.drop.reshape(-1, 3)[f]
    for j, name in enumerate(COMPONENTS):
        frame[f"alliance_trait_{name}"] = trait[:, j]
    for j, name in enumerate(COMPONENTS):
        frame[f"alliance_state_{name}"] = state[:, j]
    for j, name in enumerate(COMPONENTS):
        frame[f"rupture_drop_{name}"] = drop[:, j]
    for j, name in enumerate(COMPONENTS):
        frame[f"alliance_{name}"] = alliance[:, j]
    trait_total = trait.mean(axis=1)
    total = alliance.mean(axis=1)
    frame["alliance_trait_total"] = trait_total
    frame["alliance_total"] = total
    frame["alliance_deviation"] = total - trait_total
    frame["formation_gap"] = latent.gap.ravel()[f]
    frame["rupture_drop_total"] = drop.mean(axis=1)
    frame["rupture_onset"] = latent.rupture_onset.ravel()[f]
    frame["rupture_open"] = latent.rupture_open.ravel()[f]
    frame["rupture_repair"] = latent.repair_now.ravel()[f]
    frame["rupture_hazard"] = latent.rupture_hazard.ravel()[f]
    frame["adherence"] = latent.adherence.ravel()[f]
    frame["severity"] = latent.severity.ravel()[f]
    frame["anxiety"] = latent.anxiety.ravel()[f]
    frame["within_effect"] = latent.within_slope[c]
    frame["dropout_hazard"] = latent.dropout_hazard.ravel()[f]
    frame["dropout_after"] = latent.dropped_out[c] & (index.session == latent.attended[c])
    return frame


def _nullable(values: IntArray, keep: npt.NDArray[np.bool_]) -> pd.arrays.IntegerArray:
    """Integers as a nullable ``Int64`` array, missing where ``keep`` is false."""
    return pd.arrays.IntegerArray(values.astype(np.int64), ~keep)


def ruptures_frame(index: SessionIndex, latent: LatentClinic, repair_window: int) -> pd.DataFrame:
    """One row per rupture, sorted by client and onset session.

    ``repair_session`` is the session at which the alliance returned to at least its
    pre-rupture level (missing when the rupture was not repaired or the repair fell after the
    client's last attended session); ``censored`` marks unrepaired ruptures whose repair
    window extends past the last attended session (their fate is not observed).
    """
    order = np.lexsort((latent.event_onset, latent.event_client))
    client = latent.event_client[order]
    onset = latent.event_onset[order]
    planned = latent.event_repair_planned[order]
    attended = latent.attended[client]
    repaired = (planned > 0) & (planned <= attended)
    censored = ~repaired & (onset + repair_window > attended)
    therapist = latent.therapist[client]
    components = np.asarray(COMPONENTS, dtype=object)
    return pd.DataFrame(
        {
            "rupture_id": np.arange(1, order.size + 1, dtype=np.int64),
            "client_id": index.client_labels[client],
            "therapist_id": index.therapist_labels[therapist],
            "onset_session": onset,
            "component": components[latent.event_component[order]],
            "marker": np.where(latent.event_confrontation[order], "confrontation", "withdrawal"),
            "depth": latent.event_depth[order],
            "pre_rupture_level": latent.event_pre_level[order],
            "repair_session": _nullable(planned, repaired),
            "repaired": repaired,
            "censored": censored,
            "repair_probability": latent.event_repair_probability[order],
        }
    )


_ARM_LABELS = np.array(["none", "feedback", "no_feedback"], dtype=object)


def clients_frame(index: SessionIndex, latent: LatentClinic, start: dt.date) -> pd.DataFrame:
    """One row per client: allocation, intake, attachment, plan, dropout, arm, true effects."""
    intake_day = latent.day[:, 0]
    origin = np.datetime64(start.isoformat(), "D")
    intake_dates = np.datetime_as_string(origin + intake_day.astype("timedelta64[D]"), unit="D")
    trait = latent.trait
    dropped = latent.dropped_out
    frame = pd.DataFrame(
        {
            "client_id": index.client_labels,
            "therapist_id": index.therapist_labels[latent.therapist],
            "intake_date": intake_dates.astype(object),
            "arm": _ARM_LABELS[latent.arm],
            "intake_severity": latent.intake,
            "expected_improvement": latent.improvement,
            "attachment_insecurity": latent.insecurity,
            "planned_sessions": latent.planned.astype(np.int64),
            "sessions_attended": latent.attended.astype(np.int64),
            "dropped_out": dropped,
            "dropout_session": _nullable(latent.attended, dropped),
        }
    )
    for j, name in enumerate(COMPONENTS):
        frame[f"alliance_trait_{name}"] = trait[:, j]
    frame["alliance_trait_total"] = trait.mean(axis=1)
    frame["early_alliance_gap"] = latent.gap1
    frame["formation_rate"] = latent.rate
    frame["within_effect"] = latent.within_slope
    frame["gad7_offset"] = latent.gad7_offset
    return frame


def therapists_frame(index: SessionIndex, latent: LatentClinic) -> pd.DataFrame:
    """One row per therapist with their true effects."""
    counts = np.bincount(latent.therapist, minlength=latent.therapist_alliance.size)
    return pd.DataFrame(
        {
            "therapist_id": index.therapist_labels,
            "n_clients": counts.astype(np.int64),
            "alliance_effect": latent.therapist_alliance,
            "rupture_log_odds": latent.therapist_rupture,
            "responsiveness_log_odds": latent.therapist_responsiveness,
            "adherence_logit": latent.therapist_adherence,
        }
    )
