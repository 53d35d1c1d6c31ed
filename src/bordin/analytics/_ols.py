"""Ordinary least squares with classical and heteroskedasticity-consistent covariances.

Private helper shared by the early-alliance, moderation and rupture-outcome analyses. It is
vectorised numpy (one QR decomposition, no loops over rows) and returns everything the
public results objects need: coefficients, their covariance, residual degrees of freedom.

Notes
-----
With design :math:`X` (:math:`n \\times p`, full column rank), residuals :math:`e` and
leverages :math:`h_i = [X(X^\\top X)^{-1}X^\\top]_{ii}`, the sandwich estimators are
(MacKinnon & White, 1985; Long & Ervin, 2000)

.. math::

    \\widehat V_{HCk} = (X^\\top X)^{-1} X^\\top \\operatorname{diag}(\\omega_i) X (X^\\top X)^{-1}

with :math:`\\omega_i = e_i^2` (HC0), :math:`e_i^2 n/(n-p)` (HC1), :math:`e_i^2/(1-h_i)`
(HC2) and :math:`e_i^2/(1-h_i)^2` (HC3). ``classic`` is :math:`s^2 (X^\\top X)^{-1}`.
The cluster-robust ``CR1`` replaces the meat by :math:`\\sum_g s_g s_g^\\top`, with the
score sum :math:`s_g = X_g^\\top e_g` of cluster :math:`g`, times
:math:`\\frac{G}{G-1}\\frac{n-1}{n-k}` (Cameron & Miller, 2015), where :math:`k` counts
absorbed fixed effects too. These match R's ``vcov(lm(...))``,
``sandwich::vcovHC(fit, type = ...)`` and ``sandwich::vcovCL(fit, cluster = ~g, type =
"HC1")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from bordin.errors import InputError

__all__ = ["CovType", "OLSFit", "TermEstimate", "fit_ols", "fit_terms", "make_term", "t_quantile"]

CovType = Literal["classic", "HC0", "HC1", "HC2", "HC3", "CR1"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class OLSFit:
    """A fitted linear model.

    Attributes
    ----------
    names:
        Column names of the design, in order (the first is usually ``(Intercept)``).
    coef:
        Least-squares coefficients, one per name.
    cov:
        Covariance matrix of ``coef`` of type ``cov_type``.
    cov_type:
        ``classic`` or one of ``HC0`` ... ``HC3``.
    n:
        Number of observations.
    df_resid:
        Residual degrees of freedom, ``n - p``.
    sigma:
        Residual standard error, ``sqrt(RSS / df_resid)``.
    r_squared:
        Coefficient of determination (centred; the model must contain an intercept).
    """

    names: tuple[str, ...]
    coef: FloatArray
    cov: FloatArray
    cov_type: CovType
    n: int
    df_resid: int
    sigma: float
    r_squared: float

    def se(self) -> FloatArray:
        """Standard errors: the square roots of the covariance diagonal."""
        return np.sqrt(np.diag(self.cov))

    def index(self, name: str) -> int:
        """Position of a coefficient by name."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no coefficient named {name!r}; have {list(self.names)}") from None


