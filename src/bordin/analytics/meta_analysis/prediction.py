"""Predicted effects of a meta-regression at given moderator values (metafor's
``predict(res, newmods = ...)``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from bordin.analytics.meta_analysis._checks import check_level
from bordin.analytics.meta_analysis._design import Design
from bordin.errors import InputError

__all__ = ["MetaPredictionResult", "NewMods", "predict_meta_regression"]

FloatArray = NDArray[np.float64]
NewMods: TypeAlias = Mapping[str, object] | Sequence[Mapping[str, object]] | pd.DataFrame


@dataclass(frozen=True, eq=False)
class MetaPredictionResult:
    """Predictions of a meta-regression, one per set of moderator values.

    Attributes
    ----------
    newmods
        The moderator values of each prediction, as given.
    x
        The model-matrix rows they make (intercept first).
    pred, se
        Predicted mean effect :math:`x^\\top\\hat\\beta` and its standard error
        (``pred``, ``se``).
    ci_low, ci_high
        Confidence interval of the mean effect (``ci.lb``, ``ci.ub``).
    pi_low, pi_high
        Prediction interval for the true effect of a new study with these moderator values
        (``pi.lb``, ``pi.ub``): :math:`\\pm` crit :math:`\\sqrt{se^2 + \\hat\\tau^2}`; None
        for a fixed-effect model (as in metafor).
    df
        Degrees of freedom of the t quantile (``k - p``, Knapp-Hartung); None for z.
    level
        Confidence level.
    """

    newmods: tuple[Mapping[str, object], ...] = field(repr=False)
    x: FloatArray = field(repr=False)
    pred: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    pi_low: FloatArray | None
    pi_high: FloatArray | None
    df: int | None
    level: float

    def to_frame(self) -> pd.DataFrame:
        """One row per prediction in the project's column vocabulary: ``term`` (the
        moderator values, ``ablat=10, alloc=random``), ``estimate, se, ci_low, ci_high,
        pi_low, pi_high, df, level``."""
        frame = pd.DataFrame(
            {"term": [", ".join(f"{k}={v}" for k, v in m.items()) for m in self.newmods]}
        )
        frame["estimate"] = self.pred
        frame["se"] = self.se
        frame["ci_low"] = self.ci_low
        frame["ci_high"] = self.ci_high
        frame["pi_low"] = self.pi_low if self.pi_low is not None else np.nan
        frame["pi_high"] = self.pi_high if self.pi_high is not None else np.nan
        frame["df"] = self.df
        frame["level"] = self.level
        return frame

    def to_json_dict(self) -> list[dict[str, Any]]:
        """One object per prediction with metafor's names (``pred, se, ci.lb, ci.ub, pi.lb,
        pi.ub``) and the moderator values under ``newmods``."""
        return [
            {
                "newmods": dict(self.newmods[i]),
                "pred": float(self.pred[i]),
                "se": float(self.se[i]),
                "ci.lb": float(self.ci_low[i]),
                "ci.ub": float(self.ci_high[i]),
                "pi.lb": None if self.pi_low is None else float(self.pi_low[i]),
                "pi.ub": None if self.pi_high is None else float(self.pi_high[i]),
            }
            for i in range(self.pred.size)
        ]

    def summary(self) -> str:
        """One line per prediction."""
        pct = f"{self.level * 100:g}%"
        lines = []
        for i, m in enumerate(self.newmods):
            line = (
                f"{', '.join(f'{k}={v}' for k, v in m.items())}: pred {self.pred[i]:.4f} "
                f"(SE {self.se[i]:.4f}), {pct} CI [{self.ci_low[i]:.4f}, {self.ci_high[i]:.4f}]"
            )
            if self.pi_low is not None and self.pi_high is not None:
                line += f", PI [{self.pi_low[i]:.4f}, {self.pi_high[i]:.4f}]"
            lines.append(line)
        return "\n".join(lines)


def _as_rows(newmods: NewMods) -> tuple[Mapping[str, object], ...]:
    if isinstance(newmods, pd.DataFrame):
        return tuple(
            {str(k): v for k, v in row.items()} for row in newmods.to_dict(orient="records")
        )
    if isinstance(newmods, Mapping):
        return (newmods,)
    rows = tuple(newmods)
    if not rows or not all(isinstance(r, Mapping) for r in rows):
        raise InputError("newmods must be a mapping {moderator: value}, a list of them or a table")
    return rows


def predict_meta_regression(
    *,
    design: Design,
    coef: FloatArray,
    vb: FloatArray,
    tau2: float,
    df: int | None,
    level: float,
    newmods: NewMods,
    fixed_effect: bool = False,
) -> MetaPredictionResult:
    """Predicted effects, confidence and prediction intervals at given moderator values.

    Usually called as :meth:`MetaRegressionResult.predict`.

    Parameters
    ----------
    design, coef, vb, tau2, df
        The fitted model's coding of the moderators, coefficients, their covariance, the
        residual tau^2 and the t df (None for z tests).
    fixed_effect
        True for a fixed-effect model: no prediction interval.
    level
        Confidence level.
    newmods
        One mapping ``{moderator: value}``, a sequence of them, or a DataFrame; a value for
        every moderator of the model (levels by name for categorical ones).

    Returns
    -------
    MetaPredictionResult

    Raises
    ------
    InputError
        A moderator without a value, an unknown moderator or level, a value that is not a
        number.

    Notes
    -----
    :math:`\\hat\\mu = x^\\top\\hat\\beta`, :math:`SE = \\sqrt{x^\\top V x}`; CI
    :math:`\\hat\\mu \\pm c\\,SE`; PI :math:`\\hat\\mu \\pm c\\sqrt{SE^2 + \\hat\\tau^2}`,
    with c the normal quantile, or the t quantile on ``k - p`` df with Knapp-Hartung
    (metafor's default ``pi.type``). A fixed-effect model has no PI (metafor 3.8 gives none).

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: ``predict(res, newmods = X.new)`` in every model of
    ``tests/reference/data/meta/regression/*.json``
    (``tests/reference/r/make_meta_regression.R``), at the model's tolerance.

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03

    Examples
    --------
    >>> from bordin.analytics.meta_analysis import fit_meta_regression
    >>> res = fit_meta_regression([0.1, 0.2, 0.4, 0.5, 0.3], [0.01] * 5, {"x": [1, 2, 3, 4, 5]})
    >>> pr = res.predict({"x": 6})  # predict(rma(yi, vi, mods = ~ x), newmods = 6)
    >>> round(float(pr.pred[0]), 3)
    0.51
    """
    level = check_level(level)
    rows = _as_rows(newmods)
    x = np.vstack([design.row(r, item=f"newmods[{i}]") for i, r in enumerate(rows)])
    pred = x @ coef
    se = np.sqrt(np.einsum("ij,jk,ik->i", x, vb, x))
    if df is None:
        crit = float(-special.ndtri((1 - level) / 2))
    else:
        crit = float(-special.stdtrit(df, (1 - level) / 2))
    half_pi = crit * np.sqrt(se**2 + tau2)
    return MetaPredictionResult(
        newmods=rows,
        x=x,
        pred=pred,
        se=se,
        ci_low=pred - crit * se,
        ci_high=pred + crit * se,
        pi_low=None if fixed_effect else pred - half_pi,
        pi_high=None if fixed_effect else pred + half_pi,
        df=df,
        level=level,
    )
