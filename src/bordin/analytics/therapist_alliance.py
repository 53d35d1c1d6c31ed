"""Alliance-outcome correlation across a clinic's therapists, pooled by meta-analysis.

Each therapist's caseload is treated as a study: the correlation between their clients'
alliance and improvement is computed, the correlations are pooled on Fisher's z scale by
the meta-analysis engine (REML, as metafor), and each therapist's figure is shown both as
observed and shrunk towards the pooled value (empirical Bayes). Therapists are kept in the
order of their identifiers: the figures describe uncertainty, not a ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bordin.analytics.meta_analysis import FLUCKIGER_2018 as _meta_benchmark
from bordin.errors import InputError

if TYPE_CHECKING:
    from bordin.analytics.meta_analysis.model import MetaResult

__all__ = [
    "FLUCKIGER_2018",
    "PublishedCorrelation",
    "TherapistAllianceResult",
    "TherapistCorrelation",
    "fit_therapist_alliance",
    "pool_therapist_correlations",
]


@dataclass(frozen=True)
class PublishedCorrelation:
    """A published pooled correlation to show beside the clinic's own.

    Attributes
    ----------
    label:
        Short citation.
    estimate, ci_low, ci_high:
        The published r and its 95% confidence interval.
    k:
        Number of samples pooled.
    doi:
        DOI of the publication.
    """

    label: str
    estimate: float
    ci_low: float
    ci_high: float
    k: int
    doi: str


# The figures come from the meta-analysis engine's benchmark, so they live in one place.
FLUCKIGER_2018 = PublishedCorrelation(
    label="Flückiger et al. (2018)",
    estimate=_meta_benchmark.r,
    ci_low=_meta_benchmark.ci_low,
    ci_high=_meta_benchmark.ci_high,
    k=_meta_benchmark.k,
    doi="10.1037/pst0000172",
)


@dataclass(frozen=True)
class TherapistCorrelation:
    """One therapist's alliance-outcome correlation, observed and shrunk.

    Attributes
    ----------
    therapist_id:
        The therapist.
    n:
        Clients of the therapist in the analysis.
    r, ci_low, ci_high:
        Observed correlation with its Fisher-z interval.
    shrunk, shrunk_ci_low, shrunk_ci_high:
        Empirical Bayes (BLUP) estimate from the random-effects model, back-transformed to
        r, with its interval (metafor's ``blup``).
    yi, vi:
        Fisher z and its sampling variance ``1/(n - 3)``.
    """

    therapist_id: str
    n: int
    r: float
    ci_low: float
    ci_high: float
    shrunk: float
    shrunk_ci_low: float
    shrunk_ci_high: float
    yi: float
    vi: float


@dataclass(frozen=True)
class TherapistAllianceResult:
    """Pooled alliance-outcome correlation across therapists.

    Attributes
    ----------
    alliance, outcome:
        Score columns used.
    early_sessions:
        Sessions making the early alliance.
    therapists:
        One entry per therapist with at least ``min_clients`` clients, ordered by
        therapist identifier (never by size of effect).
    estimate, ci_low, ci_high:
        Pooled correlation (back-transformed from Fisher z) and its confidence interval.
    pi_low, pi_high:
        Prediction interval for a new therapist's correlation.
    z, se_z:
        Pooled Fisher z and its standard error.
    p_value:
        Two-sided p-value of the pooled z.
    tau2:
        Between-therapist variance of the true Fisher z (REML).
    i2:
        I^2 in percent.
    q, q_p_value:
        Cochran's Q and its p-value.
    k:
        Therapists pooled.
    n_clients:
        Clients in the pooled therapists' caseloads.
    n_excluded_therapists:
        Therapists left out for having fewer than ``min_clients`` usable clients.
    min_clients:
        Minimum caseload for a therapist to enter.
    published:
        The published figure shown beside it (Flückiger et al., 2018).
    level:
        Confidence level.
    """

    alliance: str
    outcome: str
    early_sessions: int
    therapists: tuple[TherapistCorrelation, ...]
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    z: float
    se_z: float
    p_value: float
    tau2: float
    i2: float
    q: float
    q_p_value: float
    k: int
    n_clients: int
    n_excluded_therapists: int
    min_clients: int
    published: PublishedCorrelation
    level: float

    method = "random-effects meta-analysis of Fisher z (REML), back-transformed to r"

    def to_frame(self) -> pd.DataFrame:
        """Pooled row, published row, then observed and shrunk rows per therapist."""
        rows: list[dict[str, object]] = [
            {
                "term": "pooled_r",
                "estimate": self.estimate,
                "se": self.se_z,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "statistic": self.z / self.se_z,
                "p_value": self.p_value,
                "n": self.n_clients,
                "k": self.k,
                "tau2": self.tau2,
                "i2": self.i2,
                "q": self.q,
                "level": self.level,
                "group": "pooled",
                "method": self.method + " (se on the z scale)",
            },
            {
                "term": "published_r",
                "estimate": self.published.estimate,
                "ci_low": self.published.ci_low,
                "ci_high": self.published.ci_high,
                "k": self.published.k,
                "level": 0.95,
                "group": "published",
                "method": self.published.label,
            },
        ]
        for t in self.therapists:
            rows.append(
                {
                    "term": t.therapist_id,
                    "estimate": t.r,
                    "ci_low": t.ci_low,
                    "ci_high": t.ci_high,
                    "n": t.n,
                    "level": self.level,
                    "group": "therapist",
                    "method": "Pearson r, Fisher z interval",
                }
            )
        for t in self.therapists:
            rows.append(
                {
                    "term": t.therapist_id,
                    "estimate": t.shrunk,
                    "ci_low": t.shrunk_ci_low,
                    "ci_high": t.shrunk_ci_high,
                    "n": t.n,
                    "level": self.level,
                    "group": "therapist_shrunk",
                    "method": "empirical Bayes (BLUP) from the random-effects model",
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A plain-text summary for the terminal."""
        p = self.published
        return "\n".join(
            [
                f"Alliance (early {self.alliance}) - improvement in "
                f"{self.outcome} across {self.k} therapists ({self.n_clients} clients)",
                f"  pooled r = {self.estimate:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}], "
                f"prediction interval [{self.pi_low:.3f}, {self.pi_high:.3f}]",
                f"  tau^2 = {self.tau2:.4g} (z scale), I^2 = {self.i2:.1f}%, "
                f"Q = {self.q:.2f} (p = {self.q_p_value:.3g})",
                f"  {p.label}: r = {p.estimate:.3f} [{p.ci_low:.3f}, {p.ci_high:.3f}], k = {p.k}",
            ]
        )


def pool_therapist_correlations(
    therapist_ids: list[str] | tuple[str, ...],
    r: np.ndarray,
    n: np.ndarray,
    *,
    level: float = 0.95,
) -> tuple[tuple[TherapistCorrelation, ...], MetaResult]:
    """Pool per-therapist correlations (REML on Fisher z) and compute BLUPs.

    Returns the per-therapist entries (in the order given) and the meta-analysis engine's
    result object.

    Notes
    -----
    :math:`z_j = \\operatorname{atanh} r_j`, :math:`v_j = 1/(n_j - 3)`. With
    :math:`\\hat\\mu, \\hat\\tau^2` from REML and :math:`\\lambda_j = \\hat\\tau^2 /
    (\\hat\\tau^2 + v_j)`, the BLUP is :math:`\\lambda_j z_j + (1 - \\lambda_j)\\hat\\mu` with
    variance :math:`\\lambda_j v_j + (1 - \\lambda_j)^2 SE(\\hat\\mu)^2` (Raudenbush & Bryk,
    1985; metafor's ``blup.rma.uni``), back-transformed with tanh.

    Validation
    ----------
    metafor 3.8.1 (R 4.2.2): ``rma(yi, vi, method = "REML")`` and ``blup()`` on
    ``escalc("ZCOR", ri, ni)``; script ``tests/reference/r/make_report_references.R``,
    reference file ``tests/reference/data/report/therapist_blup.json``; tolerance 1e-6
    (iterative estimator).
    """
    from scipy import stats

    from bordin.analytics.meta_analysis.model import random_effects_meta

    r_arr = np.asarray(r, dtype=np.float64)
    n_arr = np.asarray(n, dtype=np.float64)
    yi = np.arctanh(np.clip(r_arr, -0.999999, 0.999999))
    vi = 1.0 / (n_arr - 3.0)
    meta = random_effects_meta(yi, vi, method="REML", level=level)
    crit = float(stats.norm.ppf(0.5 + level / 2.0))
    lam = meta.tau2 / (meta.tau2 + vi)
    pred = lam * yi + (1.0 - lam) * meta.estimate
    se_pred = np.sqrt(lam * vi + (1.0 - lam) ** 2 * meta.se**2)
    half = crit * np.sqrt(vi)
    entries = tuple(
        TherapistCorrelation(
            therapist_id=str(therapist_ids[j]),
            n=int(n_arr[j]),
            r=float(r_arr[j]),
            ci_low=float(np.tanh(yi[j] - half[j])),
            ci_high=float(np.tanh(yi[j] + half[j])),
            shrunk=float(np.tanh(pred[j])),
            shrunk_ci_low=float(np.tanh(pred[j] - crit * se_pred[j])),
            shrunk_ci_high=float(np.tanh(pred[j] + crit * se_pred[j])),
            yi=float(yi[j]),
            vi=float(vi[j]),
        )
        for j in range(len(r_arr))
    )
    return entries, meta


def fit_therapist_alliance(
    scores: pd.DataFrame,
    *,
    alliance: str,
    outcome: str,
    early_sessions: int = 3,
    min_clients: int = 4,
    level: float = 0.95,
) -> TherapistAllianceResult:
    """Correlate alliance with improvement within each therapist's caseload and pool them.

    Parameters
    ----------
    scores:
        Wide session scores.
    alliance, outcome:
        Score columns.
    early_sessions:
        The alliance is the client's mean over sessions 1 to this number (the early
        alliance, which precedes most of the change).
    min_clients:
        A therapist enters with at least this many clients with both scores (default and
        minimum 4, so that the Fisher z variance ``1/(n - 3)`` exists).
    level:
        Confidence level.

    Returns
    -------
    TherapistAllianceResult

    Raises
    ------
    InputError
        Missing columns, ``min_clients`` below 4, or fewer than 2 therapists with enough
        clients.

    Notes
    -----
    The per-therapist correlations are those of
    :func:`bordin.analytics.meta_analysis.correlations_by_group` (so ``bordin meta`` and the
    report agree): early alliance with improvement (intake minus last score where higher is
    worse, as the PHQ-9), so a positive r means a better alliance goes with more
    improvement, as in Flückiger et al. (2018). Therapists with too few clients or no
    variation are left out and counted.
    Pooling and shrinkage: see :func:`pool_therapist_correlations`.

    Validation
    ----------
    Pooling and BLUPs against metafor 3.8.1 (``rma`` + ``blup``); reference file
    ``tests/reference/data/report/therapist_blup.json``; tolerance 1e-6.

    References
    ----------
    Flückiger, C., Del Re, A. C., Wampold, B. E., & Horvath, A. O. (2018). The alliance in
    adult psychotherapy: a meta-analytic synthesis. *Psychotherapy*, 55(4), 316-340.
    https://doi.org/10.1037/pst0000172
    Raudenbush, S. W., & Bryk, A. S. (1985). Empirical Bayes meta-analysis. *Journal of
    Educational Statistics*, 10(2), 75-98. https://doi.org/10.3102/10769986010002075

    Examples
    --------
    >>> from bordin.simulate import SimulationConfig, simulate_clinic
    >>> clinic = simulate_clinic(SimulationConfig(n_clients=400), seed=3)
    >>> res = fit_therapist_alliance(clinic.scores, alliance="sac_total", outcome="phq9_total")
    >>> res.k  # 20 therapists
    20
    """
    from scipy import stats

    from bordin.analytics.meta_analysis import correlations_by_group

    if min_clients < 4:
        raise InputError(f"min_clients must be at least 4, got {min_clients}")
    groups = correlations_by_group(
        scores,
        alliance=alliance,
        outcome=outcome,
        by="therapist_id",
        early_sessions=early_sessions,
        min_clients=min_clients,
    )
    if len(groups.groups) < 2:
        raise InputError(
            f"only {len(groups.groups)} therapists have at least {min_clients} clients with an "
            "early alliance and an outcome change; pooling needs 2"
        )
    order = np.argsort(np.asarray(groups.groups, dtype=str), kind="stable")
    ids = [str(groups.groups[i]) for i in order]
    r = np.asarray(groups.r, dtype=np.float64)[order]
    n = np.asarray(groups.n, dtype=np.float64)[order]
    entries, meta = pool_therapist_correlations(ids, r, n, level=level)
    pi_low = meta.pi_low if meta.pi_low is not None else float("nan")
    pi_high = meta.pi_high if meta.pi_high is not None else float("nan")
    return TherapistAllianceResult(
        alliance=alliance,
        outcome=outcome,
        early_sessions=early_sessions,
        therapists=entries,
        estimate=float(np.tanh(meta.estimate)),
        ci_low=float(np.tanh(meta.ci_low)),
        ci_high=float(np.tanh(meta.ci_high)),
        pi_low=float(np.tanh(pi_low)),
        pi_high=float(np.tanh(pi_high)),
        z=float(meta.estimate),
        se_z=float(meta.se),
        p_value=float(2.0 * stats.norm.sf(abs(meta.estimate / meta.se))),
        tau2=float(meta.tau2),
        i2=float(meta.i2),
        q=float(meta.q),
        q_p_value=float(meta.q_p_value),
        k=len(entries),
        n_clients=int(n.sum()),
        n_excluded_therapists=len(groups.dropped),
        min_clients=min_clients,
        published=FLUCKIGER_2018,
        level=level,
    )
