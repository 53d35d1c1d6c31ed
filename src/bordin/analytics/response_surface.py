"""Client-therapist congruence and outcome: polynomial regression with response surface analysis.

Does it matter for the outcome whether client and therapist agree about the alliance, beyond
how high each rates it? The second-order polynomial regression of the outcome on both
ratings, read along the line of agreement (x = y) and the line of disagreement (x = -y),
answers that without the problems of difference scores (Edwards & Parry, 1993; Shanock et
al., 2010); Marmarosh & Kivlighan (2012) and Rubel et al. (2018) apply it to alliance
congruence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from bordin.analytics._ols import CovType, TermEstimate, fit_ols, fit_terms, make_term
from bordin.errors import InputError

__all__ = ["SURFACE_WEIGHTS", "ResponseSurfaceResult", "fit_response_surface"]

COEFFICIENT_NAMES = ("(Intercept)", "x", "y", "x^2", "x:y", "y^2")

# Each surface parameter is a linear combination of (b0, b1, ..., b5).
SURFACE_WEIGHTS: dict[str, tuple[float, ...]] = {
    "a1": (0.0, 1.0, 1.0, 0.0, 0.0, 0.0),  # slope along the congruence line x = y
    "a2": (0.0, 0.0, 0.0, 1.0, 1.0, 1.0),  # curvature along x = y
    "a3": (0.0, 1.0, -1.0, 0.0, 0.0, 0.0),  # slope along the incongruence line x = -y
    "a4": (0.0, 0.0, 0.0, 1.0, -1.0, 1.0),  # curvature along x = -y
    "a5": (0.0, 0.0, 0.0, 1.0, 0.0, -1.0),  # asymmetry of the ridge (b3 - b5)
}


@dataclass(frozen=True)
class ResponseSurfaceResult:
    """The fitted polynomial and its response surface parameters.

    Attributes
    ----------
    x, y, outcome:
        Column names of the two predictors (e.g. the client's and the therapist's rating) and
        of the outcome.
    center:
        The value subtracted from both predictors before fitting (0 for none).
    cov_type:
        Covariance of the coefficients: ``"classic"`` (R ``vcov(lm)``) or a
        heteroscedasticity-consistent type (``sandwich::vcovHC``).
    coefficients:
        ``b0 .. b5`` of ``outcome ~ x + y + x^2 + x:y + y^2`` with t tests on the residual df.
    surface:
        ``a1 .. a5`` with standard errors from the coefficient covariance, t tests and t
        intervals on the residual df.
    vcov:
        Covariance matrix of the coefficients.
    r_squared:
        Coefficient of determination.
    n:
        Rows used (complete cases).
    n_excluded:
        Rows left out for a missing value.
    df_resid:
        Residual degrees of freedom, ``n - 6``.
    level:
        Confidence level of the intervals.
    """

    x: str
    y: str
    outcome: str
    center: float
    cov_type: CovType
    coefficients: tuple[TermEstimate, ...]
    surface: tuple[TermEstimate, ...]
    vcov: np.ndarray
    r_squared: float
    n: int
    n_excluded: int
    df_resid: int
    level: float

    def parameter(self, name: str) -> TermEstimate:
        """One surface parameter (``a1`` .. ``a5``) or coefficient (``x``, ``x:y`` ...)."""
        for t in (*self.surface, *self.coefficients):
            if t.term == name:
                return t
        raise KeyError(name)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: coefficients (``group`` "coefficient") then a1-a5 (``group`` "surface")."""
        method = f"OLS, {self.cov_type}"
        rows = [
            t.to_row(n=self.n, level=self.level, group="coefficient", method=method)
            for t in self.coefficients
        ]
        rows += [
            t.to_row(n=self.n, level=self.level, group="surface", method=method)
            for t in self.surface
        ]
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A readable table with what each surface parameter means."""
        pct = f"{100 * self.level:g}%"
        meaning = {
            "a1": "slope along agreement (x = y)",
            "a2": "curvature along agreement",
            "a3": "slope along disagreement (x = -y)",
            "a4": "curvature along disagreement",
            "a5": "ridge asymmetry (b3 - b5)",
        }
        lines = [
            f"Response surface: {self.outcome} on {self.x} (x) and {self.y} (y), "
            f"n = {self.n}, R^2 = {self.r_squared:.3f}, {self.cov_type} SEs"
            + (f", both centred at {self.center:g}" if self.center else ""),
            f"  {'':<4} {'estimate':>9} {'se':>8} {'p':>9} {pct + ' CI':>20}  meaning",
        ]
        for t in self.surface:
            lines.append(
                f"  {t.term:<4} {t.estimate:>9.4f} {t.se:>8.4f} {t.p_value:>9.3g} "
                f"{f'[{t.ci_low:.3f}, {t.ci_high:.3f}]':>20}  {meaning[t.term]}"
            )
        lines.append(
            "  A negative a4 means the outcome is highest where the two ratings agree; a3 "
            "shows which side's higher rating goes with a better outcome when they differ."
        )
        return "\n".join(lines)


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        raise InputError("column not found", column=column)
    try:
        return pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        bad = pd.to_numeric(frame[column], errors="coerce").isna() & frame[column].notna()
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError("values must be numeric", column=column, row=row + 1) from None


def fit_response_surface(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    outcome: str,
    center: float | Literal["pooled"] | None = None,
    cov_type: CovType = "classic",
    level: float = 0.95,
) -> ResponseSurfaceResult:
    """Polynomial regression of ``outcome`` on two commensurate ratings, with RSA parameters.

    Parameters
    ----------
    frame:
        One row per unit (client, or client and session), with the three columns.
    x, y:
        The two predictors on the same scale (the client's and the therapist's rating).
    outcome:
        The outcome column.
    center:
        Subtract this value from both predictors (keeping them on one scale), ``"pooled"``
        for the mean of both columns together, or None to fit the raw ratings. The
        surface parameters describe the surface at the point (center, center).
    cov_type:
        ``"classic"`` (default, as R ``lm``) or ``"HC3"`` (and the other types of
        :func:`bordin.analytics._ols.fit_ols`) for the coefficient covariance.
    level:
        Confidence level of the t intervals.

    Returns
    -------
    ResponseSurfaceResult

    Raises
    ------
    InputError
        A column is missing or not numeric, fewer than 10 complete rows, or the polynomial
        design is rank deficient (for example one rating constant).

    Notes
    -----
    The model is :math:`z = b_0 + b_1 x + b_2 y + b_3 x^2 + b_4 xy + b_5 y^2 + e`, fitted
    by OLS. Along the congruence line :math:`x = y` the surface is
    :math:`z = b_0 + a_1 x + a_2 x^2` with :math:`a_1 = b_1 + b_2`,
    :math:`a_2 = b_3 + b_4 + b_5`; along the incongruence line :math:`x = -y` it is
    :math:`z = b_0 + a_3 x + a_4 x^2` with :math:`a_3 = b_1 - b_2`,
    :math:`a_4 = b_3 - b_4 + b_5` (Shanock et al., 2010); :math:`a_5 = b_3 - b_5` is the
    asymmetry of the surface about the congruence line (Humberg et al., 2019). For each
    :math:`a = l'b`, :math:`se = \\sqrt{l' V l}` with :math:`V` the coefficient covariance,
    :math:`t = a / se` on :math:`n - 6` degrees of freedom and the interval
    :math:`a \\pm t_{n-6, 1-(1-level)/2}\\, se`. Complete cases only. The parameters are
    associations; congruence is not shown to cause the outcome.

    Validation
    ----------
    R 4.2.2 ``lm(outcome ~ x + y + I(x^2) + I(x * y) + I(y^2))`` with ``vcov`` and
    ``sandwich::vcovHC(type = "HC3")`` (sandwich 3.0.2) and the formulas above, raw and
    centred on the pooled mean, on two simulated seeded data sets; script
    ``tests/reference/r/make_response_surface.R``, reference file
    ``tests/reference/data/response_surface/response_surface_cases.json``; tolerance 1e-9
    (closed form).

    References
    ----------
    Edwards, J. R., & Parry, M. E. (1993). On the use of polynomial regression equations as an
    alternative to difference scores in organizational research. Academy of Management
    Journal, 36(6), 1577-1613. https://doi.org/10.5465/256822

    Shanock, L. R., Baran, B. E., Gentry, W. A., Pattison, S. C., & Heggestad, E. D. (2010).
    Polynomial regression with response surface analysis: A powerful approach for examining
    moderation and overcoming limitations of difference scores. Journal of Business and
    Psychology, 25(4), 543-554. https://doi.org/10.1007/s10869-010-9183-4

    Humberg, S., Nestler, S., & Back, M. D. (2019). Response surface analysis in personality
    and social psychology: Checklist and clarifications for the case of congruence
    hypotheses. Social Psychological and Personality Science, 10(3), 409-419.
    https://doi.org/10.1177/1948550618757600

    Marmarosh, C. L., & Kivlighan, D. M., Jr. (2012). Relationships among client and counselor
    agreement about the working alliance, session evaluations, and change in client
    symptoms using response surface analysis. Journal of Counseling Psychology, 59(3),
    352-367. https://doi.org/10.1037/a0028907

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> c = rng.normal(5, 1, 200)
    >>> t = 0.6 * c + rng.normal(2, 0.8, 200)
    >>> z = 10 - 0.5 * (c - t) ** 2 + rng.normal(0, 1, 200)  # best outcome when they agree
    >>> df = pd.DataFrame({"client": c, "therapist": t, "outcome": z})
    >>> res = fit_response_surface(df, x="client", y="therapist", outcome="outcome")
    >>> bool(res.parameter("a4").ci_high < 0)  # R: lm(outcome ~ x + y + I(x^2) + ...)
    True
    """
    if not 0.0 < level < 1.0:
        raise InputError(f"level must be between 0 and 1, not {level}")
    xs, ys, zs = (_numeric(frame, c) for c in (x, y, outcome))
    ok = np.isfinite(xs) & np.isfinite(ys) & np.isfinite(zs)
    n = int(ok.sum())
    if n < 10:
        raise InputError(
            f"only {n} rows have {x}, {y} and {outcome}; the response surface needs at least 10"
        )
    xs, ys, zs = xs[ok], ys[ok], zs[ok]
    if center == "pooled":
        c0 = float(np.mean(np.r_[xs, ys]))
    elif center is None:
        c0 = 0.0
    else:
        c0 = float(center)
        if not math.isfinite(c0):
            raise InputError("center must be a finite number, 'pooled' or None")
    xc, yc = xs - c0, ys - c0
    design = np.column_stack([np.ones(n), xc, yc, xc * xc, xc * yc, yc * yc])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise InputError(
            f"the polynomial in {x} and {y} is rank deficient (a rating constant or the two "
            "ratings identical); the response surface cannot be estimated"
        )
    fit = fit_ols(design, zs, COEFFICIENT_NAMES, cov_type=cov_type)
    surface = []
    for name, weights in SURFACE_WEIGHTS.items():
        lvec = np.asarray(weights)
        est = float(lvec @ fit.coef)
        se = float(np.sqrt(lvec @ fit.cov @ lvec))
        surface.append(make_term(name, est, se, float(fit.df_resid), level))
    return ResponseSurfaceResult(
        x=x,
        y=y,
        outcome=outcome,
        center=c0,
        cov_type=cov_type,
        coefficients=fit_terms(fit, level),
        surface=tuple(surface),
        vcov=fit.cov,
        r_squared=fit.r_squared,
        n=n,
        n_excluded=int(len(frame) - n),
        df_resid=int(fit.df_resid),
        level=level,
    )
