"""Moderation: does the effect of a predictor on an outcome depend on a moderator?

The typical question in Bordin is whether the alliance moderates the effect of treatment
adherence on outcome (Tschuschke et al., 2015), but any predictor and moderator columns of
a per-client (or per-session) table can be used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from bordin.analytics._ols import CovType, TermEstimate, fit_ols, fit_terms, make_term, t_quantile
from bordin.errors import InputError

__all__ = [
    "JohnsonNeymanResult",
    "ModerationResult",
    "SimpleSlope",
    "fit_moderation",
]

JNKind = Literal["outside", "inside", "everywhere", "nowhere"]


@dataclass(frozen=True)
class SimpleSlope:
    """The predictor's slope at one value of the moderator.

    Attributes
    ----------
    label:
        Where the slope is taken: ``mean - 1 SD``, ``mean``, ``mean + 1 SD`` or ``at``.
    moderator_value:
        The moderator value :math:`m_0`.
    slope:
        The slope :math:`b_1 + b_3 m_0`, its standard error, confidence interval and t test.
    """

    label: str
    moderator_value: float
    slope: TermEstimate


@dataclass(frozen=True)
class JohnsonNeymanResult:
    """Johnson-Neyman interval: where the predictor's slope is significant.

    Attributes
    ----------
    lower, upper:
        The two moderator values at which the slope's ``level`` confidence interval just
        touches zero (``nan`` when there is no real boundary).
    kind:
        ``outside``: the slope is significant for moderator values outside ``[lower,
        upper]``; ``inside``: significant inside it; ``everywhere`` / ``nowhere``: no
        boundary exists and the slope is significant for every / no moderator value.
    alpha:
        Significance level, ``1 - level``.
    critical_value:
        The two-sided t critical value used, with ``df`` degrees of freedom.
    df:
        Residual degrees of freedom.
    moderator_min, moderator_max:
        Observed range of the moderator, so a reader can see whether a bound lies within
        the data.
    """

    lower: float
    upper: float
    kind: JNKind
    alpha: float
    critical_value: float
    df: float
    moderator_min: float
    moderator_max: float

    def describe(self, predictor: str, moderator: str) -> str:
        """A sentence saying where the slope of ``predictor`` is significant."""
        a = f"p < {self.alpha:g}"
        if self.kind == "everywhere":
            return f"The slope of {predictor} is significant ({a}) at every value of {moderator}."
        if self.kind == "nowhere":
            return f"The slope of {predictor} is not significant ({a}) at any value of {moderator}."
        where = "outside" if self.kind == "outside" else "inside"
        return (
            f"The slope of {predictor} is significant ({a}) when {moderator} is {where} "
            f"[{self.lower:.4g}, {self.upper:.4g}] (observed range {self.moderator_min:.4g} "
            f"to {self.moderator_max:.4g})."
        )


@dataclass(frozen=True)
class ModerationResult:
    """A moderated regression ``outcome ~ predictor * moderator + covariates``.

    Attributes
    ----------
    outcome, predictor, moderator:
        Column names used.
    covariates:
        Further adjustment columns (main effects only).
    coefficients:
        Every coefficient (``(Intercept)``, predictor, moderator, covariates, and the
        interaction ``predictor:moderator``), as R's ``lm`` names them.
    interaction:
        The interaction coefficient :math:`b_3` (also in ``coefficients``).
    simple_slopes:
        The predictor's slope at the moderator's mean - 1 SD, mean and mean + 1 SD, then at
        any extra values requested.
    johnson_neyman:
        The Johnson-Neyman interval of the predictor's slope over the moderator.
    slope_var, interaction_var, slope_interaction_cov:
        :math:`\\operatorname{Var}(b_1)`, :math:`\\operatorname{Var}(b_3)` and
        :math:`\\operatorname{Cov}(b_1, b_3)`, so slopes at other moderator values can be
        computed with :meth:`slope_at`.
    moderator_var, moderator_interaction_cov:
        :math:`\\operatorname{Var}(b_2)` and :math:`\\operatorname{Cov}(b_2, b_3)`, for the
        reverse probe :meth:`moderator_slope_at` (the moderator's slope at a value of the
        predictor).
    moderator_mean, moderator_sd:
        Mean and sample standard deviation (n - 1) of the moderator in the analysed rows.
    predictor_mean:
        Mean of the predictor in the analysed rows.
    n:
        Rows analysed (complete cases).
    df_resid:
        Residual degrees of freedom.
    r_squared:
        Proportion of outcome variance explained.
    cov_type:
        Covariance of the coefficients: ``classic`` (as ``lm``), ``HC0`` ... ``HC3``, or
        cluster-robust ``CR1``.
    absorb:
        Column whose fixed effects were swept out (None: an ordinary intercept).
    cluster:
        Column of the clusters of ``CR1`` standard errors (None otherwise).
    level:
        Confidence level of every interval.
    """

    outcome: str
    predictor: str
    moderator: str
    covariates: tuple[str, ...]
    coefficients: tuple[TermEstimate, ...]
    interaction: TermEstimate
    simple_slopes: tuple[SimpleSlope, ...]
    johnson_neyman: JohnsonNeymanResult
    slope_var: float
    interaction_var: float
    slope_interaction_cov: float
    moderator_var: float
    moderator_interaction_cov: float
    moderator_mean: float
    moderator_sd: float
    predictor_mean: float
    n: int
    df_resid: int
    r_squared: float
    cov_type: CovType
    absorb: str | None
    cluster: str | None
    level: float

    @property
    def method(self) -> str:
        """A short description of the estimation method."""
        if self.cov_type == "classic":
            se = "classical"
        elif self.cov_type == "CR1":
            se = f"cluster-robust (CR1, by {self.cluster})"
        else:
            se = f"{self.cov_type} robust"
        fe = f", {self.absorb} fixed effects" if self.absorb else ""
        return f"OLS with interaction{fe}, {se} SE, t({self.df_resid})"

    def slope_at(self, value: float) -> TermEstimate:
        """The predictor's slope at a moderator value, with its interval and t test."""
        b1 = _coef(self.coefficients, self.predictor).estimate
        b3 = self.interaction.estimate
        var = self.slope_var + 2.0 * value * self.slope_interaction_cov
        var += value**2 * self.interaction_var
        return make_term(
            f"{self.predictor} | {self.moderator}={value:.6g}",
            b1 + b3 * value,
            float(np.sqrt(max(var, 0.0))),
            float(self.df_resid),
            self.level,
        )

    def moderator_slope_at(self, value: float) -> TermEstimate:
        """The moderator's slope at a value of the predictor (the model is symmetric).

        With alliance as moderator and adherence as predictor, this is the alliance's
        slope at a given adherence: :math:`b_2 + b_3 x_0`, variance
        :math:`V_{22} + 2 x_0 V_{23} + x_0^2 V_{33}`.
        """
        b2 = _coef(self.coefficients, self.moderator).estimate
        b3 = self.interaction.estimate
        var = self.moderator_var + 2.0 * value * self.moderator_interaction_cov
        var += value**2 * self.interaction_var
        return make_term(
            f"{self.moderator} | {self.predictor}={value:.6g}",
            b2 + b3 * value,
            float(np.sqrt(max(var, 0.0))),
            float(self.df_resid),
            self.level,
        )

    def to_frame(self) -> pd.DataFrame:
        """Coefficients, simple slopes and Johnson-Neyman bounds in one tidy table.

        ``group`` says which part a row belongs to: ``coefficient``, ``simple_slope`` or
        ``johnson_neyman`` (whose ``estimate`` is the bound on the moderator scale).
        """
        rows: list[dict[str, object]] = []
        for t in self.coefficients:
            rows.append(_row(t, "coefficient", self))
        for s in self.simple_slopes:
            row = _row(s.slope, "simple_slope", self)
            row["term"] = (
                f"{self.predictor} at {self.moderator} {s.label} ({s.moderator_value:.6g})"
            )
            rows.append(row)
        jn = self.johnson_neyman
        for name, value in (("lower", jn.lower), ("upper", jn.upper)):
            rows.append(
                {
                    "term": f"johnson_neyman_{name} ({jn.kind})",
                    "estimate": value,
                    "se": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "statistic": np.nan,
                    "p_value": np.nan,
                    "df": jn.df,
                    "n": self.n,
                    "level": self.level,
                    "group": "johnson_neyman",
                    "method": (
                        f"Johnson-Neyman closed form, alpha {jn.alpha:.3g}, "
                        f"critical t {jn.critical_value:.4f}"
                    ),
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A plain-text summary for the terminal."""
        lines = [
            f"Moderation of {self.predictor} -> {self.outcome} by {self.moderator}",
            f"{self.method}; n = {self.n}; R^2 = {self.r_squared:.3f}",
            "",
        ]
        for t in self.coefficients:
            lines.append(_line(t.term, t, self.level))
        lines.append("")
        lines.append("Simple slopes")
        for s in self.simple_slopes:
            lines.append(_line(f"{s.label} ({s.moderator_value:.4g})", s.slope, self.level))
        lines.append("")
        lines.append(self.johnson_neyman.describe(self.predictor, self.moderator))
        return "\n".join(lines)


def _coef(terms: Sequence[TermEstimate], name: str) -> TermEstimate:
    for t in terms:
        if t.term == name:
            return t
    raise KeyError(name)


def _row(t: TermEstimate, group: str, res: ModerationResult) -> dict[str, object]:
    return {
        "term": t.term,
        "estimate": t.estimate,
        "se": t.se,
        "ci_low": t.ci_low,
        "ci_high": t.ci_high,
        "statistic": t.statistic,
        "p_value": t.p_value,
        "df": t.df,
        "n": res.n,
        "level": res.level,
        "group": group,
        "method": res.method,
    }


def _line(label: str, t: TermEstimate, level: float) -> str:
    return (
        f"  {label:<32} {t.estimate:>10.4g}  SE {t.se:.4g}  "
        f"{level:.0%} CI [{t.ci_low:.4g}, {t.ci_high:.4g}]  p = {t.p_value:.3g}"
    )


def johnson_neyman(
    b1: float,
    b3: float,
    var_b1: float,
    var_b3: float,
    cov_b13: float,
    *,
    df: float,
    level: float = 0.95,
    moderator_min: float = float("nan"),
    moderator_max: float = float("nan"),
) -> JohnsonNeymanResult:
    """Closed-form Johnson-Neyman bounds for the slope :math:`b_1 + b_3 m`.

    Notes
    -----
    The slope is significant where :math:`(b_1 + b_3 m)^2 > t^2 \\operatorname{Var}(b_1 +
    b_3 m)`, i.e. where :math:`a m^2 + 2 b m + c > 0` with :math:`a = b_3^2 - t^2 V_{33}`,
    :math:`b = b_1 b_3 - t^2 V_{13}`, :math:`c = b_1^2 - t^2 V_{11}` (Johnson & Neyman,
    1936; Bauer & Curran, 2005). The bounds are the roots of the quadratic; when
    :math:`a > 0` the significant region lies outside them, when :math:`a < 0` inside (or
    nowhere, without real roots). Because the slope is 0 where :math:`m = -b_1/b_3`, a
    slope is significant everywhere only when :math:`b_3` and its variance are 0.
    """
    crit = t_quantile(level, df)
    t2 = crit * crit
    a = b3 * b3 - t2 * var_b3
    b = b1 * b3 - t2 * cov_b13
    c = b1 * b1 - t2 * var_b1
    disc = b * b - a * c
    nan = float("nan")
    kind: JNKind
    if a == 0.0:
        # Degenerate (linear) case: significant on a half-line, or everywhere / nowhere.
        if b == 0.0:
            lower = upper = nan
            kind = "everywhere" if c > 0 else "nowhere"
        else:
            root = -c / (2.0 * b)
            lower, upper = (-np.inf, root) if b > 0 else (root, np.inf)
            kind = "outside"
    elif disc < 0:
        lower = upper = nan
        kind = "everywhere" if a > 0 else "nowhere"
    else:
        root = float(np.sqrt(disc))
        r1, r2 = (-b - root) / a, (-b + root) / a
        lower, upper = min(r1, r2), max(r1, r2)
        kind = "outside" if a > 0 else "inside"
    return JohnsonNeymanResult(
        lower=float(lower),
        upper=float(upper),
        kind=kind,
        alpha=1.0 - level,
        critical_value=crit,
        df=float(df),
        moderator_min=float(moderator_min),
        moderator_max=float(moderator_max),
    )


def fit_moderation(
    data: pd.DataFrame,
    *,
    outcome: str,
    predictor: str,
    moderator: str,
    covariates: Sequence[str] = (),
    cov_type: CovType = "classic",
    level: float = 0.95,
    at: Sequence[float] = (),
    absorb: str | None = None,
    cluster: str | None = None,
) -> ModerationResult:
    """Fit ``outcome ~ predictor * moderator + covariates`` and probe the interaction.

    Parameters
    ----------
    data:
        One row per unit (client, or client-session), with the named columns.
    outcome, predictor, moderator:
        Column names. The predictor's slope is probed over the moderator.
    covariates:
        Adjustment columns entered as main effects.
    cov_type:
        ``classic`` (default, as R's ``lm`` and the published worked examples) or a
        heteroskedasticity-consistent ``HC0`` ... ``HC3`` (``sandwich::vcovHC``), or
        ``CR1``, cluster-robust by ``cluster`` (``sandwich::vcovCL(type = "HC1")``).
    level:
        Confidence level of every interval and of the Johnson-Neyman bounds.
    at:
        Extra moderator values at which to report the simple slope.
    absorb:
        Column whose levels get fixed effects, swept out by the within transformation
        (for session-level data: ``client_id``, so only within-client variation is used).
    cluster:
        Column of clusters for cluster-robust standard errors (needs ``cov_type="CR1"``).

    Returns
    -------
    ModerationResult
        Coefficients, simple slopes at the moderator's mean and +-1 SD, the
        Johnson-Neyman interval.

    Raises
    ------
    InputError
        A column is missing or not numeric, too few complete rows, or the design is
        not identifiable (for example a constant moderator).

    Notes
    -----
    The model is :math:`y = b_0 + b_1 x + b_2 m + b_3 x m + \\gamma^\\top z + \\varepsilon`
    (Aiken & West, 1991). The simple slope of :math:`x` at :math:`m_0` is
    :math:`b_1 + b_3 m_0` with variance :math:`V_{11} + 2 m_0 V_{13} + m_0^2 V_{33}`; intervals
    use Student's t with :math:`n - p` df. The Johnson-Neyman interval is given in closed
    form (see :func:`johnson_neyman`). Rows with a missing value in any model column are
    dropped (complete-case analysis), as ``lm`` does.

    Validation
    ----------
    R 4.2.2, ``lm(mpg ~ hp * wt, mtcars)``, ``vcov`` and ``sandwich::vcovHC(type = "HC3")``
    (sandwich 3.0.2), simple slopes and Johnson-Neyman bounds in closed form; script
    ``tests/reference/r/make_report_references.R``, reference file
    ``tests/reference/data/report/moderation_mtcars.json``, tolerance 1e-9 (closed form).

    References
    ----------
    Johnson, P. O., & Neyman, J. (1936). Tests of certain linear hypotheses and their
    application to some educational problems. *Statistical Research Memoirs*, 1, 57-93.
    Bauer, D. J., & Curran, P. J. (2005). Probing interactions in fixed and multilevel
    regression. *Multivariate Behavioral Research*, 40(3), 373-400.
    https://doi.org/10.1207/s15327906mbr4003_5
    Tschuschke, V., et al. (2015). The role of therapists' treatment adherence, professional
    experience, therapeutic alliance, and clients' severity of psychological problems.
    *Psychotherapy Research*, 25(4), 420-434. https://doi.org/10.1080/10503307.2014.896055

    Examples
    --------
    >>> import pandas as pd
    >>> rows = {"hp": [110, 93, 175, 105, 245, 62, 95, 123, 180, 205],
    ...         "wt": [2.62, 2.32, 3.44, 3.46, 3.57, 3.19, 3.15, 3.44, 4.07, 5.25],
    ...         "mpg": [21.0, 22.8, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 16.4, 10.4]}
    >>> res = fit_moderation(pd.DataFrame(rows), outcome="mpg", predictor="hp", moderator="wt")
    >>> [t.term for t in res.coefficients]  # R: names(coef(lm(mpg ~ hp * wt, d)))
    ['(Intercept)', 'hp', 'wt', 'hp:wt']
    """
    if not 0.0 < level < 1.0:
        raise InputError(f"level must be between 0 and 1, got {level}")
    cols = [outcome, predictor, moderator, *covariates]
    if len(set(cols)) != len(cols):
        raise InputError(f"model columns must be distinct, got {cols}")
    for col in cols:
        if col not in data.columns:
            raise InputError("column not found", column=col)
        if not pd.api.types.is_numeric_dtype(data[col]):
            raise InputError("column is not numeric", column=col)
    for key_col in (absorb, cluster):
        if key_col is not None and key_col not in data.columns:
            raise InputError("column not found", column=key_col)
    if (cov_type == "CR1") != (cluster is not None):
        raise InputError("cov_type 'CR1' and a cluster column go together")
    keys: list[str] = []
    for key in (absorb, cluster):
        if key is not None and key not in keys:
            keys.append(key)
    complete = data[cols].notna().all(axis=1) & data[keys].notna().all(axis=1)
    frame = data.loc[complete, cols].astype(np.float64)
    m = frame[moderator].to_numpy()
    x_mean = float(frame[predictor].mean())
    inter_name = f"{predictor}:{moderator}"
    frame[inter_name] = frame[predictor].to_numpy() * m
    model_cols = [predictor, moderator, *covariates, inter_name]
    absorbed = 0
    if absorb is not None:
        group = data.loc[complete, absorb].astype(str).to_numpy()
        both = [outcome, *model_cols]
        frame[both] = frame[both] - frame[both].groupby(group).transform("mean")
        absorbed = int(len(np.unique(group)))
        names = list(model_cols)
        design = frame[model_cols].to_numpy()
    else:
        names = ["(Intercept)", *model_cols]
        design = np.column_stack([np.ones(len(frame)), frame[model_cols].to_numpy()])
    clusters = data.loc[complete, cluster].to_numpy() if cluster is not None else None
    fit = fit_ols(
        design,
        frame[outcome].to_numpy(),
        names,
        cov_type=cov_type,
        clusters=clusters,
        absorbed=absorbed,
    )
    terms = fit_terms(fit, level)
    i1, i3 = names.index(predictor), len(names) - 1
    var_b1 = float(fit.cov[i1, i1])
    var_b3 = float(fit.cov[i3, i3])
    cov_13 = float(fit.cov[i1, i3])
    i2 = names.index(moderator)
    mean = float(m.mean())
    sd = float(m.std(ddof=1))
    jn = johnson_neyman(
        float(fit.coef[i1]),
        float(fit.coef[i3]),
        var_b1,
        var_b3,
        cov_13,
        df=fit.df_resid,
        level=level,
        moderator_min=float(m.min()),
        moderator_max=float(m.max()),
    )
    partial = ModerationResult(
        outcome=outcome,
        predictor=predictor,
        moderator=moderator,
        covariates=tuple(covariates),
        coefficients=terms,
        interaction=terms[i3],
        simple_slopes=(),
        johnson_neyman=jn,
        slope_var=var_b1,
        interaction_var=var_b3,
        slope_interaction_cov=cov_13,
        moderator_var=float(fit.cov[i2, i2]),
        moderator_interaction_cov=float(fit.cov[i2, i3]),
        moderator_mean=mean,
        moderator_sd=sd,
        predictor_mean=x_mean,
        n=fit.n,
        df_resid=fit.df_resid,
        r_squared=fit.r_squared,
        cov_type=cov_type,
        absorb=absorb,
        cluster=cluster,
        level=level,
    )
    points = [("mean - 1 SD", mean - sd), ("mean", mean), ("mean + 1 SD", mean + sd)]
    points += [("at", float(v)) for v in at]
    slopes = tuple(SimpleSlope(lbl, v, partial.slope_at(v)) for lbl, v in points)
    return replace(partial, simple_slopes=slopes)
