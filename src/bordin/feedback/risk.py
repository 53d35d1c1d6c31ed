"""Risk items: any endorsement raises a risk alert that outranks every other alert.

Risk items are those the instrument definitions mark with ``risk_from``: PHQ-9 item 9
(thoughts of being better off dead or of self-harm) above 0 (Kroenke et al., 2001; Simon et
al., 2013 found that its endorsement predicts suicide attempts and deaths) and CORE-10's risk
item (item 6, plans to end one's life; Barkham et al., 2013) above 0. Bordin never assesses
risk itself: the alert asks the therapist to review risk with the client per the clinic's
protocol.

References
----------
Simon, G. E., et al. (2013). Does response on the PHQ-9 Depression Questionnaire predict
subsequent suicide attempt or suicide death? doi:10.1176/appi.ps.201200587
Barkham, M., et al. (2013). The CORE-10. doi:10.1080/14733145.2012.729069
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bordin.feedback._categorical import from_codes
from bordin.feedback._groups import BoolArray, FloatArray
from bordin.feedback._prepare import Prepared

__all__ = ["RiskSignals", "assess_risk"]


@dataclass(frozen=True)
class RiskSignals:
    """Per-row risk: the flag, the item that raised it and its response (NaN when no flag).

    When several items are endorsed the first in column order is named.
    """

    value: FloatArray
    item: pd.Categorical
    flag: BoolArray
    columns: tuple[str, ...]


def assess_risk(prepared: Prepared) -> RiskSignals:
    """Flag sessions where any available risk item is at or above its ``risk_from`` value."""
    n = prepared.groups.n_rows
    value = np.full(n, np.nan)
    code = np.full(n, -1, dtype=np.int16)
    flag = np.zeros(n, dtype=bool)
    columns = tuple(sorted(prepared.risk))
    for position, name in enumerate(columns):
        column = prepared.risk[name]
        endorsed = column >= prepared.risk_from[name]  # False for NaN
        new = endorsed & ~flag
        value = np.where(new, column, value)
        code[new] = position
        flag |= endorsed
    item = from_codes(code, columns)
    return RiskSignals(value=value, item=item, flag=flag, columns=columns)
