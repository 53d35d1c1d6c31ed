"""Weak early alliance: low or falling alliance by the third session.

Early alliance predicts outcome (Flückiger et al., 2018), and clients with insecure
attachment find it harder to form; for them a bond-focused stance helps (Zilcha-Mano, 2017).
The rule judges the mean alliance over sessions 1..3 against the instrument's concern cutoff
where it has one, otherwise against the clinic's 25th percentile of the same mean; and the
least-squares slope over those sessions.

References
----------
Zilcha-Mano, S. (2017). Is the alliance really therapeutic? Revisiting this question in
light of recent methodological advances. doi:10.1037/a0040435
Flückiger, C., Del Re, A. C., Wampold, B. E., & Horvath, A. O. (2018). The alliance in adult
psychotherapy: A meta-analytic synthesis. doi:10.1037/pst0000172
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bordin.feedback._groups import BoolArray, FloatArray
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig

__all__ = ["EarlySignals", "assess_early_alliance"]


@dataclass(frozen=True)
class EarlySignals:
    """Per-row early-alliance signals, defined from the client's first row at or after the
    judging session onward (NaN/False before it).

    ``reference`` is the value the mean was compared with and ``reference_source`` says
    whether it is the instrument's concern cutoff or the clinic percentile.
    """

    early_mean: FloatArray
    early_slope: FloatArray
    reference: FloatArray
    reference_source: str
    low: BoolArray
    falling: BoolArray
    weak: BoolArray


def assess_early_alliance(prepared: Prepared, config: FeedbackConfig) -> EarlySignals:
    """Judge early alliance at the first session numbered ``early_session`` or later.

    Only sessions up to that one enter the mean and slope, and the clinic percentile uses
    only clients' means over the same sessions, so no later session changes the signal.
    """
    groups = prepared.groups
    n = groups.n_rows
    x = prepared.alliance["total"]
    t = prepared.session
    k = config.early_session
    # The judging row: first row with session >= k (then carried forward).
    reached = t >= k
    first_reached = reached & ~(np.concatenate(([False], reached[:-1])) & ~groups.first)
    judge_rows = np.flatnonzero(first_reached)
    # Sessions are numbered >= position + 1, so a judging row is at position <= k - 1 and its
    # sums run over the client's rows at positions 0..position (only this client's values).
    cnt = np.zeros(judge_rows.shape[0])
    sx, st, stt, stx = (np.zeros(judge_rows.shape[0]) for _ in range(4))
    position = groups.position[judge_rows]
    for j in range(k):
        has = position >= j
        back = np.where(has, judge_rows - j, judge_rows)
        ok = has & (t[back] <= k) & ~np.isnan(x[back])
        xv = np.where(ok, x[back], 0.0)
        tv = np.where(ok, t[back], 0.0)
        cnt += ok
        sx += xv
        st += tv
        stt += tv * tv
        stx += tv * xv
    mean = np.full(n, np.nan)
    slope = np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean[judge_rows] = np.where(cnt > 0, sx / cnt, np.nan)
        den = cnt * stt - st * st
        slope[judge_rows] = np.where((cnt >= 2) & (den > 0), (cnt * stx - st * sx) / den, np.nan)
    facts = prepared.alliance_facts
    if facts.cutoff is not None:
        reference_value = float(facts.cutoff)
        source = "instrument concern cutoff"
    else:
        # Only clients judged exactly at session k: a client judged later (sessions were
        # missed) would otherwise change other clients' signals at an earlier session.
        on_time = judge_rows[t[judge_rows] == k]
        judged = mean[on_time]
        judged = judged[~np.isnan(judged)]
        reference_value = (
            float(np.percentile(judged, config.early_percentile)) if judged.size else np.nan
        )
        source = f"clinic {config.early_percentile:g}th percentile at session {k}"
    # carry the judging row's values forward within the client
    judged_yet = groups.count(first_reached) > 0
    idx = np.where(first_reached, np.arange(n), -1)
    idx = np.maximum.accumulate(idx)
    idx = np.where(judged_yet, idx, 0)
    early_mean = np.where(judged_yet, mean[idx], np.nan)
    early_slope = np.where(judged_yet, slope[idx], np.nan)
    low = judged_yet & (early_mean < reference_value)  # False for NaN
    falling = judged_yet & (early_slope <= config.early_slope_threshold)
    return EarlySignals(
        early_mean=early_mean,
        early_slope=early_slope,
        reference=np.where(judged_yet, reference_value, np.nan),
        reference_source=source,
        low=low,
        falling=falling,
        weak=low | falling,
    )
