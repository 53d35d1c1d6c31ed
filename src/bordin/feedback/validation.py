"""Score detected ruptures against known ground truth (simulated clinics).

A detection matches a true rupture of the same client when its onset is within
``tolerance`` sessions (default 1) of the true onset. Detection precision is the share of
detections that match a true rupture, recall the share of true ruptures matched by a
detection, F1 their harmonic mean. Repair classification is scored on matched pairs whose
status is settled on both sides (detected status repaired or unrepaired, true rupture not
censored): precision, recall and F1 of "repaired", and accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["RuptureScores", "score_ruptures"]


@dataclass(frozen=True)
class RuptureScores:
    """Detection and repair-classification scores of one detector on one clinic.

    ``n_true`` and ``n_detected`` count events; ``precision``, ``recall`` and ``f1`` score
    detection; ``repair_*`` score the repaired/unrepaired classification on ``n_repair_pairs``
    matched, settled pairs (NaN when there are none).
    """

    n_true: int
    n_detected: int
    precision: float
    recall: float
    f1: float
    n_repair_pairs: int
    repair_precision: float
    repair_recall: float
    repair_f1: float
    repair_accuracy: float

    def as_dict(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if (p + r) > 0 else 0.0


def score_ruptures(
    detected: pd.DataFrame, truth: pd.DataFrame, *, tolerance: int = 1
) -> RuptureScores:
    """Score ``detected`` events (:func:`bordin.feedback.detect_ruptures` output) against
    ``truth`` (the simulator's ruptures: ``client_id, onset_session, repaired, censored``).
    """
    det = detected[["client_id", "onset", "status"]].copy()
    det["client_id"] = det["client_id"].astype(str)
    det["det_id"] = np.arange(len(det))
    tru = truth[["client_id", "onset_session", "repaired", "censored"]].copy()
    tru["client_id"] = tru["client_id"].astype(str)
    tru["true_id"] = np.arange(len(tru))
    pairs = det.merge(tru, on="client_id", how="inner")
    pairs = pairs[(pairs["onset"] - pairs["onset_session"]).abs() <= tolerance]
    n_det, n_true = len(det), len(tru)
    precision = pairs["det_id"].nunique() / n_det if n_det else float("nan")
    recall = pairs["true_id"].nunique() / n_true if n_true else float("nan")
    # Repair: pair each true rupture with its closest detection (earliest on ties).
    pairs = pairs.assign(gap=(pairs["onset"] - pairs["onset_session"]).abs())
    best = pairs.sort_values(["true_id", "gap", "onset"]).drop_duplicates("true_id")
    settled = best[(best["status"] != "open") & ~best["censored"].astype(bool)]
    pred = settled["status"].to_numpy() == "repaired"
    actual = settled["repaired"].astype(bool).to_numpy()
    tp = int(np.sum(pred & actual))
    rp = tp / pred.sum() if pred.sum() else float("nan")
    rr = tp / actual.sum() if actual.sum() else float("nan")
    return RuptureScores(
        n_true=n_true,
        n_detected=n_det,
        precision=float(precision),
        recall=float(recall),
        f1=_f1(precision, recall) if n_det and n_true else float("nan"),
        n_repair_pairs=len(settled),
        repair_precision=float(rp),
        repair_recall=float(rr),
        repair_f1=_f1(rp, rr) if np.isfinite(rp) and np.isfinite(rr) else float("nan"),
        repair_accuracy=float(np.mean(pred == actual)) if len(settled) else float("nan"),
    )
