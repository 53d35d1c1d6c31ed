"""Leave-one-out sensitivity analysis (metafor's ``leave1out``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bordin.analytics.meta_analysis._fit import FitControl
from bordin.analytics.meta_analysis.model import MetaResult, random_effects_meta
from bordin.errors import InputError

__all__ = ["LeaveOneOutResult", "leave_one_out"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class LeaveOneOutResult:
    """The model refitted k times, each time without one study.

    Attributes
    ----------
    labels
        Label of the study left out in each fit.
    estimate, se, statistic, p_value, ci_low, ci_high
        Pooled effect without that study, with its inference (same estimator and test).
    tau2, i2, h2, q
        Heterogeneity without that study.
    level
        Confidence level.
    method
        tau^2 estimator.
    """

    labels: tuple[str, ...]
    estimate: FloatArray = field(repr=False)
    se: FloatArray = field(repr=False)
    statistic: FloatArray = field(repr=False)
    p_value: FloatArray = field(repr=False)
    ci_low: FloatArray = field(repr=False)
    ci_high: FloatArray = field(repr=False)
    tau2: FloatArray = field(repr=False)
    i2: FloatArray = field(repr=False)
    h2: FloatArray = field(repr=False)
    q: FloatArray = field(repr=False)
    level: float = 0.95
    method: str = "REML"

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per omitted study (``term`` is the study's label)."""
        return pd.DataFrame(
            {
                "term": list(self.labels),
                "estimate": self.estimate,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "statistic": self.statistic,
                "p_value": self.p_value,
                "tau2": self.tau2,
                "i2": self.i2,
                "q": self.q,
                "level": self.level,
                "method": self.method,
            }
        )


def leave_one_out(
    result: MetaResult,
    *,
    labels: Sequence[str] | None = None,
    control: FitControl | None = None,
) -> LeaveOneOutResult:
    """Refit the model once without each study.

    Parameters
    ----------
    result
        A model from :func:`random_effects_meta` (k >= 3).
    labels
        Study labels (default: 1..k).
    control
        Convergence settings (default: tight, 1e-12).

    Returns
    -------
    LeaveOneOutResult

    Raises
    ------
    InputError
        Fewer than 3 studies, or labels of the wrong length.

    Notes
    -----
    Fit :math:`i` uses studies :math:`\\{1..k\\} \\setminus \\{i\\}` with the model's estimator,
    test and level; a study whose omission moves the pooled effect or tau^2 a lot is
    influential (Viechtbauer & Cheung, 2010).

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: ``leave1out(rma(yi, vi))$estimate``, ``leave1out_estimate`` in
    ``tests/reference/data/meta/molloy2014.json`` and ``mcdaniel1994.json``, rtol 1e-6.

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for
    meta-analysis. Research Synthesis Methods, 1(2), 112-125. https://doi.org/10.1002/jrsm.11

    Examples
    --------
    >>> res = random_effects_meta([0.1, 0.5, 0.35, 0.2], [0.01, 0.05, 0.03, 0.02])
    >>> loo = leave_one_out(res)  # leave1out(rma(yi, vi))
    >>> len(loo.estimate)
    4
    """
    k = result.k
    if k < 3:
        raise InputError("leave-one-out needs at least 3 studies")
    names = tuple(str(i + 1) for i in range(k)) if labels is None else tuple(labels)
    if len(names) != k:
        raise InputError(f"{len(names)} labels for {k} studies")
    cols: dict[str, list[float]] = {
        name: [] for name in ("estimate", "se", "statistic", "p_value", "ci_low", "ci_high")
    }
    cols.update({"tau2": [], "i2": [], "h2": [], "q": []})
    mask = np.ones(k, dtype=bool)
    for i in range(k):
        mask[i] = False
        fit = random_effects_meta(
            result.yi[mask],
            result.vi[mask],
            method=result.method,
            test=result.test,
            level=result.level,
            control=control,
        )
        mask[i] = True
        for name in cols:
            cols[name].append(float(getattr(fit, name)))
    arrays = {name: np.asarray(values) for name, values in cols.items()}
    return LeaveOneOutResult(labels=names, level=result.level, method=result.method, **arrays)
