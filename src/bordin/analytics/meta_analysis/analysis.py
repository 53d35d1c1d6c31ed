"""The whole meta-analysis in one call, with metafor-named JSON output.

:func:`analyse_correlations` (correlations) and :func:`analyse_effect_sizes` (any computed
effect sizes, e.g. two-group SMD or log odds ratios) run what a researcher reports: the
pooled model, heterogeneity with Q-profile intervals, the prediction interval, Egger's test,
trim and fill, leave-one-out and (optionally) a meta-regression on moderators.
``to_json_dict()`` names every number as the reference JSON made with metafor does
(``estimate, se, stat, pval, ci_lb, ...``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bordin.analytics.meta_analysis._fit import FitControl, Method, Test
from bordin.analytics.meta_analysis.bias import (
    EggerResult,
    TrimFillResult,
    egger_test,
    trim_and_fill,
)
from bordin.analytics.meta_analysis.confint import Tau2ConfintResult, tau2_confint
from bordin.analytics.meta_analysis.effect_sizes import (
    EffectSizes,
    Measure,
    compute_effect_sizes,
)
from bordin.analytics.meta_analysis.escalc import GroupEffectSizes
from bordin.analytics.meta_analysis.influence import LeaveOneOutResult, leave_one_out
from bordin.analytics.meta_analysis.model import MetaResult, random_effects_meta
from bordin.analytics.meta_analysis.regression import (
    MetaRegressionResult,
    fit_meta_regression,
)
from bordin.errors import InputError

__all__ = ["CorrelationMetaAnalysis", "analyse_correlations", "analyse_effect_sizes"]

#: Measures on the log scale: results are also given exponentiated (``transf = exp``).
_LOG_MEASURES = ("ROM", "RR", "OR")


@dataclass(frozen=True, eq=False)
class CorrelationMetaAnalysis:
    """Everything :func:`analyse_correlations` computed.

    Attributes
    ----------
    effect_sizes
        The studies (after dropping rows with missing values): correlations
        (:class:`EffectSizes`) or two-group effect sizes (:class:`GroupEffectSizes`).
    model
        The pooled fixed- or random-effects model.
    confint
        Q-profile intervals for tau^2 and I^2 (None for a fixed-effect model).
    egger
        Egger's regression test (None with fewer than 3 studies or equal SEs).
    trimfill
        Trim and fill (None with fewer than 3 studies).
    leave_one_out
        Leave-one-out refits (None with fewer than 3 studies).
    regression
        Meta-regression on the moderators, when any were given.
    notes
        Plain-language notes about the run (rows dropped, diagnostics skipped).
    """

    effect_sizes: EffectSizes | GroupEffectSizes
    model: MetaResult
    confint: Tau2ConfintResult | None
    egger: EggerResult | None
    trimfill: TrimFillResult | None
    leave_one_out: LeaveOneOutResult | None
    regression: MetaRegressionResult | None
    notes: tuple[str, ...] = field(default=())

    @property
    def is_fisher_z(self) -> bool:
        """True when the effect sizes are Fisher z (results back-transform to r)."""
        return self.effect_sizes.measure == "ZCOR"

    def to_r(self, value: float | None) -> float | None:
        """A value on the effect-size scale as a correlation (tanh for ZCOR)."""
        if value is None:
            return None
        return math.tanh(value) if self.is_fisher_z else value

    @property
    def is_log_scale(self) -> bool:
        """True for ROM, RR and OR (results are also given exponentiated)."""
        return self.effect_sizes.measure in _LOG_MEASURES

    def model_json(self) -> dict[str, Any]:
        """The pooled model with metafor's key names (``estimate, se, stat, ...``)."""
        m = self.model
        out: dict[str, Any] = {
            "estimate": m.estimate,
            "se": m.se,
            "stat": m.statistic,
            "pval": m.p_value,
            "ci_lb": m.ci_low,
            "ci_ub": m.ci_high,
            "tau2": m.tau2,
            "se_tau2": m.se_tau2,
            "I2": m.i2,
            "H2": m.h2,
            "Q": m.q,
            "Q_pval": m.q_p_value,
            "k": m.k,
            "pi_lb": m.pi_low,
            "pi_ub": m.pi_high,
        }
        if self.is_fisher_z:
            out.update(
                r_estimate=self.to_r(m.estimate),
                r_ci_lb=self.to_r(m.ci_low),
                r_ci_ub=self.to_r(m.ci_high),
                r_pi_lb=self.to_r(m.pi_low),
                r_pi_ub=self.to_r(m.pi_high),
            )
        if self.is_log_scale:
            # predict(res, transf = exp): the ratio scale.
            out.update(
                exp_estimate=math.exp(m.estimate),
                exp_ci_lb=math.exp(m.ci_low),
                exp_ci_ub=math.exp(m.ci_high),
                exp_pi_lb=None if m.pi_low is None else math.exp(m.pi_low),
                exp_pi_ub=None if m.pi_high is None else math.exp(m.pi_high),
            )
        if self.confint is not None:
            out.update(
                tau2_ci_lb=self.confint.tau2_ci_low,
                tau2_ci_ub=self.confint.tau2_ci_high,
                I2_ci_lb=self.confint.i2_ci_low,
                I2_ci_ub=self.confint.i2_ci_high,
            )
        if self.egger is not None:
            out.update(egger_stat=self.egger.statistic, egger_pval=self.egger.p_value)
        if self.trimfill is not None:
            out.update(
                trimfill_k0=self.trimfill.k0,
                trimfill_side=self.trimfill.side,
                trimfill_estimate=self.trimfill.estimate,
            )
        if self.leave_one_out is not None:
            out["leave1out_estimate"] = [float(x) for x in self.leave_one_out.estimate]
        return out

    def regression_json(self) -> dict[str, Any] | None:
        """The meta-regression with metafor's key names, or None without moderators.

        Studies left out for a missing moderator are counted in ``mods_n_dropped`` (the
        top-level ``n_dropped`` counts rows without an effect size).
        """
        if self.regression is None:
            return None
        out = self.regression.to_json_dict()
        out["mods_n_dropped"] = out.pop("n_dropped")
        return out

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready output of ``bordin meta --json``.

        Without moderators: the model's keys at the top level. With them: the
        meta-regression's keys (``coef, se, zval, pval, ci.lb, ci.ub, QM, QMdf, QMp, QE,
        QEp, tau2, se.tau2, I2, H2, R2, k, p``) at the top level and the pooled model under
        ``"overall"``. Both carry ``measure, method, test, level,
        n_dropped, dropped_rows, notes``.
        """
        meta = {
            "measure": self.effect_sizes.measure,
            "method": self.model.method,
            "test": self.model.test,
            "level": self.model.level,
            "n_dropped": self.effect_sizes.n_dropped,
            "dropped_rows": list(self.effect_sizes.dropped_rows),
            "notes": list(self.notes),
        }
        reg = self.regression_json()
        if reg is None:
            return {**self.model_json(), **meta}
        return {**reg, "overall": self.model_json(), **meta}

    def to_frame(self) -> pd.DataFrame:
        """Tidy table of the pooled model (and the meta-regression terms, when fitted)."""
        frames = [self.model.to_frame()]
        if self.regression is not None:
            frames.append(self.regression.to_frame())
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> str:
        """Plain-text report for the terminal."""
        m = self.model
        pct = round(m.level * 100)
        lines = [m.summary()]
        if self.is_fisher_z:
            lines.append(
                f"as a correlation: r = {self.to_r(m.estimate):.3f}, {pct}% CI "
                f"[{self.to_r(m.ci_low):.3f}, {self.to_r(m.ci_high):.3f}]"
                + (
                    f", prediction interval [{self.to_r(m.pi_low):.3f}, {self.to_r(m.pi_high):.3f}]"
                    if m.pi_low is not None
                    else ""
                )
            )
        if self.is_log_scale:
            lines.append(
                f"as a ratio (exp): {math.exp(m.estimate):.3f}, {pct}% CI "
                f"[{math.exp(m.ci_low):.3f}, {math.exp(m.ci_high):.3f}]"
            )
        if self.confint is not None:
            c = self.confint
            lines.append(
                f"{pct}% CI tau^2 [{c.tau2_ci_low:.4f}, {c.tau2_ci_high:.4f}], "
                f"I^2 [{c.i2_ci_low:.1f}%, {c.i2_ci_high:.1f}%] (Q-profile)"
            )
        if self.egger is not None:
            lines.append(
                f"Egger's test: {'z' if self.egger.df is None else 't'} = "
                f"{self.egger.statistic:.3f}, p = {self.egger.p_value:.4f}"
            )
        if self.trimfill is not None:
            tf = self.trimfill
            lines.append(
                f"trim and fill: {tf.k0} studies imputed on the {tf.side}; adjusted "
                f"estimate {tf.estimate:.4f}"
                + (f" (r = {self.to_r(tf.estimate):.3f})" if self.is_fisher_z else "")
            )
        if self.leave_one_out is not None:
            est = self.leave_one_out.estimate
            lines.append(
                f"leave-one-out: estimate ranges {float(np.min(est)):.4f} to "
                f"{float(np.max(est)):.4f}"
            )
        if self.regression is not None:
            lines.append(self.regression.summary())
        lines.extend(self.notes)
        return "\n".join(lines)


def analyse_correlations(
    r: Sequence[object] | NDArray[np.generic],
    n: Sequence[object] | NDArray[np.generic],
    *,
    measure: Measure = "ZCOR",
    method: Method = "REML",
    test: Test = "z",
    level: float = 0.95,
    moderator: Sequence[object] | None = None,
    moderator_name: str = "moderator",
    mods: Mapping[str, Sequence[object]] | None = None,
    formula: str | None = None,
    labels: Sequence[str] | None = None,
    file: str | None = None,
    r_column: str = "r",
    n_column: str = "n",
    first_row: int = 1,
    control: FitControl | None = None,
    with_leave_one_out: bool = True,
) -> CorrelationMetaAnalysis:
    """Meta-analyse correlations: effect sizes, model, heterogeneity, bias, influence.

    Parameters
    ----------
    r, n
        Correlation and sample size of each study (text cells are parsed).
    measure, method, test, level
        As for :func:`compute_effect_sizes` and :func:`random_effects_meta`.
    moderator, moderator_name
        Optional categorical moderator (one value per input row) and its name.
    mods, formula
        Optional moderators for a meta-regression instead: columns with one value per input
        row, and optionally which of them enter (``"~ year + factor(design)"``); see
        :func:`fit_meta_regression`.
    labels
        Optional study labels (one per input row).
    file, r_column, n_column, first_row
        For error messages (see :func:`compute_effect_sizes`).
    control
        Convergence settings (default tight).
    with_leave_one_out
        Refit without each study (k refits; turn off for very large k).

    Returns
    -------
    CorrelationMetaAnalysis

    Raises
    ------
    InputError
        Bad cells (naming the row), or fewer than 2 complete studies.

    Notes
    -----
    Runs :func:`compute_effect_sizes`, then :func:`analyse_effect_sizes`.

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: every key of ``tests/reference/data/meta/*.json`` (see the
    functions above for calls and tolerances).

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03

    Examples
    --------
    >>> res = analyse_correlations([0.2, 0.35, 0.1, 0.3], [120, 80, 200, 60])
    >>> round(res.to_json_dict()["r_estimate"], 2)  # transf.ztor(coef(rma(yi, vi)))
    0.21
    """
    es = compute_effect_sizes(
        r,
        n,
        measure=measure,
        labels=labels,
        file=file,
        r_column=r_column,
        n_column=n_column,
        first_row=first_row,
    )
    if moderator is not None:
        if mods is not None:
            raise InputError("give either moderator or mods, not both")
        if len(moderator) != len(r):
            raise InputError(f"{len(moderator)} moderator values for {len(r)} rows", file=file)
        mods = {moderator_name: moderator}
    return analyse_effect_sizes(
        es,
        method=method,
        test=test,
        level=level,
        mods=mods,
        formula=formula,
        categorical=(moderator_name,) if moderator is not None else (),
        file=file,
        first_row=first_row,
        control=control,
        with_leave_one_out=with_leave_one_out,
    )


def analyse_effect_sizes(
    es: EffectSizes | GroupEffectSizes,
    *,
    method: Method = "REML",
    test: Test = "z",
    level: float = 0.95,
    mods: Mapping[str, Sequence[object]] | None = None,
    formula: str | None = None,
    categorical: Sequence[str] = (),
    file: str | None = None,
    first_row: int = 1,
    control: FitControl | None = None,
    with_leave_one_out: bool = True,
) -> CorrelationMetaAnalysis:
    """The whole meta-analysis of computed effect sizes (any measure).

    Parameters
    ----------
    es
        Effect sizes from :func:`compute_effect_sizes` or
        :func:`compute_group_effect_sizes`.
    method, test, level
        As for :func:`random_effects_meta`.
    mods, formula, categorical
        Optional moderators (one value per input row, including rows dropped from ``es``),
        the formula choosing among them and columns to treat as categorical; see
        :func:`fit_meta_regression`.
    file, first_row
        For error messages: the file, and the row number of the first input row.
    control, with_leave_one_out
        As for :func:`analyse_correlations`.

    Returns
    -------
    CorrelationMetaAnalysis

    Raises
    ------
    InputError
        Fewer than 2 complete studies; bad moderators.

    Notes
    -----
    Runs :func:`random_effects_meta`, :func:`tau2_confint` (random effects only),
    :func:`egger_test`, :func:`trim_and_fill` and :func:`leave_one_out` (k >= 3) and
    :func:`fit_meta_regression`; see each for formulas.

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: see the functions above for calls, reference files and
    tolerances.

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03

    Examples
    --------
    >>> from bordin.analytics.meta_analysis import compute_group_effect_sizes
    >>> es = compute_group_effect_sizes({"ai": [4, 6, 3], "bi": [119, 300, 228],
    ...     "ci": [11, 29, 11], "di": [128, 274, 209]}, measure="RR")
    >>> res = analyse_effect_sizes(es)  # rma(yi, vi, data = escalc("RR", ai, bi, ci, di))
    >>> round(res.to_json_dict()["exp_estimate"], 4)  # predict(res, transf = exp)$pred
    0.2644
    """
    notes: list[str] = []
    if es.n_dropped:
        rows = ", ".join(str(x) for x in es.dropped_rows[:10])
        more = "" if es.n_dropped <= 10 else ", ..."
        notes.append(f"{es.n_dropped} row(s) with a missing value were dropped (rows {rows}{more})")
    if isinstance(es, GroupEffectSizes) and es.n_corrected:
        notes.append(
            f"{es.n_corrected} stud(ies) with a zero cell: 1/2 added to each of their cells "
            '(metafor\'s add = 1/2, to = "only0")'
        )
    if es.k < 2:
        raise InputError(
            f"a meta-analysis needs at least 2 complete studies; {es.k} left after dropping "
            f"{es.n_dropped} row(s) with missing values",
            file=file,
        )
    model = random_effects_meta(
        es.yi, es.vi, method=method, test=test, level=level, control=control
    )
    confint = None if method == "FE" else tau2_confint(model, control=control)
    egger: EggerResult | None = None
    trimfill: TrimFillResult | None = None
    loo: LeaveOneOutResult | None = None
    if es.k >= 3:
        if np.ptp(es.vi) > 0:
            egger = egger_test(model, control=control)
            trimfill = trim_and_fill(model)
        else:
            notes.append(
                "Egger's test and trim and fill skipped: every study has the same standard "
                "error, so a funnel plot has no asymmetry to assess"
            )
        if with_leave_one_out:
            loo = leave_one_out(model, labels=es.labels, control=control)
    else:
        notes.append("Egger's test, trim and fill and leave-one-out need at least 3 studies")
    regression: MetaRegressionResult | None = None
    if mods is not None:
        n_rows = es.k + es.n_dropped
        for name, values in mods.items():
            if len(values) != n_rows:
                raise InputError(f"{len(values)} values of {name} for {n_rows} rows", file=file)
        kept = {name: [values[row - first_row] for row in es.rows] for name, values in mods.items()}
        regression = fit_meta_regression(
            es.yi,
            es.vi,
            kept,
            formula=formula,
            categorical=categorical,
            method=method,
            test=test,
            level=level,
            control=control,
        )
        if regression.n_dropped:
            notes.append(
                f"meta-regression: {regression.n_dropped} stud(ies) without a value of "
                f"{regression.moderator} left out"
            )
    return CorrelationMetaAnalysis(
        effect_sizes=es,
        model=model,
        confint=confint,
        egger=egger,
        trimfill=trimfill,
        leave_one_out=loo,
        regression=regression,
        notes=tuple(notes),
    )