def t_quantile(level: float, df: float) -> float:
    """Two-sided critical value of Student's t for a confidence ``level``."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2.0, df))


def fit_ols(
    design: FloatArray,
    response: FloatArray,
    names: Sequence[str],
    *,
    cov_type: CovType = "HC3",
    clusters: npt.ArrayLike | None = None,
    absorbed: int = 0,
) -> OLSFit:
    """Fit ``response ~ design`` by least squares (QR) with the requested covariance.

    ``clusters`` (one label per row) is needed for ``CR1``. ``absorbed`` is the number of
    fixed effects already swept out of ``design`` and ``response`` by a within
    transformation; they count in the residual degrees of freedom.

    Raises
    ------
    InputError
        When there are fewer observations than coefficients, non-finite values, or the
        design is rank deficient (a predictor is constant or collinear).
    """
    x = np.asarray(design, dtype=np.float64)
    y = np.asarray(response, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise InputError("design and response do not have matching shapes")
    n, p = x.shape
    if len(names) != p:
        raise InputError("one name per design column is needed")
    if n <= p:
        raise InputError(f"{n} complete observations are too few for {p} coefficients")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError("the model data contain missing or infinite values")
    q, r = np.linalg.qr(x, mode="reduced")
    diag = np.abs(np.diag(r))
    if diag.min() <= 1e-10 * max(diag.max(), 1.0):
        raise InputError(
            "the model is not identifiable: a predictor is constant or collinear "
            f"(columns {list(names)})"
        )
    coef = np.linalg.solve(r, q.T @ y)
    resid = y - x @ coef
    df_resid = n - p - absorbed
    if df_resid <= 0:
        raise InputError("no residual degrees of freedom are left")
    if absorbed and cov_type in ("HC2", "HC3"):
        raise InputError(f"{cov_type} is not available with absorbed fixed effects; use CR1")
    rss = float(resid @ resid)
    r_inv = np.linalg.solve(r, np.eye(p))
    bread = r_inv @ r_inv.T  # (X'X)^-1
    if cov_type == "classic":
        cov = bread * (rss / df_resid)
    elif cov_type == "CR1":
        if clusters is None:
            raise InputError("cluster-robust standard errors need the cluster of every row")
        labels, g = np.unique(np.asarray(clusters).astype(str), return_inverse=True)
        n_g = len(labels)
        if n_g < 2 or len(g) != n:
            raise InputError("cluster-robust standard errors need at least two clusters")
        scores = np.zeros((n_g, p))
        np.add.at(scores, g, x * resid[:, None])
        adjust = n_g / (n_g - 1.0) * (n - 1.0) / df_resid
        cov = adjust * (bread @ (scores.T @ scores) @ bread)
    else:
        if cov_type == "HC0":
            omega = resid**2
        elif cov_type == "HC1":
            omega = resid**2 * (n / df_resid)
        else:
            leverage = np.einsum("ij,ij->i", q, q)
            if np.any(leverage >= 1.0 - 1e-12):
                raise InputError(
                    f"an observation has leverage 1, so {cov_type} is undefined; use HC0 or HC1"
                )
            power = 1.0 if cov_type == "HC2" else 2.0
            omega = resid**2 / (1.0 - leverage) ** power
        meat = x.T @ (x * omega[:, None])
        cov = bread @ meat @ bread
    tss = float(((y - y.mean()) ** 2).sum())
    r_squared = 1.0 - rss / tss if tss > 0 else float("nan")
    return OLSFit(
        names=tuple(names),
        coef=coef,
        cov=(cov + cov.T) / 2.0,
        cov_type=cov_type,
        n=int(n),
        df_resid=int(df_resid),
        sigma=float(np.sqrt(rss / df_resid)),
        r_squared=float(r_squared),
    )


@dataclass(frozen=True)
class TermEstimate:
    """One coefficient with its standard error, confidence interval and t test.

    Attributes
    ----------
    term:
        Name of the coefficient, as in R's ``coef()`` (``hp:wt`` for an interaction).
    estimate:
        Point estimate.
    se:
        Standard error (of the covariance type the analysis states).
    ci_low, ci_high:
        Confidence limits at ``level``: ``estimate -+ t_{df, 1-(1-level)/2} * se``.
    statistic:
        ``estimate / se`` (a t statistic, or z when ``df`` is infinite).
    p_value:
        Two-sided p-value from Student's t with ``df`` degrees of freedom (normal when
        ``df`` is infinite).
    df:
        Degrees of freedom of the reference distribution.
    """

    term: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    df: float

    def to_row(
        self, *, n: int, level: float, group: str, method: str, term: str | None = None
    ) -> dict[str, object]:
        """One row of a tidy results table (the column vocabulary of ``bordin.columns``)."""
        return {
            "term": self.term if term is None else term,
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "df": self.df,
            "n": n,
            "level": level,
            "group": group,
            "method": method,
        }


def make_term(term: str, estimate: float, se: float, df: float, level: float) -> TermEstimate:
    """Build a :class:`TermEstimate` with a t (or, for infinite ``df``, normal) interval."""
    from scipy import stats

    if np.isfinite(df):
        crit = t_quantile(level, df)
        stat = estimate / se if se > 0 else float("nan")
        p = float(2.0 * stats.t.sf(abs(stat), df)) if np.isfinite(stat) else float("nan")
    else:
        crit = float(stats.norm.ppf(0.5 + level / 2.0))
        stat = estimate / se if se > 0 else float("nan")
        p = float(2.0 * stats.norm.sf(abs(stat))) if np.isfinite(stat) else float("nan")
    return TermEstimate(
        term=term,
        estimate=float(estimate),
        se=float(se),
        ci_low=float(estimate - crit * se),
        ci_high=float(estimate + crit * se),
        statistic=float(stat),
        p_value=p,
        df=float(df),
    )


def fit_terms(fit: OLSFit, level: float) -> tuple[TermEstimate, ...]:
    """Every coefficient of an OLS fit as :class:`TermEstimate`, t with ``df_resid``."""
    se = fit.se()
    return tuple(
        make_term(name, float(fit.coef[i]), float(se[i]), float(fit.df_resid), level)
        for i, name in enumerate(fit.names)
    )
