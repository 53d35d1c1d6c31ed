"""Outcome status per outcome instrument: reliable change, recovery, response, remission.

Change is measured from the client's first rated session (intake) to each session.
*Reliable improvement* and *reliable deterioration*: a change of at least the instrument's
reliable-change threshold (Jacobson & Truax, 1991). *Recovery*: reliable improvement and a
move from the clinical to the non-clinical side of the caseness cutoff (Jacobson & Truax,
1991). *Response*: a reduction of at least 50% from intake, and *remission*: a score below
the instrument's remission threshold, where the instrument defines them (PHQ-9: Kroenke et
al., 2001; GAD-7 by analogy, as in routine-outcome programmes).

References
----------
Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to
defining meaningful change in psychotherapy research. doi:10.1037/0022-006X.59.1.12
Kroenke, K., Spitzer, R. L., & Williams, J. B. W. (2001). The PHQ-9.
doi:10.1046/j.1525-1497.2001.016009606.x
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from bordin.feedback._groups import BoolArray, FloatArray
from bordin.feedback._instruments import InstrumentFacts
from bordin.feedback._prepare import Prepared
from bordin.feedback.config import FeedbackConfig
from bordin.scoring import reliable_change_threshold

__all__ = ["OUTCOME_STATUSES", "OutcomeSignals", "assess_outcome"]

OUTCOME_STATUSES: Final = (
    "recovered",
    "reliably_improved",
    "no_reliable_change",
    "reliably_deteriorated",
    "not_assessed",
)


@dataclass(frozen=True)
class OutcomeSignals:
    """Per-row outcome signals for one instrument, relative to the client's intake score."""

    instrument: str
    score: FloatArray
    intake: FloatArray
    change: FloatArray
    improved: BoolArray
    deteriorated: BoolArray
    recovered: BoolArray
    response: BoolArray
    remission: BoolArray
    caseness: BoolArray
    status: pd.Categorical


def _is_case(values: FloatArray, facts: InstrumentFacts) -> BoolArray:
    """:func:`bordin.scoring.is_case` on the instrument's total (False for NaN)."""
    compare = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}
    cutoff = float(facts.cutoff) if facts.cutoff is not None else np.nan
    case: BoolArray = compare[str(facts.case_if)](values, cutoff)
    return case


def assess_outcome(prepared: Prepared, instrument: str, config: FeedbackConfig) -> OutcomeSignals:
    """Outcome status at each session of ``instrument`` (an id such as ``"phq9"``)."""
    groups = prepared.groups
    facts = prepared.outcome_facts[instrument]
    y = prepared.outcomes[instrument]
    ok = ~np.isnan(y)
    n = groups.n_rows
    # Intake: the client's first non-missing score, carried forward.
    if ok.all():  # the first row
        first_ok = groups.first
        has_intake = np.ones(n, dtype=bool)
        intake = y[groups.row_start]
    else:
        first_ok = ok & (groups.count(ok) == 1)
        idx = np.where(first_ok, np.arange(n), -1)
        idx = np.maximum.accumulate(idx)
        has_intake = idx >= groups.row_start  # the last first score so far is this client's
        intake = np.where(has_intake, y[np.maximum(idx, 0)], np.nan)
    assessable = ok & has_intake & ~first_ok
    change = y - intake
    case_now = _is_case(y, facts) if facts.cutoff is not None else np.zeros(n, dtype=bool)
    # Reliable change and recovery by the rule of the scoring foundation,
    # :func:`bordin.scoring.reliable_change` (Jacobson & Truax, 1991), on the assessable rows
    # (intake and score present) without its per-row category objects.
    if facts.reliable_change is not None:
        threshold = reliable_change_threshold(instrument).value
        tolerance = 1e-9 * max(1.0, threshold)
        reliable = assessable & (np.abs(change) >= threshold - tolerance)
        improvement = change if facts.higher_is_better else -change
        improved = reliable & (improvement > 0)
        deteriorated = reliable & (improvement < 0)
        if facts.cutoff is not None:
            recovered = improved & _is_case(intake, facts) & ~case_now
        else:
            recovered = np.zeros(n, dtype=bool)
    else:
        improved = np.zeros(n, dtype=bool)
        deteriorated = np.zeros(n, dtype=bool)
        recovered = np.zeros(n, dtype=bool)
    if facts.defines_response:
        with np.errstate(invalid="ignore", divide="ignore"):
            reduction = np.where(intake > 0, (intake - y) / intake, np.nan)
        response = assessable & (reduction >= config.response_fraction)  # False for NaN
    else:
        response = np.zeros(n, dtype=bool)
    if facts.remission_below is not None:
        remission = assessable & (y < facts.remission_below)
    else:
        remission = np.zeros(n, dtype=bool)
    code = np.full(n, OUTCOME_STATUSES.index("not_assessed"), dtype=np.int8)
    code[assessable] = OUTCOME_STATUSES.index("no_reliable_change")
    code[improved] = OUTCOME_STATUSES.index("reliably_improved")
    code[recovered] = OUTCOME_STATUSES.index("recovered")
    code[deteriorated] = OUTCOME_STATUSES.index("reliably_deteriorated")
    status = pd.Categorical.from_codes(code, categories=list(OUTCOME_STATUSES))
    return OutcomeSignals(
        instrument=instrument,
        score=y,
        intake=intake,
        change=change,
        improved=improved,
        deteriorated=deteriorated,
        recovered=recovered,
        response=response,
        remission=remission,
        caseness=case_now,
        status=status,
    )
