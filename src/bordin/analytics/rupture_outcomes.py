"""Rupture and repair in a clinic: how often, and how outcomes differ with repair."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bordin.analytics._clients import client_table, higher_is_worse, scale_of_column
from bordin.analytics._ols import CovType, TermEstimate, fit_ols, fit_terms, make_term
from bordin.analytics.early_alliance import fisher_interval
from bordin.analytics.outcome_summary import Proportion, wilson_interval
from bordin.analytics.therapist_alliance import PublishedCorrelation
from bordin.errors import InputError

__all__ = [
    "EUBANKS_2018",
    "GroupMean",
    "RuptureDetectorResult",
    "RuptureOutcomeResult",
    "fit_rupture_outcomes",
]

EUBANKS_2018 = PublishedCorrelation(
    label="Eubanks, Muran & Safran (2018)",
    estimate=0.29,
    ci_low=float("nan"),
    ci_high=float("nan"),
    k=11,
    doi="10.1037/pst0000185",
)

GROUPS = ("none", "repaired", "unrepaired")


@dataclass(frozen=True)
class GroupMean:
    """Outcome change of one rupture group, adjusted to the mean intake score.

    Attributes
    ----------
    group:
        ``none``, ``repaired`` or ``unrepaired``.
    n:
        Clients in the group.
    change:
        Model-predicted change (last - intake) at the sample's mean intake, with its
        standard error, interval and t test against zero.
    """

    group: str
    n: int
    change: TermEstimate


@dataclass(frozen=True)
class RuptureDetectorResult:
    """Rupture rates and outcome comparison for one detector (k = 1 or k = 2).

    Attributes
    ----------
    k:
        The detector's threshold in within-client standard deviations.
    detector:
        The feedback engine's detector name (``sd_k1``, ``sd_k2``).
    events:
        Rupture events detected.
    clients_with_rupture:
        Clients with at least one rupture, of all clients (Wilson interval).
    sessions_with_onset:
        Sessions at which a rupture began, of all sessions from session 2 on.
    repair_rate:
        Repaired ruptures of those whose repair window closed (repaired or unrepaired).
    group_counts:
        Clients per client-level code (``none``, ``repaired``, ``unrepaired``, ``open``:
        a rupture still inside its repair window at the last session).
    coefficients:
        ``change ~ intake + repaired + unrepaired`` by OLS with ``cov_type`` standard errors
        (reference group: no rupture).
    adjusted_means:
        Predicted change per group at the mean intake.
    resolution_r, resolution_ci_low, resolution_ci_high:
        Partial correlation (controlling intake) between repair (repaired = 1, unrepaired =
        0, clients with ruptures only) and improvement, with its Fisher-z interval; positive
        means repaired ruptures go with more improvement. ``nan`` with too few clients.
    resolution_n:
        Clients in that correlation.
    n:
        Clients in the outcome model (codes none, repaired, unrepaired, with a change; a
        group with a single client is left out, as its mean would be fitted exactly).
    """

    k: int
    detector: str
    events: int
    clients_with_rupture: Proportion
    sessions_with_onset: Proportion
    repair_rate: Proportion
    group_counts: tuple[tuple[str, int], ...]
    coefficients: tuple[TermEstimate, ...]
    adjusted_means: tuple[GroupMean, ...]
    resolution_r: float
    resolution_ci_low: float
    resolution_ci_high: float
    resolution_n: int
    n: int


@dataclass(frozen=True)
class RuptureOutcomeResult:
    """Rupture and repair at k = 1 and k = 2 with outcome change by repair status.

    Attributes
    ----------
    alliance, outcome:
        Score columns.
    detectors:
        One :class:`RuptureDetectorResult` per detector, in k order.
    published:
        Eubanks et al. (2018): rupture resolution and outcome, r = .29.
    cov_type:
        Covariance type of the OLS standard errors.
    level:
        Confidence level.
    """

    alliance: str
    outcome: str
    detectors: tuple[RuptureDetectorResult, ...]
    published: PublishedCorrelation
    cov_type: CovType
    level: float

    @property
    def method(self) -> str:
        """Method label of the outcome model."""
        return f"OLS change ~ intake + rupture group, {self.cov_type} robust SE"

    def detector(self, k: int) -> RuptureDetectorResult:
        """The result for threshold ``k``."""
        for d in self.detectors:
            if d.k == k:
                return d
        raise KeyError(k)

    def to_frame(self) -> pd.DataFrame:
        """Rates, coefficients, adjusted means and resolution r for every k (``group``)."""
        rows: list[dict[str, object]] = []
        for d in self.detectors:
            tag = f"k={d.k}"
            for p in (d.clients_with_rupture, d.sessions_with_onset, d.repair_rate):
                rows.append(
                    {
                        "term": f"{p.term} ({tag})",
                        "estimate": p.estimate,
                        "ci_low": p.ci_low,
                        "ci_high": p.ci_high,
                        "n": p.n,
                        "k": p.count,
                        "level": self.level,
                        "group": f"rate {tag}",
                        "method": f"Wilson score interval; denominator: {p.denominator}",
                    }
                )
            for t in d.coefficients:
                rows.append(
                    t.to_row(
                        term=f"{t.term} ({tag})",
                        n=d.n,
                        level=self.level,
                        group=f"model {tag}",
                        method=self.method,
                    )
                )
            for g in d.adjusted_means:
                rows.append(
                    g.change.to_row(
                        term=f"change {g.group} ({tag})",
                        n=g.n,
                        level=self.level,
                        group=f"adjusted mean {tag}",
                        method="predicted change at mean intake",
                    )
                )
            rows.append(
                {
                    "term": f"resolution_r ({tag})",
                    "estimate": d.resolution_r,
                    "ci_low": d.resolution_ci_low,
                    "ci_high": d.resolution_ci_high,
                    "n": d.resolution_n,
                    "level": self.level,
                    "group": f"resolution {tag}",
                    "method": "partial r (repaired vs unrepaired, improvement | intake), Fisher z",
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A plain-text summary for the terminal."""
        lines = [f"Rupture and repair ({self.alliance}) and change in {self.outcome}"]
        for d in self.detectors:
            c = d.clients_with_rupture
            r = d.repair_rate
            lines.append(
                f"  k = {d.k}: {d.events} ruptures; clients with a rupture {c.estimate:.1%} "
                f"[{c.ci_low:.1%}, {c.ci_high:.1%}]; repaired {r.estimate:.1%} "
                f"[{r.ci_low:.1%}, {r.ci_high:.1%}]"
            )
            for g in d.adjusted_means:
                t = g.change
                lines.append(
                    f"    {g.group:<11} n = {g.n:<6} change {t.estimate:7.2f} "
                    f"[{t.ci_low:.2f}, {t.ci_high:.2f}]"
                )
            lines.append(
                f"    resolution r = {d.resolution_r:.3f} "
                f"[{d.resolution_ci_low:.3f}, {d.resolution_ci_high:.3f}] (n = {d.resolution_n}); "
                f"{self.published.label}: r = {self.published.estimate:.2f}"
            )
        return "\n".join(lines)


