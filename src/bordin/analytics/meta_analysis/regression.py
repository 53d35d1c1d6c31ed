"""Meta-regression with any number of continuous and categorical moderators (metafor's
``rma(yi, vi, mods = ~ ...)``) and its predictions (``predict(res, newmods = ...)``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bordin.analytics.meta_analysis._checks import as_studies, check_level
from bordin.analytics.meta_analysis._design import Design, build_design, parse_formula
from bordin.analytics.meta_analysis._fit import (
    FitControl,
    Method,
    Test,
    check_method_test,
    estimate_tau2,
    fit_rma,
)
from bordin.analytics.meta_analysis.prediction import (
    MetaPredictionResult,
    NewMods,
    predict_meta_regression,
)
from bordin.errors import InputError

__all__ = ["MetaRegressionResult", "fit_meta_regression"]

FloatArray = NDArray[np.float64]
Mods: TypeAlias = Sequence[object] | Mapping[str, Sequence[object]] | pd.DataFrame


@dataclass(frozen=True, eq=False)
class MetaRegressionResult:
    """A mixed-effects meta-regression (metafor's ``rma`` with ``mods``).

    Attributes
    ----------
    formula
        The model as an R formula, e.g. ``~ ablat + year + alloc``.
    moderators
        Moderator names in model order.
    levels
        Levels of each categorical moderator; the first is the reference (absorbed in the
        intercept).
    terms
        Coefficient names as metafor writes them: ``intrcpt``, a continuous moderator's
        name, a categorical moderator's name and level pasted together
        (``allocrandom``; ``factor(grade)2`` when the formula says ``factor(grade)``).
    coef, se, statistic, p_value, ci_low, ci_high
        Coefficients and their inference (metafor's ``b, se, zval, pval, ci.lb, ci.ub``).
    vb
        Covariance matrix of the coefficients (``vb``).
    df
        Degrees of freedom of the t tests (``k - p``) with ``knha``; None for z tests.
    qm
        Omnibus test that all non-intercept coefficients are 0 (``QM``): chi-squared with
        ``p - 1`` df; with ``knha`` an F statistic with ``(p - 1, k - p)`` df.
    qm_df
        Its degrees of freedom ``(p - 1, None)`` or ``(p - 1, k - p)`` (``QMdf``).
    qm_p_value
        Its p-value (``QMp``).
    qe, qe_df, qe_p_value
        Test of residual heterogeneity (fixed-effect weights), its df ``k - p`` and p-value.
    tau2, se_tau2
        Residual between-study variance and its standard error (None for ``FE``).
    i2, h2
        Residual I^2 (percent) and H^2.
    r2
        R^2 in percent as metafor computes it: random effects, the pseudo R^2
        ``max(0, 100 (tau2_0 - tau2) / tau2_0)`` with ``tau2_0`` from the model without
        moderators on the same studies (0 when ``tau2_0 == 0``); ``FE``, the adjusted R^2 of
        the weighted least-squares fit, truncated at 0.
    k, p
        Number of studies in the model and of coefficients.
    n_dropped
        Studies left out because a moderator value was missing.
    method, test, level
        Estimator, test and confidence level.
    design
        The moderators' coding, to build rows for :meth:`predict`.
    """

    formula: str
    moderators: tuple[str, ...]
    levels: Mapping[str, tuple[str, ...]]
    terms: tuple[str, ...]
    coef: FloatArray
    se: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    vb: FloatArray = field(repr=False)
    df: int | None
    qm: float
    qm_df: tuple[int, int | None]
    qm_p_value: float
    qe: float
    qe_df: int
    qe_p_value: float
    tau2: float
    se_tau2: float | None
    i2: float
    h2: float
    r2: float
    k: int
    p: int
    n_dropped: int
    method: Method
    test: Test
    level: float
    design: Design = field(repr=False)

    @property
    def moderator(self) -> str:
        """The moderators joined by ``+`` (a label for plots and summaries)."""
        return " + ".join(self.moderators)

    def predict(self, newmods: NewMods, *, level: float | None = None) -> MetaPredictionResult:
        """Predicted effects at given moderator values (metafor's ``predict(res, newmods)``).

        ``newmods`` is one mapping ``{moderator: value}`` (categorical moderators by level),
        a sequence of them, or a DataFrame with a column per moderator. See
        :func:`~bordin.analytics.meta_analysis.prediction.predict_meta_regression`.
        """
        return predict_meta_regression(
            design=self.design,
            coef=self.coef,
            vb=self.vb,
            tau2=self.tau2,
            df=self.df,
            level=self.level if level is None else level,
            newmods=newmods,
            fixed_effect=self.method == "FE",
        )

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per coefficient."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.coef,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "statistic": self.statistic,
                "p_value": self.p_value,
                "df": [self.df] * len(self.terms),
                "k": self.k,
                "tau2": self.tau2,
                "level": self.level,
                "method": self.method,
            }
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The model with metafor's names: ``coef`` (``b``), ``se``, ``zval``, ``pval``,
        ``ci.lb``, ``ci.ub`` keyed by term; ``QM, QMdf, QMp, QE, QEp, tau2, se.tau2, I2,
        H2, R2, k, p`` and the formula, moderators, levels and dropped studies."""

        def by_term(values: FloatArray) -> dict[str, float]:
            return {t: float(x) for t, x in zip(self.terms, values, strict=True)}

        return {
            "formula": self.formula,
            "coef": by_term(self.coef),
            "se": by_term(self.se),
            "zval": by_term(self.statistic),
            "pval": by_term(self.p_value),
            "ci.lb": by_term(self.ci_low),
            "ci.ub": by_term(self.ci_high),
            "QM": self.qm,
            "QMdf": list(self.qm_df),
            "QMp": self.qm_p_value,
            "QE": self.qe,
            "QEp": self.qe_p_value,
            "tau2": self.tau2,
            "se.tau2": self.se_tau2,
            "I2": self.i2,
            "H2": self.h2,
            "R2": self.r2,
            "k": self.k,
            "p": self.p,
            "moderators": list(self.moderators),
            "levels": {name: list(lv) for name, lv in self.levels.items()},
            "n_dropped": self.n_dropped,
        }

    def summary(self) -> str:
        """A short plain-text report for the terminal."""
        lines = [f"meta-regression {self.formula} ({self.method}), k = {self.k}"]
        for i, term in enumerate(self.terms):
            lines.append(
                f"  {term:<28} {self.coef[i]:9.4f} (SE {self.se[i]:.4f}) "
                f"[{self.ci_low[i]:.4f}, {self.ci_high[i]:.4f}] p = {self.p_value[i]:.4f}"
            )
        if self.qm_df[1] is None:
            omnibus = f"QM({self.qm_df[0]}) = {self.qm:.3f}"
        else:
            omnibus = f"F({self.qm_df[0]}, {self.qm_df[1]}) = {self.qm:.3f}"
        lines.append(
            f"{omnibus}, p = {self.qm_p_value:.4f}; residual tau^2 {self.tau2:.4f}, "
            f"QE({self.qe_df}) = {self.qe:.2f}, p = {self.qe_p_value:.4f}; R^2 {self.r2:.1f}%"
        )
        return "\n".join(lines)


def _fe_r2(y: FloatArray, v: FloatArray, qe: float, p: int) -> float:
    # metafor 3.8 for FE: max(0, 100 * summary(lm(yi ~ X, weights = 1/vi))$adj.r.squared).
    if np.var(y) == 0:
        return 0.0
    w = 1.0 / v
    tss = float(np.sum(w * (y - float(w @ y) / float(np.sum(w))) ** 2))
    k = y.size
    adj = 1.0 - (qe / tss) * (k - 1) / (k - p)
    return max(0.0, 100.0 * adj)


def fit_meta_regression(
    yi: Sequence[float] | FloatArray,
    vi: Sequence[float] | FloatArray,
    mods: Mods,
    *,
    formula: str | None = None,
    name: str = "moderator",
    categorical: Sequence[str] = (),
    reference: str | Mapping[str, str] | None = None,
    method: Method = "REML",
    test: Test = "z",
    level: float = 0.95,
    control: FitControl | None = None,
) -> MetaRegressionResult:
    """Mixed-effects meta-regression on continuous and categorical moderators.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    mods
        The moderators: a table (mapping of column name to values, or a DataFrame) with one
        value per study, or one sequence (a single categorical moderator called ``name``).
        Studies with a missing value of a moderator in the model are left out and counted
        in ``n_dropped`` (metafor omits them the same way).
    formula
        Which columns of ``mods`` enter the model, as R writes it: ``"~ ablat + year +
        alloc"``; ``factor(x)`` makes x categorical. Default: every column. Interactions,
        transformations and models without an intercept are not supported.
    name
        Name of the moderator when ``mods`` is one sequence.
    categorical
        Moderators to treat as categorical although their values are numbers. A moderator
        with any value that is not a number is categorical anyway (as a character column in
        R); one sequence is always categorical.
    reference
        Reference level: a level (one sequence) or ``{moderator: level}``. Default the
        first level in sorted order (numeric order for numbers, else the C locale's).
    method, test, level, control
        As for :func:`random_effects_meta`.

    Returns
    -------
    MetaRegressionResult

    Raises
    ------
    InputError
        A missing column, a categorical moderator with fewer than 2 levels, a term that is
        constant or collinear with the terms before it, as many coefficients as studies, an
        unknown reference level, an unreadable formula.

    Notes
    -----
    :math:`y_i = x_i^\\top \\beta + u_i + e_i`, :math:`u_i \\sim N(0, \\tau^2)`,
    :math:`e_i \\sim N(0, v_i)`; categorical moderators enter as treatment-coded dummies.
    :math:`Q_M = \\hat\\beta_{-0}^\\top V_{-0}^{-1} \\hat\\beta_{-0}` (divided by
    :math:`p - 1` and referred to :math:`F_{p-1, k-p}` with Knapp-Hartung, else to
    :math:`\\chi^2_{p-1}`); :math:`Q_E = y^\\top P y` with fixed-effect weights; pseudo
    :math:`R^2 = (\\hat\\tau^2_0 - \\hat\\tau^2)/\\hat\\tau^2_0` (Raudenbush, 2009),
    truncated at 0, with :math:`\\hat\\tau^2_0` from the intercept-only model on the same
    studies and estimator.

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: ``rma(yi, vi, mods = ~ ablat + year + alloc, method, test)`` on
    ``dat.bcg``, ``~ length + factor(grade) + meta + feedback`` on
    ``dat.bangertdrowns2004``, ``~ time + co2.elev + fungrp`` on ``dat.curtis1998``, every
    estimator and test, in ``tests/reference/data/meta/regression/`` (script
    ``tests/reference/r/make_meta_regression.R``); one categorical moderator also
    ``<M>_REML_mods_<moderator>`` in ``tests/reference/data/meta/molloy2014.json`` and
    ``cases/``. rtol 1e-9 for closed-form estimators, 1e-6 for iterative ones.

    References
    ----------
    Raudenbush, S. W. (2009). Analyzing effect sizes: Random-effects models. In H. Cooper,
    L. V. Hedges, & J. C. Valentine (Eds.), The handbook of research synthesis and
    meta-analysis (2nd ed., pp. 295-315). Russell Sage Foundation.

    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03

    Examples
    --------
    >>> res = fit_meta_regression(  # rma(yi, vi, mods = ~ x + g)
    ...     [0.1, 0.2, 0.4, 0.5, 0.3], [0.01, 0.01, 0.02, 0.02, 0.03],
    ...     {"x": [1, 2, 3, 4, 5], "g": ["a", "a", "b", "b", "a"]})
    >>> res.terms
    ('intrcpt', 'x', 'gb')
    """
    y, v = as_studies(yi, vi)
    check_method_test(method, test)
    level = check_level(level)
    if isinstance(mods, pd.DataFrame):
        columns: Mapping[str, Sequence[object]] = {str(c): mods[c].to_numpy() for c in mods.columns}
    elif isinstance(mods, Mapping):
        columns = mods
    else:
        columns = {name: list(mods)}
        categorical = (*categorical, name)
    if isinstance(reference, str):
        if len(columns) != 1:
            raise InputError("give reference as {moderator: level} with several moderators")
        reference = {next(iter(columns)): reference}
    terms = parse_formula(formula) if formula is not None else [(c, False) for c in columns]
    for col, values in columns.items():
        if len(values) != y.size:
            raise InputError(f"{len(values)} values of moderator {col} for {y.size} studies")
    design, x, keep = build_design(columns, terms, categorical=categorical, reference=reference)
    n_dropped = int(np.sum(~keep))
    y, v = y[keep], v[keep]
    if y.size <= x.shape[1]:
        raise InputError(f"{y.size} studies cannot estimate {x.shape[1]} coefficients")
    control = control or FitControl()
    fit = fit_rma(y, v, x, method=method, test=test, level=level, control=control)
    if fit.qm is None or fit.qm_df is None or fit.qm_pval is None:
        raise InputError("the moderators add no coefficient to test")
    if method == "FE":
        r2 = _fe_r2(y, v, fit.qe, fit.p)
    else:
        tau2_0, _, _ = estimate_tau2(y, v, np.ones((y.size, 1)), method, control)
        r2 = 0.0 if tau2_0 == 0 else max(0.0, 100.0 * (tau2_0 - fit.tau2) / tau2_0)
    written = " + ".join(f"factor({n})" if wrapped else n for n, wrapped in terms)
    return MetaRegressionResult(
        formula=f"~ {written}",
        moderators=tuple(m.name for m in design.moderators),
        levels={m.name: m.levels for m in design.moderators if m.categorical},
        terms=design.terms,
        coef=fit.beta,
        se=fit.se,
        statistic=fit.stat,
        p_value=fit.pval,
        ci_low=fit.ci_low,
        ci_high=fit.ci_high,
        vb=fit.vb,
        df=fit.df,
        qm=fit.qm,
        qm_df=fit.qm_df,
        qm_p_value=fit.qm_pval,
        qe=fit.qe,
        qe_df=fit.k - fit.p,
        qe_p_value=fit.qe_pval,
        tau2=fit.tau2,
        se_tau2=fit.se_tau2,
        i2=fit.i2,
        h2=fit.h2,
        r2=r2,
        k=fit.k,
        p=fit.p,
        n_dropped=n_dropped,
        method=method,
        test=test,
        level=level,
        design=design,
    )
