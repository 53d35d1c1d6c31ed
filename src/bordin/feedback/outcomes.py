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

from bordin.feedback import _kernels
from bordin.feedback._groups import BoolArray, FloatArray
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


_CASE_OPS: Final = (">=", ">", "<=", "<")  # the order of _kernels.outcome_rows' case_op


def assess_outcome(prepared: Prepared, instrument: str, config: FeedbackConfig) -> OutcomeSignals:
    """Outcome status at each session of ``instrument`` (an id such as ``"phq9"``)."""
    facts = prepared.outcome_facts[instrument]
    y = prepared.outcomes[instrument]
    # Reliable change and recovery by the rule of the scoring foundation,
    # :func:`bordin.scoring.reliable_change` (Jacobson & Truax, 1991), without its per-row
    # category objects.
    threshold = (
        reliable_change_threshold(instrument).value if facts.reliable_change is not None else np.nan
    )
    (
        intake,
        change,
        improved,
        deteriorated,
        recovered,
        response,
        remission,
        case_now,
        code,
    ) = _kernels.outcome_rows(
        y,
        prepared.groups.first,
        float(threshold),
        bool(facts.higher_is_better),
        float(facts.cutoff) if facts.cutoff is not None else np.nan,
        _CASE_OPS.index(facts.case_if) if facts.case_if in _CASE_OPS else 0,
        float(config.response_fraction),
        bool(facts.defines_response),
        float(facts.remission_below) if facts.remission_below is not None else np.nan,
    )
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
