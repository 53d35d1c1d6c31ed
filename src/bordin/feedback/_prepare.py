"""Validate a wide session-scores frame and lay it out for the vectorised rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bordin.errors import InputError
from bordin.feedback._groups import FloatArray, Groups, make_groups
from bordin.feedback._instruments import InstrumentFacts, instrument_facts
from bordin.instruments import list_instruments

__all__ = ["ALLIANCE_SCALES", "RUPTURE_ITEMS", "Prepared", "instrument_id", "prepare_scores"]

ALLIANCE_SCALES = ("total", "bond", "goal", "task")
RUPTURE_ITEMS = ("tension", "misunderstood", "withdrawal", "resolution")


def instrument_id(name: str) -> str:
    """Accept an instrument id (``sac``) or its total column (``sac_total``)."""
    return name[: -len("_total")] if name.endswith("_total") else name


@dataclass(frozen=True)
class Prepared:
    """A validated scores frame, sorted by client and session, with its row layout.

    ``frame`` keeps the original columns (sorted, index 0..n-1); ``alliance`` maps each
    available scale (total, bond, goal, task) to its float column and ``items`` each available
    rupture item; ``outcomes`` maps outcome ids to their total column; ``risk`` holds the
    raw risk-item columns present (any instrument's, e.g. ``phq9_item9``) and ``risk_from``
    the response at which each signals risk.
    """

    frame: pd.DataFrame
    groups: Groups
    session: FloatArray
    alliance_id: str
    alliance_facts: InstrumentFacts
    alliance: dict[str, FloatArray]
    items: dict[str, FloatArray]
    outcomes: dict[str, FloatArray]
    outcome_facts: dict[str, InstrumentFacts]
    risk: dict[str, FloatArray]
    risk_from: dict[str, float]

    @property
    def client_id(self) -> pd.Series:
        return self.frame["client_id"]


def _numeric(frame: pd.DataFrame, column: str) -> FloatArray:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"not a number: {raw.iloc[row]!r}", row=row + 1, column=column)
    return values.to_numpy(dtype=np.float64)


def prepare_scores(
    scores: pd.DataFrame, *, alliance: str, outcomes: Sequence[str] = ()
) -> Prepared:
    """Check the frame and sort it by client and session.

    Raises
    ------
    InputError
        A required column is missing, a session number is not a positive whole number, a
        value is not numeric, or a client has the same session twice.
    """
    alliance_id = instrument_id(alliance)
    facts = instrument_facts(alliance_id)
    for column in ("client_id", "session", f"{alliance_id}_total"):
        if column not in scores.columns:
            raise InputError("required column is missing", column=column)
    if scores["client_id"].isna().any():
        row = int(np.flatnonzero(scores["client_id"].isna().to_numpy())[0])
        raise InputError("client_id is empty", row=row + 1, column="client_id")
    session = _numeric(scores, "session")
    bad = np.isnan(session) | (session < 1) | (session != np.floor(session))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"session must be a whole number >= 1, got {scores['session'].iloc[row]!r}",
            row=row + 1,
            column="session",
        )
    frame = scores.copy()
    frame["session"] = session.astype(np.int64)
    frame = frame.sort_values(["client_id", "session"], kind="stable").reset_index(drop=True)
    client = frame["client_id"].to_numpy()
    sess = frame["session"].to_numpy()
    dup = np.zeros(len(frame), dtype=bool)
    if len(frame) > 1:
        dup[1:] = (client[1:] == client[:-1]) & (sess[1:] == sess[:-1])
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise InputError(f"client {client[row]!r} has session {sess[row]} twice", column="session")
    codes = np.zeros(len(frame), dtype=np.int64)
    if len(frame) > 1:
        codes[1:] = np.cumsum(client[1:] != client[:-1])
    groups = make_groups(codes)

    scales = {
        s: _numeric(frame, f"{alliance_id}_{s}")
        for s in ALLIANCE_SCALES
        if f"{alliance_id}_{s}" in frame.columns
    }
    items = {
        i: _numeric(frame, f"{alliance_id}_{i}")
        for i in RUPTURE_ITEMS
        if f"{alliance_id}_{i}" in frame.columns
    }
    outcome_columns: dict[str, FloatArray] = {}
    outcome_facts: dict[str, InstrumentFacts] = {}
    risk: dict[str, FloatArray] = {}
    for name in outcomes:
        oid = instrument_id(name)
        ofacts = instrument_facts(oid)
        if f"{oid}_total" not in frame.columns:
            raise InputError("outcome column is missing", column=f"{oid}_total")
        outcome_columns[oid] = _numeric(frame, f"{oid}_total")
        outcome_facts[oid] = ofacts
    risk_from: dict[str, float] = {}
    for definition in list_instruments():
        for number in definition.risk_items:
            column = definition.item_column(number)
            if column in frame.columns:
                risk[column] = _numeric(frame, column)
                threshold = definition.item(number).risk_from
                risk_from[column] = float(threshold if threshold is not None else 1.0)
    return Prepared(
        frame=frame,
        groups=groups,
        session=sess.astype(np.float64),
        alliance_id=alliance_id,
        alliance_facts=facts,
        alliance=scales,
        items=items,
        outcomes=outcome_columns,
        outcome_facts=outcome_facts,
        risk=risk,
        risk_from=risk_from,
    )
