"""Risk items: any endorsement raises a risk alert that outranks every other alert.

PHQ-9 item 9 (thoughts of being better off dead or of self-harm) above 0 (Kroenke et al.,
2001; Simon et al., 2013 found that its endorsement predicts suicide attempts and deaths)
and CORE-10's risk item (item 6, plans to end one's life; Barkham et al., 2013) above 0.
Bordin never assesses risk itself: the alert asks the therapist to review risk with the
client per the clinic's protocol.

References
----------
Simon, G. E., et al. (2013). Does response on the PHQ-9 Depression Questionnaire predict
subsequent suicide attempt or suicide death? doi:10.1176/appi.ps.201200587
Barkham, M., et al. (2013). The CORE-10. doi:10.1080/14733145.2012.729069
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from bordin.feedback._groups import BoolArray, FloatArray
from bordin.feedback._prepare import Prepared

__all__ = ["RISK_ITEMS", "RiskSignals", "assess_risk"]

RISK_ITEMS: Final = ("phq9_item9", "core10_item6")


@dataclass(frozen=True)
class RiskSignals:
    """Per-row risk: the highest risk-item value this session, which item, and the flag."""

    value: FloatArray
    item: np.ndarray
    flag: BoolArray
    columns: tuple[str, ...]


def assess_risk(prepared: Prepared) -> RiskSignals:
    """Flag sessions where any available risk item is above 0 (this session only)."""
    n = prepared.groups.n_rows
    value = np.full(n, np.nan)
    item = np.full(n, "", dtype=object)
    for name in RISK_ITEMS:
        column = prepared.risk.get(name)
        if column is None:
            continue
        higher = np.nan_to_num(column, nan=-np.inf) > np.nan_to_num(value, nan=-np.inf)
        value = np.where(higher, column, value)
        item[higher] = name
    flag = np.nan_to_num(value, nan=0.0) > 0
    return RiskSignals(value=value, item=item, flag=flag, columns=tuple(sorted(prepared.risk)))