def _proportion(term: str, count: int, n: int, level: float, who: str) -> Proportion:
    low, high = wilson_interval(count, n, level)
    return Proportion(term, count, n, count / n if n else float("nan"), low, high, who)


def client_codes(events: pd.DataFrame, client_ids: pd.Series) -> pd.Series:
    """Client-level code from rupture events: unrepaired > repaired > open > none.

    Follows the feedback engine's client code (McLaughlin et al., 2014): a client with any
    unrepaired rupture is ``unrepaired``, else ``repaired`` when one was repaired, else
    ``open`` while a rupture is inside its repair window, else ``none``.
    """
    status = events[["client_id", "status"]].astype(str)
    flags = pd.crosstab(status["client_id"], status["status"]).reindex(
        columns=["unrepaired", "repaired", "open"], fill_value=0
    )
    flags = flags.reindex(client_ids.astype(str).to_numpy(), fill_value=0)
    code = np.where(
        flags["unrepaired"] > 0,
        "unrepaired",
        np.where(flags["repaired"] > 0, "repaired", np.where(flags["open"] > 0, "open", "none")),
    )
    return pd.Series(code, index=client_ids.index)


def _detector_result(
    k: int,
    events: pd.DataFrame,
    clients: pd.DataFrame,
    n_at_risk: int,
    sign: float,
    cov_type: CovType,
    level: float,
) -> RuptureDetectorResult:
    codes = client_codes(events, clients["client_id"])
    status = events["status"].astype(str)
    n_closed = int(status.isin(["repaired", "unrepaired"]).sum())
    n_repaired = int((status == "repaired").sum())
    with_rupture = int(events["client_id"].astype(str).nunique())
    counts = tuple((g, int((codes == g).sum())) for g in (*GROUPS, "open"))
    keep = codes.isin(GROUPS).to_numpy() & clients["change"].notna().to_numpy()
    # A group of one client would be fitted exactly (leverage 1); such clients are left out.
    sizes = pd.Series(codes[keep]).value_counts()
    keep &= codes.map(lambda c: sizes.get(c, 0) >= 2).to_numpy(bool)
    data = clients.loc[keep]
    code = codes[keep].to_numpy()
    n = len(data)
    present = [g for g in GROUPS[1:] if int((code == g).sum()) > 0]
    if n < 10 or int((code == "none").sum()) == 0:
        raise InputError(
            f"k = {k}: too few clients ({n}) or none without a rupture to compare outcomes"
        )
    x_cols = [np.ones(n), data["intake"].to_numpy(np.float64)]
    names = ["(Intercept)", "intake"]
    for g in present:
        x_cols.append((code == g).astype(np.float64))
        names.append(g)
    x = np.column_stack(x_cols)
    fit = fit_ols(x, data["change"].to_numpy(np.float64), names, cov_type=cov_type)
    terms = fit_terms(fit, level)
    mean_intake = float(data["intake"].mean())
    means = []
    for g in GROUPS:
        if g != "none" and g not in present:
            continue
        c = np.zeros(len(names))
        c[0], c[1] = 1.0, mean_intake
        if g != "none":
            c[names.index(g)] = 1.0
        est = float(c @ fit.coef)
        se = float(np.sqrt(c @ fit.cov @ c))
        means.append(
            GroupMean(g, int((code == g).sum()), make_term(g, est, se, fit.df_resid, level))
        )
    # Resolution - outcome correlation among clients with closed ruptures, controlling intake.
    sub = np.isin(code, ["repaired", "unrepaired"])
    r = low = high = float("nan")
    n_sub = int(sub.sum())
    if n_sub >= 10 and len(set(code[sub])) == 2:
        rep = (code[sub] == "repaired").astype(np.float64)
        intake = data["intake"].to_numpy(np.float64)[sub]
        improvement = sign * data["change"].to_numpy(np.float64)[sub]
        xr = np.column_stack([np.ones(n_sub), intake])
        res_a = rep - xr @ np.linalg.lstsq(xr, rep, rcond=None)[0]
        res_y = improvement - xr @ np.linalg.lstsq(xr, improvement, rcond=None)[0]
        denom = float(np.sqrt((res_a @ res_a) * (res_y @ res_y)))
        if denom > 0:
            r = float(res_a @ res_y) / denom
            low, high = fisher_interval(r, n_sub - 1, level)
    return RuptureDetectorResult(
        k=k,
        detector=f"sd_k{k}",
        events=int(len(events)),
        clients_with_rupture=_proportion(
            "clients_with_rupture", with_rupture, len(clients), level, "all clients"
        ),
        sessions_with_onset=_proportion(
            "sessions_with_onset", int(len(events)), n_at_risk, level, "sessions from session 2"
        ),
        repair_rate=_proportion(
            "repair_rate", n_repaired, n_closed, level, "ruptures repaired or unrepaired"
        ),
        group_counts=counts,
        coefficients=terms,
        adjusted_means=tuple(means),
        resolution_r=r,
        resolution_ci_low=low,
        resolution_ci_high=high,
        resolution_n=n_sub,
        n=n,
    )


