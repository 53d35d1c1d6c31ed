"""Score detected one-sided ruptures against known ground truth (simulated clinics).

**Client-only.** A true client-only rupture is a rupture the therapist did not notice; it
is open over one or more sessions. It is *recalled* when a ``client_only`` signal falls in
one of its open sessions; a ``client_only`` signal is *correct* (for precision) when it falls
in a session where such a rupture is open.

**Therapist-only.** A true therapist-only rupture is a session in which the therapist
reported tension with no rupture open. Recall is the share of those sessions with a
``therapist_only`` signal; precision the share of ``therapist_only`` signals in them.

The truth frame is the ``truth`` of :func:`bordin.simulate.simulate_therapist_ratings`
(``client_id, session, rupture_event, client_only, therapist_only``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bordin.errors import InputError
from bordin.feedback.pairs import PairSignalsResult

__all__ = ["OneSidedScores", "score_one_sided_ruptures"]

_TRUTH = ("client_id", "session", "rupture_event", "client_only", "therapist_only")


@dataclass(frozen=True)
class OneSidedScores:
    """Precision and recall of the one-sided rupture signals on one clinic.

    Attributes
    ----------
    side
        ``client_only`` or ``therapist_only``.
    n_true
        True one-sided ruptures (client-only: rupture events; therapist-only: sessions).
    n_detected
        Signals of that side.
    precision, recall, f1
        NaN when undefined (no signal, or nothing true).
    """

    side: str
    n_true: int
    n_detected: int
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float | int | str]:
        """JSON-ready (NaN as None is the caller's choice; kept as float here)."""
        return {
            "side": self.side,
            "n_true": self.n_true,
            "n_detected": self.n_detected,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else float("nan")


def score_one_sided_ruptures(
    result: PairSignalsResult, truth: pd.DataFrame
) -> tuple[OneSidedScores, OneSidedScores]:
    """Client-only and therapist-only scores of ``result`` against ``truth``.

    Raises
    ------
    InputError
        ``truth`` lacks one of its columns (naming it).
    """
    for column in _TRUTH:
        if column not in truth.columns:
            raise InputError("the truth frame lacks a column", column=column)
    keys = pd.DataFrame(
        {
            "client_id": truth["client_id"].astype(str).to_numpy(),
            "session": truth["session"].astype(np.int64).to_numpy(),
            "event": truth["rupture_event"].to_numpy(),
            "client_only": truth["client_only"].to_numpy(dtype=bool),
            "therapist_only": truth["therapist_only"].to_numpy(dtype=bool),
        }
    )
    sessions = result.sessions[["client_id", "session", "one_sided"]]
    merged = keys.merge(sessions, on=["client_id", "session"], how="left")
    signal = merged["one_sided"].fillna("").to_numpy()
    out = []
    # client-only: events recalled, sessions for precision
    detected = signal == "client_only"
    true_events = merged.loc[merged["client_only"], ["client_id", "event"]].drop_duplicates()
    hit_events = merged.loc[
        merged["client_only"] & detected, ["client_id", "event"]
    ].drop_duplicates()
    n_detected = int(detected.sum())
    precision = _ratio(int((detected & merged["client_only"].to_numpy()).sum()), n_detected)
    recall = _ratio(len(hit_events), len(true_events))
    out.append(
        OneSidedScores(
            "client_only", len(true_events), n_detected, precision, recall, _f1(precision, recall)
        )
    )
    detected = signal == "therapist_only"
    true = merged["therapist_only"].to_numpy()
    n_detected = int(detected.sum())
    precision = _ratio(int((detected & true).sum()), n_detected)
    recall = _ratio(int((detected & true).sum()), int(true.sum()))
    out.append(
        OneSidedScores(
            "therapist_only", int(true.sum()), n_detected, precision, recall, _f1(precision, recall)
        )
    )
    return out[0], out[1]
