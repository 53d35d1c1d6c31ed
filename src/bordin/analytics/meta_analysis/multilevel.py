"""Three-level meta-analysis (metafor's ``rma.mv(yi, vi, random = ~ 1 | cluster/effect)``).

Effect sizes nested in studies (several outcomes or samples per study) are not independent;
the three-level model gives each study (cluster) and each effect within it a random effect.
The engine is in ``_multilevel_fit`` (why no library is used is explained there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from bordin.analytics.meta_analysis._checks import check_level
from bordin.analytics.meta_analysis._multilevel_design import prepare_multilevel
from bordin.analytics.meta_analysis._multilevel_fit import Blocks, fit_components
from bordin.errors import InputError

__all__ = ["MultilevelMethod", "MultilevelMetaResult", "MultilevelTest", "fit_multilevel_meta"]

FloatArray = NDArray[np.float64]
MultilevelMethod = Literal["REML", "ML"]
MultilevelTest = Literal["z", "t"]


@dataclass(frozen=True, eq=False)
class MultilevelMetaResult:
    """A fitted three-level model.

    Attributes
    ----------
    method
        ``REML`` or ``ML``.
    test
        ``z`` (normal) or ``t`` (t with ``k - p`` df, metafor's ``test = "t"``).
    level
        Confidence level of the intervals.
    cluster_name, effect_name
        Names of the two random-effect levels (metafor's ``s.names`` are ``cluster`` and
        ``cluster/effect``).
    k
        Number of effect sizes in the model.
    n_clusters
        Number of clusters.
    n_dropped
        Rows left out because a moderator value was missing.
    terms
        Coefficient names as metafor writes them (``intrcpt``, numeric moderators by name,
        categorical ones as name and level pasted together).
    coef, se, statistic, p_value, ci_low, ci_high
        Fixed effects and their (model-based) inference.
    df
        Degrees of freedom of the t tests (``k - p``); None for z tests.
    sigma2
        Variance components: between clusters, and between effects within clusters.
    qe, qe_df, qe_p_value
        Test for (residual) heterogeneity, :math:`Q_E` with ``k - p`` df.
    qm, qm_df, qm_p_value
        Omnibus test of the coefficients (all but the intercept; the intercept alone in an
        intercept-only model, as metafor): chi-squared with ``m`` df, or with ``test = "t"``
        an F statistic with ``(m, k - p)`` df (``qm_df[1]`` None for chi-squared).
    loglik, deviance, aic, bic, aicc
        Fit statistics as metafor's ``fitstats``.
    iterations
        Fisher-scoring iterations.
    vb
        Variance-covariance matrix of the coefficients.
    yi, vi, x, cluster, cluster_labels
        The data the model was fitted to (model matrix ``x``; ``cluster`` codes index
        ``cluster_labels``), used by :func:`sigma2_confint` and :func:`robust_cr2`.
    """

    method: MultilevelMethod
    test: MultilevelTest
    level: float
    cluster_name: str
    effect_name: str
    k: int
    n_clusters: int
    n_dropped: int
    terms: tuple[str, ...]
    coef: FloatArray
    se: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    df: int | None
    sigma2: FloatArray
    qe: float
    qe_df: int
    qe_p_value: float
    qm: float
    qm_df: tuple[int, int | None]
    qm_p_value: float
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    iterations: int
    vb: FloatArray = field(repr=False)
    yi: FloatArray = field(repr=False)
    vi: FloatArray = field(repr=False)
    x: FloatArray = field(repr=False)
    cluster: NDArray[np.intp] = field(repr=False)
    cluster_labels: tuple[str, ...] = field(repr=False)

    @property
    def p(self) -> int:
        """Number of coefficients."""
        return len(self.terms)

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
                "df": [self.df] * self.p,
                "k": self.k,
                "level": self.level,
                "method": self.method,
            }
        )

    def to_json_dict(self) -> dict[str, Any]:
        """metafor's names: ``sigma2, beta, se, zval`` (or ``tval``), ``pval, ci.lb, ...``."""
        stat = "zval" if self.test == "z" else "tval"
        return {
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "k": self.k,
            "p": self.p,
            "n_dropped": self.n_dropped,
            "s.names": [self.cluster_name, f"{self.cluster_name}/{self.effect_name}"],
            "s.nlevels": [self.n_clusters, self.k],
            "sigma2": [float(s) for s in self.sigma2],
            "beta": {t: float(b) for t, b in zip(self.terms, self.coef, strict=True)},
            "se": self.se.tolist(),
            stat: self.statistic.tolist(),
            "pval": self.p_value.tolist(),
            "ci.lb": self.ci_low.tolist(),
            "ci.ub": self.ci_high.tolist(),
            "dfs": None if self.df is None else self.df,
            "QE": self.qe,
            "QEdf": self.qe_df,
            "QEp": self.qe_p_value,
            "QM": self.qm,
            "QMdf": list(self.qm_df),
            "QMp": self.qm_p_value,
            "logLik": self.loglik,
            "deviance": self.deviance,
            "AIC": self.aic,
            "BIC": self.bic,
            "AICc": self.aicc,
        }

    def summary(self) -> str:
        """A short plain-text report for the terminal."""
        stat = "z" if self.df is None else f"t({self.df})"
        lines = [
            f"three-level model ({self.method}), k = {self.k} effects in "
            f"{self.n_clusters} clusters ({self.cluster_name}/{self.effect_name})",
            f"sigma^2 {self.cluster_name} {self.sigma2[0]:.4f}, "
            f"sigma^2 {self.cluster_name}/{self.effect_name} {self.sigma2[1]:.4f}",
            f"logLik {self.loglik:.4f}, AIC {self.aic:.4f}, BIC {self.bic:.4f}",
            f"QE({self.qe_df}) = {self.qe:.2f}, {_fmt_p(self.qe_p_value)}",
        ]
        name = "QM" if self.qm_df[1] is None else "F"
        df_text = (
            f"{self.qm_df[0]}" if self.qm_df[1] is None else f"{self.qm_df[0]}, {self.qm_df[1]}"
        )
        lines.append(f"{name}({df_text}) = {self.qm:.4f}, {_fmt_p(self.qm_p_value)}")
        pct = round(self.level * 100)
        lines.append(f"  {'term':<24} {'estimate':>9} {'se':>8} {stat:>8} {'p':>8}  {pct}% CI")
        for i, term in enumerate(self.terms):
            lines.append(
                f"  {term:<24} {self.coef[i]:9.4f} {self.se[i]:8.4f} {self.statistic[i]:8.3f} "
                f"{self.p_value[i]:8.4f}  [{self.ci_low[i]:.4f}, {self.ci_high[i]:.4f}]"
            )
        return "\n".join(lines)


def _fmt_p(p: float) -> str:
    return "p < .0001" if p < 1e-4 else f"p = {p:.4f}"


def _start(blocks: Blocks) -> FloatArray:
    # Half of the residual heterogeneity of an OLS fit to each component (any positive start
    # works: the likelihood is maximised by Fisher scoring with step halving).
    x, y = blocks.x, blocks.y
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    total = float(np.var(y - x @ beta)) - float(np.mean(blocks.v))
    total = max(total, 0.01 * float(np.mean(blocks.v)))
    return np.array([total / 2.0, total / 2.0])


def fit_multilevel_meta(
    yi: Sequence[float] | FloatArray,
    vi: Sequence[float] | FloatArray,
    cluster: Sequence[object],
    *,
    effect: Sequence[object] | None = None,
    mods: pd.DataFrame | None = None,
    method: MultilevelMethod = "REML",
    test: MultilevelTest = "z",
    level: float = 0.95,
    cluster_name: str = "cluster",
    effect_name: str = "effect",
    sigma2: tuple[float | None, float | None] = (None, None),
    threshold: float = 1e-12,
    first_row: int = 1,
    columns: tuple[str, str, str, str] = ("yi", "vi", "cluster", "effect"),
) -> MultilevelMetaResult:
    """Fit a three-level meta-analysis, as metafor's ``rma.mv`` with ``~ 1 | cluster/effect``.

    Parameters
    ----------
    yi, vi
        Effect sizes and their sampling variances.
    cluster
        Cluster (e.g. study) of each effect size.
    effect
        Identifier of each effect within its cluster (must be unique within the cluster);
        default: every row is its own effect.
    mods
        Moderators, one column each: numeric columns enter as they are, other columns as
        dummy variables for every level but the first in sorted order. Rows with a missing
        moderator value are left out (``n_dropped``).
    method
        ``"REML"`` (default) or ``"ML"``.
    test
        ``"z"`` (default) or ``"t"`` (t and F tests with ``k - p`` df).
    level
        Confidence level.
    cluster_name, effect_name
        Names used in the output.
    sigma2
        Values at which to hold the variance components (None: estimate), as metafor's
        ``sigma2 = c(NA, 0.1)``; fit statistics count only the estimated ones.
    first_row, columns
        Row number of the first effect and the names of the yi, vi, cluster and effect
        columns, used in error messages (a CSV reader passes 2 and its column names).
    threshold
        Fisher scoring stops when no variance component changes by more than this
        (relative to max(1, value)).

    Returns
    -------
    MultilevelMetaResult

    Raises
    ------
    InputError
        Non-finite yi, non-positive vi, a missing cluster, an effect identifier repeated in
        a cluster (each names the row), fewer than 2 clusters, collinear moderators, as many
        coefficients as effects, unknown method or test.
    ConvergenceError
        Fisher scoring did not converge.

    Notes
    -----
    :math:`y_{ij} = x_{ij}^\\top \\beta + u_i + w_{ij} + e_{ij}` with
    :math:`u_i \\sim N(0, \\sigma^2_1)` (cluster), :math:`w_{ij} \\sim N(0, \\sigma^2_2)`
    (effect within cluster) and :math:`e_{ij} \\sim N(0, v_{ij})` (Konstantopoulos, 2011).
    The variance components maximise the (restricted) log-likelihood; given them,
    :math:`\\hat\\beta = (X^\\top W X)^{-1} X^\\top W y` with :math:`W = M^{-1}` and
    :math:`\\operatorname{Var}(\\hat\\beta) = (X^\\top W X)^{-1}`. The REML log-likelihood
    includes metafor's :math:`\\tfrac12 \\log|X^\\top X|`; AIC, BIC and AICc count the
    ``p`` coefficients and the 2 variance components, with ``k - p`` observations under
    REML. :math:`Q_E = y^\\top P_0 y` uses the sampling variances only (fixed-effect
    weights). Each cluster's covariance is compound-symmetric plus diagonal, so its inverse
    and determinant are closed forms (Woodbury); the fit costs O(k p^2) per iteration and
    never forms a k-by-k matrix.

    Validation
    ----------
    R 4.2.2, metafor 3.8.1: ``rma.mv(yi, vi, random = ~ 1 | cluster/effect, method = M,
    test = T [, mods = ...])`` on ``dat.konstantopoulos2011``, ``dat.assink2016`` and
    ``dat.bornmann2007`` (log odds ratios), ``tests/reference/data/meta/multilevel/*.json``
    made by ``tests/reference/r/make_multilevel_cases.R``, rtol 1e-6.

    References
    ----------
    Konstantopoulos, S. (2011). Fixed effects and variance components estimation in
    three-level meta-analysis. Research Synthesis Methods, 2(1), 61-76.
    https://doi.org/10.1002/jrsm.35

    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal
    of Statistical Software, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03

    Examples
    --------
    >>> res = fit_multilevel_meta(
    ...     [0.1, 0.3, 0.2, 0.5, 0.4, 0.6, 0.0, 0.1],
    ...     [0.01, 0.02, 0.01, 0.02, 0.01, 0.02, 0.01, 0.02],
    ...     ["a", "a", "b", "b", "c", "c", "d", "d"],
    ... )  # rma.mv(yi, vi, random = ~ 1 | cluster/effect)
    >>> res.k, res.n_clusters, res.terms
    (8, 4, ('intrcpt',))
    """
    if method not in get_args(MultilevelMethod):
        raise InputError(f"unknown method {method!r}; choose REML or ML")
    if test not in get_args(MultilevelTest):
        raise InputError(f"unknown test {test!r}; choose z or t")
    level = check_level(level)
    data = prepare_multilevel(yi, vi, cluster, effect, mods, first_row=first_row, columns=columns)
    blocks = Blocks(data.yi, data.vi, data.x, data.cluster)
    reml = method == "REML"
    for value in sigma2:
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise InputError(f"a fixed variance component must be >= 0; got {value!r}")
    fit = fit_components(blocks, reml=reml, start=_start(blocks), fixed=sigma2, threshold=threshold)
    k, p = data.x.shape
    beta, vb = fit.beta, fit.vb
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    df: int | None = None
    if test == "t":
        df = k - p
        pval = 2.0 * special.stdtr(df, -np.abs(stat))
        crit = float(-special.stdtrit(df, (1 - level) / 2))
    else:
        pval = 2.0 * special.ndtr(-np.abs(stat))
        crit = float(-special.ndtri((1 - level) / 2))
    # metafor tests every coefficient but the intercept, or the intercept of an
    # intercept-only model.
    btt = np.arange(1, p) if p > 1 else np.array([0])
    m = btt.size
    b = beta[btt]
    qm = float(b @ np.linalg.solve(vb[np.ix_(btt, btt)], b))
    if df is None:
        qm_df: tuple[int, int | None] = (m, None)
        qm_p = float(special.chdtrc(m, qm))
    else:
        qm = qm / m
        qm_df = (m, df)
        qm_p = float(special.fdtrc(m, df, qm))
    w0 = 1.0 / data.vi
    xw = data.x * w0[:, None]
    b0 = np.linalg.solve(data.x.T @ xw, xw.T @ data.yi)
    r0 = data.yi - data.x @ b0
    qe = float(np.sum(w0 * r0**2))
    ll = fit.loglik
    n_par = p + sum(value is None for value in sigma2)
    n_eff = k - p if reml else k
    if reml:
        deviance = -2.0 * ll
    else:
        # metafor: -2 (logLik - logLik of the saturated model, y_ij ~ N(y_ij, v_ij)).
        ll_sat = -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(data.vi)))
        deviance = -2.0 * (ll - ll_sat)
    aicc_n = max(n_eff, n_par + 2)
    return MultilevelMetaResult(
        method=method,
        test=test,
        level=level,
        cluster_name=cluster_name,
        effect_name=effect_name,
        k=k,
        n_clusters=blocks.n_clusters,
        n_dropped=data.n_dropped,
        terms=data.terms,
        coef=beta,
        se=se,
        statistic=stat,
        p_value=pval,
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        df=df,
        sigma2=fit.sigma2,
        qe=qe,
        qe_df=k - p,
        qe_p_value=float(special.chdtrc(k - p, qe)),
        qm=qm,
        qm_df=qm_df,
        qm_p_value=qm_p,
        loglik=ll,
        deviance=deviance,
        aic=-2.0 * ll + 2.0 * n_par,
        bic=-2.0 * ll + n_par * math.log(n_eff),
        aicc=-2.0 * ll + 2.0 * n_par * aicc_n / (aicc_n - n_par - 1),
        iterations=fit.iterations,
        vb=vb,
        yi=data.yi,
        vi=data.vi,
        x=data.x,
        cluster=data.cluster,
        cluster_labels=data.cluster_labels,
    )