def fit_rupture_outcomes(
    scores: pd.DataFrame,
    *,
    alliance: str,
    outcome: str,
    ks: Sequence[int] = (1, 2),
    cov_type: CovType = "HC3",
    level: float = 0.95,
) -> RuptureOutcomeResult:
    """Rupture rates at k = 1 and k = 2 and outcome change by repair status.

    Parameters
    ----------
    scores:
        Wide session scores.
    alliance:
        Alliance score column of a registered instrument (``sac_total``, ``wai_sr_total``,
        or a subscale such as ``sac_bond``).
    outcome:
        Outcome score column.
    ks:
        Detector thresholds in within-client SDs (the feedback engine's ``sd_k1`` and
        ``sd_k2``).
    cov_type:
        Covariance type of the OLS standard errors (default HC3).
    level:
        Confidence level.

    Returns
    -------
    RuptureOutcomeResult

    Raises
    ------
    InputError
        The alliance column is not a registered instrument scale, columns are missing, or
        too few clients to compare.

    Notes
    -----
    Ruptures and their repair come from :func:`bordin.feedback.detect_ruptures` with the
    ``sd_k1`` / ``sd_k2`` detectors: a drop of at least k within-client standard deviations,
    repaired when the alliance returns to its pre-rupture level within the repair window
    (Stiles et al., 2004; Eubanks et al., 2018). Each client gets one code (any unrepaired >
    any repaired > none; clients whose last rupture is still open are left out of the
    outcome model). The model is :math:`\\Delta y_i = \\beta_0 + \\beta_1 y_{i0} +
    \\beta_2 R_i + \\beta_3 U_i + \\varepsilon_i` with HC3 standard errors; the adjusted
    means are predictions at the mean intake. The resolution correlation is the partial
    correlation of :math:`R_i` (repaired vs unrepaired) with improvement given intake, the
    quantity Eubanks et al. (2018) pooled (r = .29).

    Validation
    ----------
    The OLS and HC3 machinery is the one checked against R's ``lm`` and
    ``sandwich::vcovHC`` (``tests/reference/data/report/ols_hc_mtcars.json``, 1e-9); the
    grouping is checked against the feedback engine's per-client codes in
    ``tests/unit/analytics/test_report_rupture_outcomes.py``.

    References
    ----------
    Eubanks, C. F., Muran, J. C., & Safran, J. D. (2018). Alliance rupture repair: a
    meta-analysis. *Psychotherapy*, 55(4), 508-519. https://doi.org/10.1037/pst0000185
    Stiles, W. B., et al. (2004). Patterns of alliance development and the rupture-repair
    hypothesis. *Journal of Counseling Psychology*, 51(1), 81-92.
    https://doi.org/10.1037/0022-0167.51.1.81

    Examples
    --------
    >>> from bordin.simulate import SimulationConfig, simulate_clinic
    >>> clinic = simulate_clinic(SimulationConfig(n_clients=300), seed=2)
    >>> res = fit_rupture_outcomes(clinic.scores, alliance="sac_total", outcome="phq9_total")
    >>> [d.k for d in res.detectors]
    [1, 2]
    """
    from bordin.feedback import detect_ruptures

    found = scale_of_column(alliance)
    if found is None:
        raise InputError(
            "rupture detection needs a registered alliance instrument scale", column=alliance
        )
    instrument, scale = found
    clients = client_table(scores, alliance=alliance, outcome=outcome)
    n_at_risk = int((scores["session"] >= 2).sum())
    sign = -1.0 if higher_is_worse(outcome) else 1.0
    results = []
    for k in ks:
        events = detect_ruptures(
            scores,
            alliance=instrument,
            detector=f"sd_k{k}",  # type: ignore[arg-type]
            scale=scale,
        )
        results.append(_detector_result(k, events, clients, n_at_risk, sign, cov_type, level))
    return RuptureOutcomeResult(
        alliance=alliance,
        outcome=outcome,
        detectors=tuple(results),
        published=EUBANKS_2018,
        cov_type=cov_type,
        level=level,
    )
