"""Does alliance precede symptom change? The lagged within/between mixed model.

For client i and session t (Zilcha-Mano & Errazuriz, 2015; Falkenstrom et al., 2017):

``outcome[t+1] ~ 1 + outcome[t] + (alliance[t] - mean_i) + mean_i
+ (1 + (alliance[t] - mean_i) | client)``

fitted by REML (or ML) with the engine in :mod:`bordin.analytics.multilevel.fitting`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._deviance import compute_stats
from .fitting import fit_lmm
from .prepare import prepare_lagged_design
from .ranef import RandomEffectsResult, predict_random_effects
from .satterthwaite import SatterthwaiteResult, _format_p, infer_fixed_effects_at

__all__ = ["LaggedModelResult", "fit_lagged_model"]


def _clean(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class LaggedModelResult:
    """The fitted lagged within/between model.

    Attributes
    ----------
    alliance:
        Name of the alliance column.
    outcome:
        Name of the outcome column.
    terms:
        Fixed-effect names in order: ``(Intercept)``, ``outcome`` (outcome at session t),
        ``alliance_within`` (alliance at t minus the client's mean), ``alliance_between`` (the
        client's mean alliance), ``<col>_within`` and ``<col>_between`` for each further
        predictor, then ``session`` (with a session trend) and covariates.
    fixed:
        Fixed-effect estimates keyed by term (lme4 ``fixef``).
    se:
        Their standard errors keyed by term (``sqrt(diag(vcov))``).
    vcov:
        Covariance matrix of the fixed effects, in the order of ``terms``.
    n_obs:
        Lag pairs used (rows of the model).
    n_clients:
        Clients with at least one usable lag pair.
    n_therapists:
        Therapists in the model (0 without a therapist random intercept).
    n_rows:
        Rows of the input.
    reml:
        True for REML, False for maximum likelihood.
    random_slope:
        Whether the within-client alliance slope varies randomly across clients.
    sd_intercept:
        SD of the client random intercept.
    sd_slope:
        SD of the client random slope of ``alliance_within`` (NaN without a random slope).
    corr:
        Correlation of the client random intercept and slope (NaN without a random slope or
        when ``sd_intercept`` is 0, as lme4 reports).
    sd_therapist:
        SD of the therapist random intercept (NaN without that term).
    sd_residual:
        Residual SD.
    loglik:
        Log-likelihood (the REML criterion divided by -2 for REML fits, as lme4 ``logLik``).
    deviance:
        ``-2 * loglik``.
    theta:
        lme4's relative covariance parameters at the optimum.
    converged:
        The optimiser converged and passed the gradient check.
    singular:
        Boundary fit: a variance estimated as 0 or a correlation as +-1.
    inference:
        Satterthwaite t tests of the fixed effects (lmerTest ``summary``): ``df``,
        ``statistic`` (t) and ``p_value`` per term, and contrasts.
    random_effects:
        Conditional modes of the client (and therapist) random effects with their
        conditional variances (lme4 ``ranef(fit, condVar = TRUE)``).
    level:
        Confidence level of the intervals in ``to_frame`` and ``summary``.
    """

    alliance: str
    outcome: str
    terms: tuple[str, ...]
    fixed: Mapping[str, float]
    se: Mapping[str, float]
    vcov: np.ndarray
    n_obs: int
    n_clients: int
    n_therapists: int
    n_rows: int
    reml: bool
    random_slope: bool
    sd_intercept: float
    sd_slope: float
    corr: float
    sd_therapist: float
    sd_residual: float
    loglik: float
    deviance: float
    theta: tuple[float, ...]
    converged: bool
    singular: bool
    inference: SatterthwaiteResult
    random_effects: RandomEffectsResult
    level: float = 0.95

    @property
    def df(self) -> dict[str, float]:
        """Satterthwaite degrees of freedom keyed by term (lmerTest ``df``)."""
        return {t: float(v) for t, v in zip(self.terms, self.inference.df, strict=True)}

    @property
    def statistic(self) -> dict[str, float]:
        """t statistics keyed by term (lmerTest ``t value``)."""
        return {t: float(v) for t, v in zip(self.terms, self.inference.statistic, strict=True)}

    @property
    def p_value(self) -> dict[str, float]:
        """Two-sided Satterthwaite p-values keyed by term (lmerTest ``Pr(>|t|)``)."""
        return {t: float(v) for t, v in zip(self.terms, self.inference.p_value, strict=True)}

    def confint(self, term: str) -> tuple[float, float]:
        """t interval of a fixed effect at ``level`` on its Satterthwaite df."""
        return self.inference.confint(term)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per fixed effect (``group`` "fixed") and variance component.

        Fixed effects carry the t ``statistic`` (estimate / se), Satterthwaite ``df``, the
        two-sided ``p_value`` and the t interval at ``level`` (lmerTest); variance
        components (``group`` "client", "therapist", "residual") carry the estimate only.
        """
        rows: list[dict[str, Any]] = []
        method = "REML" if self.reml else "ML"
        for term in self.terms:
            est, se = self.fixed[term], self.se[term]
            low, high = self.confint(term)
            rows.append(
                {
                    "term": term,
                    "group": "fixed",
                    "estimate": est,
                    "se": se,
                    "ci_low": low,
                    "ci_high": high,
                    "statistic": self.statistic[term],
                    "df": self.df[term],
                    "p_value": self.p_value[term],
                    "level": self.level,
                    "n": self.n_obs,
                    "k": self.n_clients,
                    "method": method,
                }
            )
        comps = [("client", "sd_(Intercept)", self.sd_intercept)]
        if self.random_slope:
            comps.append(("client", "sd_alliance_within", self.sd_slope))
            comps.append(("client", "cor_(Intercept).alliance_within", self.corr))
        if self.n_therapists:
            comps.append(("therapist", "sd_(Intercept)", self.sd_therapist))
        comps.append(("residual", "sd_residual", self.sd_residual))
        for group, term, value in comps:
            rows.append(
                {
                    "term": term,
                    "group": group,
                    "estimate": value,
                    "se": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "statistic": np.nan,
                    "df": np.nan,
                    "p_value": np.nan,
                    "level": np.nan,
                    "n": self.n_obs,
                    "k": self.n_therapists if group == "therapist" else self.n_clients,
                    "method": method,
                }
            )
        return pd.DataFrame(rows)

    def to_json_dict(self, *, ranef: bool = False) -> dict[str, Any]:
        """The issue's JSON keys (lme4's names); NaN (an undefined correlation) becomes null.

        Beyond lme4's keys: ``singular``, ``level``, and per term lmerTest's summary as
        ``df`` (Satterthwaite), ``statistic`` (t value), ``p_value`` (Pr(>|t|)) and the t
        interval ``ci``; ``coefficients`` is the same table as one record per term
        (``term, estimate, se, df, statistic, p_value, ci_low, ci_high``); with a therapist
        term ``n_therapists`` and ``sd_therapist``. With ``ranef``, ``ranef`` holds one
        record per level and effect (``group, id, term, estimate, se``: lme4's conditional
        mode and conditional SD).
        """
        out: dict[str, Any] = {
            "n_obs": self.n_obs,
            "n_clients": self.n_clients,
            "reml": self.reml,
            "fixed": {t: float(self.fixed[t]) for t in self.terms},
            "se": {t: float(self.se[t]) for t in self.terms},
            "sd_intercept": _clean(self.sd_intercept),
            "sd_slope": _clean(self.sd_slope),
            "corr": _clean(self.corr),
            "sd_residual": _clean(self.sd_residual),
            "loglik": float(self.loglik),
            "converged": self.converged,
            "singular": self.singular,
            "alliance": self.alliance,
            "outcome": self.outcome,
            "level": self.level,
            "ci": {t: list(self.confint(t)) for t in self.terms},
            "df": {t: _clean(v) for t, v in self.df.items()},
            "statistic": self.statistic,
            "p_value": self.p_value,
            "ddf_method": "Satterthwaite",
            "coefficients": [
                {k: (_clean(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.inference.to_frame()[
                    ["term", "estimate", "se", "df", "statistic", "p_value", "ci_low", "ci_high"]
                ].to_dict(orient="records")
            ],
        }
        if self.n_therapists:
            out["n_therapists"] = self.n_therapists
            out["sd_therapist"] = _clean(self.sd_therapist)
        if ranef:
            out["ranef"] = [
                {k: (_clean(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.random_effects.to_frame().to_dict(orient="records")
            ]
        return out

    def interpretation(self) -> str:
        """A plain-language reading of the within-client (lagged) alliance effect."""
        b = self.fixed["alliance_within"]
        low, high = self.confint("alliance_within")
        pct = f"{100 * self.level:g}%"
        direction = "lower" if b < 0 else "higher"
        text = (
            f"Within clients: at a session where a client's alliance ({self.alliance}) is one "
            f"point above their own usual level, {self.outcome} at the next session is "
            f"{abs(b):.2f} points {direction} ({pct} CI {low:.2f} to {high:.2f}), with "
            f"{self.outcome} at the current session held constant."
        )
        if low <= 0.0 <= high:
            text += " The interval includes 0: no clear within-client association."
        bb = self.fixed["alliance_between"]
        text += (
            f" Between clients: a client whose average alliance is one point higher has a "
            f"next-session {self.outcome} {abs(bb):.2f} points {'lower' if bb < 0 else 'higher'}."
            " These are associations over time, not proof that alliance causes symptom change."
        )
        return text

    def summary(self) -> str:
        """A readable table for the terminal, with the plain-language interpretation."""
        method = "REML" if self.reml else "ML"
        pct = f"{100 * self.level:g}%"
        w = max(20, *(len(t) for t in self.terms))
        lines = [
            f"Lagged within/between mixed model ({method}): next-session {self.outcome}",
            f"  {self.n_obs} lag pairs (session t, t+1) from {self.n_clients} clients"
            + (f" and {self.n_therapists} therapists" if self.n_therapists else "")
            + f" ({self.n_rows} session rows read)",
            "",
            f"  {'term':<{w}} {'Estimate':>10} {'Std. Error':>10} {'df':>8} {'t value':>8} "
            f"{'Pr(>|t|)':>9} {pct + ' CI':>22}",
        ]
        for t in self.terms:
            low, high = self.confint(t)
            lines.append(
                f"  {t:<{w}} {self.fixed[t]:>10.4f} {self.se[t]:>10.4f} {self.df[t]:>8.1f} "
                f"{self.statistic[t]:>8.2f} {_format_p(self.p_value[t]):>9} "
                f"{f'[{low:.3f}, {high:.3f}]':>22}"
            )
        lines.append("  (t tests and intervals on Satterthwaite's degrees of freedom, as lmerTest)")
        lines += ["", "  random effects (SD)"]
        lines.append(f"  {'client intercept':<20} {self.sd_intercept:>10.4f}")
        if self.random_slope:
            lines.append(f"  {'client slope':<20} {self.sd_slope:>10.4f}")
            corr = "undefined" if math.isnan(self.corr) else f"{self.corr:.3f}"
            lines.append(f"  {'corr(int, slope)':<20} {corr:>10}")
        if self.n_therapists:
            lines.append(f"  {'therapist intercept':<20} {self.sd_therapist:>10.4f}")
        lines.append(f"  {'residual':<20} {self.sd_residual:>10.4f}")
        crit = "log-likelihood (REML)" if self.reml else "log-likelihood"
        lines += ["", f"  {crit}: {self.loglik:.4f}  (converged: {self.converged})"]
        if self.singular:
            lines.append("  note: boundary (singular) fit; a variance is 0 or a correlation is +-1")
        lines += [""]
        lines += textwrap.wrap(self.interpretation(), width=88)
        return "\n".join(lines)


def fit_lagged_model(
    frame: pd.DataFrame,
    *,
    alliance: str,
    outcome: str,
    client: str = "client_id",
    session: str = "session",
    reml: bool = True,
    random_slope: bool = True,
    session_trend: bool = False,
    therapist: str | None = None,
    covariates: Sequence[str] = (),
    predictors: Sequence[str] = (),
    level: float = 0.95,
    source: str | None = None,
) -> LaggedModelResult:
    """Fit the lagged within/between alliance-outcome model, as lme4 does.

    Parameters
    ----------
    frame:
        Session scores, one row per client and session (DESIGN.md wide format).
    alliance, outcome:
        Column names of the alliance and outcome scores.
    client, session:
        Column names of the client identifier and the 1-based session number.
    reml:
        REML (default) or maximum likelihood.
    random_slope:
        Let the within-client alliance slope vary across clients (default).
    session_trend:
        Add session number (at t) as a fixed covariate (detrending; Falkenstrom et al.,
        2017).
    therapist:
        Column of therapist identifiers for a therapist random intercept, or None.
    covariates:
        Time-invariant client covariates (e.g. intake severity), as fixed effects.
    predictors:
        Further time-varying ratings at t (e.g. the therapist's view of the alliance), each
        split like the alliance into ``<col>_within`` (deviation from the client's mean)
        and ``<col>_between`` (the client's mean), as fixed effects beside the alliance's.
    level:
        Confidence level of the Wald intervals.
    source:
        A file name to put in error messages.

    Returns
    -------
    LaggedModelResult

    Raises
    ------
    InputError
        Missing or non-numeric columns, duplicated sessions, one client only, alliance
        constant within every client, or too few lag pairs.

    Warns
    -----
    BoundaryFitWarning
        A variance component at 0 or a correlation at +-1.

    Notes
    -----
    With :math:`\\bar a_i` the mean alliance of client *i* over every session where it was
    observed, the model for lag pairs (t, t+1) of consecutive session numbers is

    .. math::

        y_{i,t+1} = \\beta_0 + \\beta_1 y_{it} + \\beta_2 (a_{it} - \\bar a_i)
            + \\beta_3 \\bar a_i + b_{0i} + b_{1i}(a_{it} - \\bar a_i) + e_{i,t+1}

    with :math:`(b_{0i}, b_{1i}) \\sim N(0, \\Sigma)` and :math:`e \\sim N(0, \\sigma^2)`.
    :math:`\\beta_2` is the within-client (lagged) effect, :math:`\\beta_3` the between-client
    effect. p-values and confidence intervals are t tests on Satterthwaite's degrees of
    freedom, as lmerTest reports them (:func:`bordin.analytics.multilevel.infer_fixed_effects`);
    the conditional modes of the client effects are in ``random_effects``. Controlling the
    lagged outcome in a model with random intercepts carries
    Nickell-type bias in short series; see Falkenstrom et al. (2017) and docs/panel-model.md.

    Validation
    ----------
    lme4 1.1.31 (R 4.2.2): ``lmer(outcome_next ~ outcome + alliance_within +
    alliance_between + (1 + alliance_within | client_id), REML = TRUE/FALSE)``.
    Shared references ``tests/reference/data/panel/panel_a_reml.json``,
    ``tests/reference/data/panel/panel_a_ml.json`` and
    ``tests/reference/data/panel/panel_b_gaps_reml.json`` (made by
    ``tests/reference/r/ref_panel.R``); the project's cases (therapist level, session trend,
    covariate, no random slope, ML, boundary fits) in
    ``tests/reference/data/panel/panel_cases.json`` (made by
    ``tests/reference/r/make_panel_cases.R``). Tolerances: fixed effects and SEs rtol 1e-5,
    variance components rtol 1e-4, log-likelihood atol 1e-4
    (``tests/support/tolerances.py``). Satterthwaite df, t and p-values and the conditional
    modes: lmerTest 3.1.3, ``tests/reference/data/lmertest/lmertest_cases.json`` (made by
    ``tests/reference/r/make_lmertest_cases.R``), checked through this function in
    ``tests/reference/test_lmertest.py``. A further rating in ``predictors``: lmerTest 3.1.3,
    ``tests/reference/data/lmertest/pair_lagged.json`` (made by
    ``tests/reference/r/make_pair_lagged.R``), same tolerances.

    References
    ----------
    Bates, D., Maechler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects
    models using lme4. Journal of Statistical Software, 67(1).
    https://doi.org/10.18637/jss.v067.i01

    Falkenstrom, F., Finkel, S., Sandell, R., Rubel, J. A., & Holmqvist, R. (2017). Dynamic
    models of individual change in psychotherapy process research. Journal of Consulting and
    Clinical Psychology, 85(6), 537-549. https://doi.org/10.1037/ccp0000203

    Zilcha-Mano, S., & Errazuriz, P. (2015). One size does not fit all: Examining
    heterogeneity and identifying moderators of the alliance-outcome association. Journal of
    Counseling Psychology, 62(4), 579-591. https://doi.org/10.1037/cou0000103

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> rows = []
    >>> for c in range(60):
    ...     a, u = rng.normal(5, 0.5), rng.normal(0, 1)
    ...     y = 12.0
    ...     for s in range(1, 9):
    ...         al = a + rng.normal(0, 0.5)
    ...         rows.append((f"c{c}", s, al, y))
    ...         y = 4 + u + 0.6 * y - 1.0 * (al - a) + rng.normal(0, 1)
    >>> df = pd.DataFrame(rows, columns=["client_id", "session", "wai", "phq9"])
    >>> res = fit_lagged_model(df, alliance="wai", outcome="phq9", random_slope=False)
    >>> res.n_obs, res.n_clients  # R: lmer(phq9_next ~ phq9 + w + b + (1 | client_id))
    (420, 60)
    """
    lagged = prepare_lagged_design(
        frame,
        alliance=alliance,
        outcome=outcome,
        client=client,
        session=session,
        random_slope=random_slope,
        session_trend=session_trend,
        therapist=therapist,
        covariates=covariates,
        predictors=predictors,
        source=source,
    )
    fit = fit_lmm(lagged.design, reml=reml)
    d = lagged.design
    stats = compute_stats(d.y, d.x, d.z, d.client, d.n_clients, d.therapist, d.n_therapists)
    inference = infer_fixed_effects_at(d, fit.theta, fit.sigma, reml=reml, level=level, stats=stats)
    random_effects = predict_random_effects(
        d,
        fit,
        client_labels=lagged.client_labels,
        therapist_labels=lagged.therapist_labels,
        stats=stats,
    )
    terms = fit.fixed_names
    se = fit.se
    # From theta directly (lme4's VarCorr), so that a boundary correlation is exactly +-1.
    th = fit.theta
    sd_intercept = fit.sigma * float(th[0])
    if random_slope:
        length = math.hypot(float(th[1]), float(th[2]))
        sd_slope = fit.sigma * length
        corr = float(th[1]) / length if th[0] > 0 and length > 0 else math.nan
    else:
        sd_slope = math.nan
        corr = math.nan
    return LaggedModelResult(
        alliance=alliance,
        outcome=outcome,
        terms=terms,
        fixed={t: float(b) for t, b in zip(terms, fit.beta, strict=True)},
        se={t: float(s) for t, s in zip(terms, se, strict=True)},
        vcov=fit.vcov,
        n_obs=fit.n_obs,
        n_clients=fit.n_clients,
        n_therapists=fit.n_therapists,
        n_rows=lagged.n_rows,
        reml=reml,
        random_slope=random_slope,
        sd_intercept=sd_intercept,
        sd_slope=sd_slope,
        corr=corr,
        sd_therapist=fit.sd_therapist if fit.sd_therapist is not None else math.nan,
        sd_residual=fit.sigma,
        loglik=fit.loglik,
        deviance=fit.deviance,
        theta=tuple(float(t) for t in fit.theta),
        converged=fit.converged,
        singular=fit.singular,
        inference=inference,
        random_effects=random_effects,
        level=level,
    )
