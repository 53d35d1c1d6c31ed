"""Early alliance: does the alliance of the first sessions predict outcome change?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bordin.analytics._clients import client_table, higher_is_worse
from bordin.analytics._lmm_ri import fit_random_intercept
from bordin.analytics._ols import CovType, TermEstimate, fit_ols, fit_terms, make_term
from bordin.errors import InputError

__all__ = ["EarlyAllianceResult", "fit_early_alliance", "fit_early_alliance_clients"]


@dataclass(frozen=True)
class EarlyAllianceResult:
    """Early alliance predicting outcome change, controlling intake severity.

    Attributes
    ----------
    alliance, outcome:
        Score columns used (for example ``sac_total`` and ``phq9_total``).
    early_sessions:
        The early alliance is the client's mean alliance over sessions 1 to this number.
    ols:
        ``change ~ early_alliance + intake`` by OLS: ``(Intercept)``, ``early_alliance``,
        ``intake``, with ``cov_type`` robust standard errors and t intervals.
    cov_type:
        Covariance type of the OLS standard errors (``HC3`` by default).
    r_squared:
        OLS coefficient of determination.
    mixed:
        The same fixed effects from the mixed model with a random intercept for therapist
        (REML; t tests and intervals on Satterthwaite's degrees of freedom, as lmerTest), or
        empty when it could not be fitted (see ``mixed_note``).
    therapist_variance, residual_variance:
        REML variance of the therapist intercepts and residual variance (``nan`` without
        the mixed model).
    icc:
        Share of the residual outcome-change variance lying between therapists,
        ``therapist_variance / (therapist_variance + residual_variance)``.
    mixed_note:
        Empty, or why the mixed model is missing.
    partial_r:
        Partial correlation of early alliance with improvement (change with its sign
        flipped for an outcome where higher is worse), controlling intake, with its Fisher-z
        interval (``partial_r_ci_low``, ``partial_r_ci_high``). Positive: a stronger early
        alliance goes with more improvement, the sign convention of Flückiger et al. (2018).
    n:
        Clients analysed (an early alliance score and at least two outcome scores).
    n_excluded:
        Clients left out for lack of those.
    n_therapists:
        Therapists among the analysed clients.
    level:
        Confidence level of every interval.
    """

    alliance: str
    outcome: str
    early_sessions: int
    ols: tuple[TermEstimate, ...]
    cov_type: CovType
    r_squared: float
    mixed: tuple[TermEstimate, ...]
    therapist_variance: float
    residual_variance: float
    icc: float
    mixed_note: str
    partial_r: float
    partial_r_ci_low: float
    partial_r_ci_high: float
    n: int
    n_excluded: int
    n_therapists: int
    level: float

    @property
    def effect(self) -> TermEstimate:
        """The OLS coefficient of early alliance (outcome points per alliance point)."""
        return _term(self.ols, "early_alliance")

    @property
    def mixed_effect(self) -> TermEstimate | None:
        """The mixed-model coefficient of early alliance, if the mixed model was fitted."""
        return _term(self.mixed, "early_alliance") if self.mixed else None

    @property
    def ols_method(self) -> str:
        """Method label of the OLS rows."""
        return f"OLS, {self.cov_type} robust SE, t({self.n - 3})"

    @property
    def mixed_method(self) -> str:
        """Method label of the mixed-model rows."""
        return "LMM, random intercept for therapist, REML, Satterthwaite t"

    def to_frame(self) -> pd.DataFrame:
        """OLS and mixed-model coefficients, variance components and the partial correlation."""
        rows: list[dict[str, object]] = []
        for t in self.ols:
            rows.append(t.to_row(n=self.n, level=self.level, group="ols", method=self.ols_method))
        for t in self.mixed:
            rows.append(
                t.to_row(n=self.n, level=self.level, group="mixed", method=self.mixed_method)
            )
        if self.mixed:
            for name, value in (
                ("therapist_variance", self.therapist_variance),
                ("residual_variance", self.residual_variance),
                ("icc", self.icc),
            ):
                rows.append(
                    {
                        "term": name,
                        "estimate": value,
                        "n": self.n,
                        "k": self.n_therapists,
                        "level": self.level,
                        "group": "mixed",
                        "method": self.mixed_method,
                    }
                )
        rows.append(
            {
                "term": "partial_r",
                "estimate": self.partial_r,
                "ci_low": self.partial_r_ci_low,
                "ci_high": self.partial_r_ci_high,
                "df": float(self.n - 4),
                "n": self.n,
                "level": self.level,
                "group": "ols",
                "method": "partial correlation controlling intake, Fisher z interval",
            }
        )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A plain-text summary for the terminal."""
        lines = [
            f"Early alliance (mean {self.alliance}, sessions 1-{self.early_sessions}) -> "
            f"change in {self.outcome}, controlling intake",
            f"n = {self.n} clients ({self.n_excluded} excluded), {self.n_therapists} therapists",
            f"{self.ols_method}; R^2 = {self.r_squared:.3f}",
        ]
        lines += [_line(t, self.level) for t in self.ols]
        if self.mixed:
            lines.append(f"{self.mixed_method}; ICC = {self.icc:.3f}")
            lines += [_line(t, self.level) for t in self.mixed]
        else:
            lines.append(f"mixed model not fitted: {self.mixed_note}")
        lines.append(
            f"partial r = {self.partial_r:.3f} "
            f"[{self.partial_r_ci_low:.3f}, {self.partial_r_ci_high:.3f}]"
        )
        return "\n".join(lines)


def _term(terms: tuple[TermEstimate, ...], name: str) -> TermEstimate:
    for t in terms:
        if t.term == name:
            return t
    raise KeyError(name)


def _line(t: TermEstimate, level: float) -> str:
    return (
        f"  {t.term:<16} {t.estimate:>9.4g}  SE {t.se:.4g}  {level:.0%} CI "
        f"[{t.ci_low:.4g}, {t.ci_high:.4g}]  p = {t.p_value:.3g}"
    )


def fisher_interval(r: float, n_eff: float, level: float) -> tuple[float, float]:
    """Fisher-z interval of a correlation with ``n_eff - 3`` in the SE denominator."""
    from scipy import stats

    if n_eff <= 3 or not np.isfinite(r) or abs(r) >= 1:
        return float("nan"), float("nan")
    z = np.arctanh(r)
    half = float(stats.norm.ppf(0.5 + level / 2.0)) / np.sqrt(n_eff - 3.0)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def _satterthwaite_df(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    names: list[str],
    theta: float,
    sigma2: float,
) -> np.ndarray:
    """lmerTest's Satterthwaite df of each fixed effect of the therapist random-intercept fit."""
    from bordin.analytics.multilevel import MixedDesign, infer_fixed_effects_at

    labels, codes = np.unique(groups, return_inverse=True)
    design = MixedDesign(
        y=y,
        x=x,
        fixed_names=tuple(names),
        z=np.ones((len(y), 1)),
        z_names=("(Intercept)",),
        client=codes.astype(np.intp),
        n_clients=len(labels),
    )
    return infer_fixed_effects_at(design, np.array([theta]), float(np.sqrt(sigma2))).df


def fit_early_alliance_clients(
    clients: pd.DataFrame,
    *,
    early: str = "early_alliance",
    intake: str = "intake",
    change: str = "change",
    therapist: str = "therapist_id",
    cov_type: CovType = "HC3",
    level: float = 0.95,
    mixed: bool = True,
    alliance: str = "alliance",
    outcome: str = "outcome",
    early_sessions: int = 3,
) -> EarlyAllianceResult:
    """The early-alliance models on a per-client table (see :func:`fit_early_alliance`)."""
    for col in (early, intake, change, therapist):
        if col not in clients.columns:
            raise InputError("column not found in the client table", column=col)
    ok = clients[[early, intake, change]].notna().all(axis=1).to_numpy()
    data = clients.loc[ok]
    n = len(data)
    if n < 10:
        raise InputError(
            f"only {n} clients have an early alliance score and two outcome scores; "
            "the early-alliance model needs at least 10"
        )
    x = np.column_stack(
        [np.ones(n), data[early].to_numpy(np.float64), data[intake].to_numpy(np.float64)]
    )
    y = data[change].to_numpy(np.float64)
    names = ["(Intercept)", "early_alliance", "intake"]
    fit = fit_ols(x, y, names, cov_type=cov_type)
    ols = fit_terms(fit, level)
    classic = fit_ols(x, y, names, cov_type="classic")
    t_classic = classic.coef[1] / np.sqrt(classic.cov[1, 1])
    sign = -1.0 if higher_is_worse(outcome) else 1.0
    partial_r = sign * float(t_classic / np.sqrt(t_classic**2 + classic.df_resid))
    low, high = fisher_interval(partial_r, n - 1, level)
    groups = data[therapist].astype(str).to_numpy()
    n_ther = len(np.unique(groups))
    mixed_terms: tuple[TermEstimate, ...] = ()
    tau2 = sigma2 = icc = float("nan")
    note = ""
    if not mixed:
        note = "not requested"
    elif n_ther < 5:
        note = f"only {n_ther} therapists; a therapist random intercept needs at least 5"
    else:
        lmm = fit_random_intercept(x, y, groups, names, reml=True)
        se = np.sqrt(np.diag(lmm.cov))
        df = _satterthwaite_df(x, y, groups, names, lmm.theta, lmm.sigma2)
        mixed_terms = tuple(
            make_term(name, float(lmm.coef[i]), float(se[i]), float(df[i]), level)
            for i, name in enumerate(names)
        )
        tau2, sigma2 = lmm.tau2, lmm.sigma2
        icc = tau2 / (tau2 + sigma2)
    return EarlyAllianceResult(
        alliance=alliance,
        outcome=outcome,
        early_sessions=early_sessions,
        ols=ols,
        cov_type=cov_type,
        r_squared=fit.r_squared,
        mixed=mixed_terms,
        therapist_variance=float(tau2),
        residual_variance=float(sigma2),
        icc=float(icc),
        mixed_note=note,
        partial_r=partial_r,
        partial_r_ci_low=low,
        partial_r_ci_high=high,
        n=n,
        n_excluded=int(len(clients) - n),
        n_therapists=int(n_ther),
        level=level,
    )


def fit_early_alliance(
    scores: pd.DataFrame,
    *,
    alliance: str,
    outcome: str,
    early_sessions: int = 3,
    cov_type: CovType = "HC3",
    level: float = 0.95,
    mixed: bool = True,
) -> EarlyAllianceResult:
    """Mean alliance over the first sessions predicting outcome change, controlling intake.

    Parameters
    ----------
    scores:
        Wide session scores: ``client_id, therapist_id, session`` and the score columns.
    alliance, outcome:
        Score columns (for example ``sac_total``, ``phq9_total``).
    early_sessions:
        Sessions 1 to this number make the early alliance (default 3).
    cov_type:
        Covariance of the OLS coefficients (default ``HC3``; ``classic``, ``HC0`` to ``HC2``).
    level:
        Confidence level.
    mixed:
        Also fit the mixed model with a random intercept for therapist.

    Returns
    -------
    EarlyAllianceResult

    Raises
    ------
    InputError
        Missing or non-numeric columns, duplicated sessions, or fewer than 10 usable clients.

    Notes
    -----
    Per client :math:`i`: :math:`\\bar a_i` is the mean alliance over sessions
    :math:`1..E`, :math:`y_{i0}` the outcome at the first and :math:`y_{iT}` at the last
    scored session. The OLS model is :math:`y_{iT} - y_{i0} = \\beta_0 + \\beta_1 \\bar a_i +
    \\beta_2 y_{i0} + \\varepsilon_i` (the ANCOVA form of change; Barber et al., 2000, used
    early alliance in this way), with HC3 standard errors (Long & Ervin, 2000). The mixed
    version adds a random intercept :math:`u_{j(i)} \\sim N(0, \\tau^2)` for the therapist
    (Baldwin, Wampold & Imel, 2007), fitted by REML. Clients who dropped out after the early
    sessions still count: their last scored session is their last session. The partial
    correlation is :math:`\\pm t/\\sqrt{t^2 + n - 3}` from the classical t of
    :math:`\\beta_1`, signed so that a positive value means more improvement.

    Validation
    ----------
    R 4.2.2: ``lm(change ~ early_alliance + intake)`` with ``sandwich::vcovHC(type =
    "HC3")`` (sandwich 3.0.2) at 1e-9, and ``lme4::lmer(change ~ early_alliance + intake +
    (1 | therapist_id))`` (lme4 1.1.31, REML and ML) at the LMM tolerances (fixed effects
    1e-5, variance components 1e-4); script ``tests/reference/r/make_report_references.R``,
    reference file ``tests/reference/data/report/early_alliance_lmm.json``. The mixed rows'
    Satterthwaite df and p-values: lmerTest 3.1.3, case ``early_alliance_reml`` of
    ``tests/reference/data/lmertest/lmertest_cases.json``.

    References
    ----------
    Barber, J. P., Connolly, M. B., Crits-Christoph, P., Gladis, L., & Siqueland, L. (2000).
    Alliance predicts patients' outcome beyond in-treatment change in symptoms. *Journal of
    Consulting and Clinical Psychology*, 68(6), 1027-1032.
    https://doi.org/10.1037/0022-006X.68.6.1027
    Baldwin, S. A., Wampold, B. E., & Imel, Z. E. (2007). Untangling the alliance-outcome
    correlation. *Journal of Consulting and Clinical Psychology*, 75(6), 842-852.
    https://doi.org/10.1037/0022-006X.75.6.842
    Long, J. S., & Ervin, L. H. (2000). Using heteroscedasticity consistent standard errors
    in the linear regression model. *The American Statistician*, 54(3), 217-224.
    https://doi.org/10.1080/00031305.2000.10474549

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> rows = [(f"c{i}", f"t{i % 6}", s, 3 + rng.normal(), 15 - s + rng.normal())
    ...         for i in range(60) for s in range(1, 6)]
    >>> scores = pd.DataFrame(rows, columns=["client_id", "therapist_id", "session",
    ...                                      "sac_total", "phq9_total"])
    >>> res = fit_early_alliance(scores, alliance="sac_total", outcome="phq9_total")
    >>> res.n, [t.term for t in res.ols]  # R: lm(change ~ early_alliance + intake)
    (60, ['(Intercept)', 'early_alliance', 'intake'])
    """
    clients = client_table(
        scores, alliance=alliance, outcome=outcome, early_sessions=early_sessions
    )
    return fit_early_alliance_clients(
        clients,
        cov_type=cov_type,
        level=level,
        mixed=mixed,
        alliance=alliance,
        outcome=outcome,
        early_sessions=early_sessions,
    )
