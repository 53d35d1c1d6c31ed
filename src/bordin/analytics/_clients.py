"""From a wide session-scores frame to one row per client (private helper of the report analyses).

Vectorised with pandas group operations; no loop over clients.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bordin.errors import InputError

__all__ = ["check_columns", "client_table", "higher_is_worse", "lag_pairs", "scale_of_column"]

ID_COLUMNS = ("client_id", "therapist_id", "session")


def check_columns(scores: pd.DataFrame, numeric: Sequence[str]) -> None:
    """Raise :class:`InputError` naming the first missing or non-numeric column."""
    for col in ID_COLUMNS:
        if col not in scores.columns:
            raise InputError("required column is missing", column=col)
    if not pd.api.types.is_numeric_dtype(scores["session"]):
        raise InputError("session numbers must be integers", column="session")
    for col in numeric:
        if col not in scores.columns:
            raise InputError("column not found in the scores", column=col)
        if not pd.api.types.is_numeric_dtype(scores[col]):
            raise InputError("column is not numeric", column=col)


def _sorted(scores: pd.DataFrame) -> pd.DataFrame:
    frame = scores.sort_values(["client_id", "session"], kind="stable")
    dup = frame.duplicated(["client_id", "session"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        row = frame.iloc[i]
        raise InputError(
            f"client {row['client_id']} has session {row['session']} twice", column="session"
        )
    return frame


def client_table(
    scores: pd.DataFrame,
    *,
    alliance: str | None,
    outcome: str,
    early_sessions: int = 3,
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per client: intake, last and change of the outcome, early and mean alliance.

    Columns: ``client_id, therapist_id, n_sessions, first_session, last_session, intake,
    last, change`` (last - intake), ``early_alliance`` (mean of the alliance over sessions
    1 to ``early_sessions``), ``mean_alliance`` (over all sessions) and ``mean_<col>`` for
    every column of ``extra`` (no alliance columns when ``alliance`` is None). Intake is
    the outcome at the client's first session with an outcome score, last at the last one;
    a client with a single outcome score has a missing change.
    """
    check_columns(scores, [c for c in (alliance, outcome, *extra) if c is not None])
    if early_sessions < 1:
        raise InputError(f"early_sessions must be at least 1, got {early_sessions}")
    frame = _sorted(scores)
    grouped = frame.groupby("client_id", sort=True)
    base = grouped.agg(
        therapist_id=("therapist_id", "first"),
        n_sessions=("session", "size"),
        first_session=("session", "min"),
        last_session=("session", "max"),
    )
    scored = frame.loc[frame[outcome].notna(), ["client_id", "session", outcome]]
    by_client = scored.groupby("client_id", sort=True)[outcome]
    base["intake"] = by_client.first()
    base["last"] = by_client.last()
    base["n_outcome"] = by_client.size()
    base["n_outcome"] = base["n_outcome"].fillna(0).astype(int)
    base["change"] = (base["last"] - base["intake"]).where(base["n_outcome"] >= 2)
    if alliance is not None:
        early = frame.loc[frame["session"] <= early_sessions].groupby("client_id")[alliance]
        base["early_alliance"] = early.mean()
        base["mean_alliance"] = grouped[alliance].mean()
    for col in extra:
        base[f"mean_{col}"] = grouped[col].mean()
    base = base.reset_index()
    base["therapist_id"] = base["therapist_id"].astype(str)
    base["client_id"] = base["client_id"].astype(str)
    return base


def lag_pairs(scores: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Pairs of consecutive sessions (t, t+1) of the same client.

    Returns ``client_id, therapist_id, session`` (t) plus ``<col>`` (at t) and
    ``<col>_next`` (at t+1) for every column. A missing session breaks the pair (DESIGN.md).
    """
    check_columns(scores, columns)
    frame = _sorted(scores)
    same = frame["client_id"].to_numpy()[1:] == frame["client_id"].to_numpy()[:-1]
    consecutive = np.diff(frame["session"].to_numpy()) == 1
    keep = np.flatnonzero(same & consecutive)
    now = frame.iloc[keep]
    nxt = frame.iloc[keep + 1]
    out = pd.DataFrame(
        {
            "client_id": now["client_id"].astype(str).to_numpy(),
            "therapist_id": now["therapist_id"].astype(str).to_numpy(),
            "session": now["session"].to_numpy(),
        }
    )
    for col in columns:
        out[col] = now[col].to_numpy(dtype=np.float64)
        out[f"{col}_next"] = nxt[col].to_numpy(dtype=np.float64)
    return out


def scale_of_column(column: str) -> tuple[str, str] | None:
    """``(instrument, scale)`` of a score column such as ``phq9_total`` or ``wai_sr_bond``.

    The longest registered instrument id followed by ``_`` wins; None when no instrument
    matches (a column the registry does not know, e.g. a clinic's own measure).
    """
    from bordin.instruments import list_instruments

    ids = sorted((d.id for d in list_instruments()), key=len, reverse=True)
    for instrument_id in ids:
        prefix = f"{instrument_id}_"
        if column.startswith(prefix) and len(column) > len(prefix):
            return instrument_id, column[len(prefix) :]
    return None


def higher_is_worse(column: str, default: bool = True) -> bool:
    """Whether higher scores of a column mean more symptoms (from the instrument registry)."""
    from bordin.instruments import get_instrument

    found = scale_of_column(column)
    if found is None:
        return default
    try:
        return get_instrument(found[0]).scale(found[1]).direction == "higher_is_worse"
    except KeyError:
        return default
