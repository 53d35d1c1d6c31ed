"""Outcome summary of a clinic: reliable improvement, deterioration, recovery and dropout."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bordin.analytics._clients import check_columns, client_table, scale_of_column
from bordin.analytics._ols import TermEstimate, make_term
from bordin.errors import InputError

__all__ = ["OutcomeSummaryResult", "Proportion", "summarise_outcomes", "wilson_interval"]


@dataclass(frozen=True)
class Proportion:
    """A rate with its Wilson score interval.

    Attributes
    ----------
    term:
        What is counted (``reliable_improvement``, ``no_reliable_change``,
        ``reliable_deterioration``, ``recovery``, ``dropout``).
    count:
        Clients with the event.
    n:
        Clients in the denominator (see ``denominator``).
    estimate:
        ``count / n``.
    ci_low, ci_high:
        Wilson score interval at the result's level (no continuity correction).
    denominator:
        Who is counted in ``n``, in words.
    """

    term: str
    count: int
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    denominator: str


@dataclass(frozen=True)
class OutcomeSummaryResult:
    """Pre-post outcome of every client, summarised.

    Attributes
    ----------
    outcome:
        Score column (for example ``phq9_total``).
    instrument, scale:
        The instrument scale the column was matched to in the registry.
    threshold:
        Reliable change threshold in score points; ``threshold_source`` cites it.
    threshold_source:
        Where the threshold comes from.
    cutoff:
        Clinical cutoff (``nan`` when the scale has none); ``cutoff_source`` cites it.
    cutoff_source:
        Where the cutoff comes from (empty without one).
    rates:
        Reliable improvement, no reliable change, reliable deterioration (of clients with
        an intake and a later score), recovery (of those in the clinical range at intake)
        and dropout (of all clients), each with a Wilson interval.
    mean_change:
        Mean change (last - intake) with its t interval.
    mean_intake, mean_last:
        Mean outcome at intake and at the last session of the clients with both.
    n_clients:
        All clients in the scores.
    n_with_change:
        Clients with an intake and at least one later score.
    dropout_rule:
        How dropout was determined.
    level:
        Confidence level.
    """

    outcome: str
    instrument: str
    scale: str
    threshold: float
    threshold_source: str
    cutoff: float
    cutoff_source: str
    rates: tuple[Proportion, ...]
    mean_change: TermEstimate
    mean_intake: float
    mean_last: float
    n_clients: int
    n_with_change: int
    dropout_rule: str
    level: float

    def rate(self, term: str) -> Proportion:
        """One of the rates by name."""
        for r in self.rates:
            if r.term == term:
                return r
        raise KeyError(term)

    def to_frame(self) -> pd.DataFrame:
        """One row per rate, then the mean change."""
        rows: list[dict[str, object]] = [
            {
                "term": r.term,
                "estimate": r.estimate,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "n": r.n,
                "k": r.count,
                "level": self.level,
                "group": "rate",
                "method": f"Wilson score interval; denominator: {r.denominator}",
            }
            for r in self.rates
        ]
        m = self.mean_change
        rows.append(
            {
                "term": "mean_change",
                "estimate": m.estimate,
                "se": m.se,
                "ci_low": m.ci_low,
                "ci_high": m.ci_high,
                "statistic": m.statistic,
                "p_value": m.p_value,
                "df": m.df,
                "n": self.n_with_change,
                "level": self.level,
                "group": "change",
                "method": "mean of last - intake, t interval",
            }
        )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A plain-text summary for the terminal."""
        lines = [
            f"Outcomes on {self.outcome}: {self.n_with_change} of {self.n_clients} clients "
            f"with intake and later scores; reliable change >= {self.threshold:.3g} points",
        ]
        for r in self.rates:
            lines.append(
                f"  {r.term:<24} {r.count:>6} / {r.n:<6} {r.estimate:6.1%} "
                f"[{r.ci_low:.1%}, {r.ci_high:.1%}]"
            )
        m = self.mean_change
        lines.append(f"  mean change {m.estimate:.3g} [{m.ci_low:.3g}, {m.ci_high:.3g}]")
        return "\n".join(lines)


def wilson_interval(count: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion, without continuity correction.

    Notes
    -----
    :math:`\\frac{\\hat p + z^2/2n \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/4n^2}}{1 + z^2/n}`
    (Wilson, 1927). Equals R's ``prop.test(count, n, correct = FALSE)$conf.int``.

    Validation
    ----------
    R 4.2.2 ``prop.test(x, n, correct = FALSE)``; reference file
    ``tests/reference/data/report/wilson.json``; tolerance 1e-9.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *JASA*, 22(158), 209-212. https://doi.org/10.1080/01621459.1927.10502953
    """
    from scipy import stats

    if n <= 0:
        return float("nan"), float("nan")
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    p = count / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    low = 0.0 if count == 0 else max(0.0, centre - half)
    high = 1.0 if count == n else min(1.0, centre + half)
    return float(low), float(high)


def _proportion(
    term: str, mask: np.ndarray, within: np.ndarray, level: float, who: str
) -> Proportion:
    n = int(within.sum())
    count = int((mask & within).sum())
    low, high = wilson_interval(count, n, level)
    return Proportion(
        term=term,
        count=count,
        n=n,
        estimate=count / n if n else float("nan"),
        ci_low=low,
        ci_high=high,
        denominator=who,
    )


def _dropout(
    scores: pd.DataFrame,
    clients: pd.DataFrame,
    *,
    dropout: str | None,
    as_of: dt.date | None,
    dropout_weeks: int,
    ended: Collection[Any] | None,
    dropped_out: Collection[Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Dropout by the clinic-figures definition: the flag, who is counted, and the rule."""
    from bordin.analytics.clinic_figures import classify_clients, endings_recorded

    check_columns(scores, [])
    states = classify_clients(
        scores,
        as_of=as_of,
        dropout_weeks=dropout_weeks,
        ended=ended,
        dropout=dropout,
        dropped_out=dropped_out,
    ).set_index("client_id")["state"]
    state = states.reindex(clients["client_id"].astype(str)).astype(str).to_numpy()
    drop = state == "dropout"
    known = np.ones(len(state), bool) if dropout is not None else state != "unknown"
    rule = (
        f"no session for {dropout_weeks} weeks before "
        f"{as_of.isoformat() if as_of else 'the latest session date'} and treatment "
        "not ended as planned; clients still in treatment are never counted"
    )
    if dropout is not None:
        rule = f"marked in column {dropout!r}, or {rule}"
    if not endings_recorded(ended, dropout, dropped_out):
        # an inactive client may have finished as planned: no client's ending is known
        known = np.zeros(len(state), bool)
        rule = (
            "not known: the data record no endings (give a column marking dropouts), so a "
            f"client with no session for {dropout_weeks} weeks may have finished as planned"
        )
    return drop, known, rule


def summarise_outcomes(
    scores: pd.DataFrame,
    *,
    outcome: str,
    dropout: str | None = None,
    as_of: dt.date | None = None,
    dropout_weeks: int = 8,
    ended: Collection[Any] | None = None,
    level: float = 0.95,
    dropped_out: Collection[Any] | None = None,
) -> OutcomeSummaryResult:
    """Reliable improvement, deterioration and recovery rates, and dropout, of a clinic.

    Parameters
    ----------
    scores:
        Wide session scores (``client_id, therapist_id, session`` and the outcome column).
    outcome:
        Score column of a registered instrument scale (``phq9_total``, ``gad7_total``).
    dropout, as_of, dropout_weeks, ended, dropped_out:
        Dropout as the clinic figures define it
        (:func:`bordin.analytics.clinic_figures.classify_clients`): marked in the optional
        ``dropout`` column or listed in ``dropped_out`` (endings recorded as dropout), or no
        session for ``dropout_weeks`` weeks before ``as_of``
        (default: the latest ``date`` in the scores) without an ending as planned (clients in
        ``ended``). A client still in treatment is never a dropout, and without dates or a
        ``dropout`` column no client can be classified (the rate is then n/a); nor when the
        data record no endings (``ended`` None and no ``dropout`` column): an inactive client
        may have finished as planned. Definitions of dropout vary (Swift & Greenberg, 2012).
    level:
        Confidence level.

    Returns
    -------
    OutcomeSummaryResult

    Raises
    ------
    InputError
        The outcome column is not a registered instrument scale, or columns are missing.
    InstrumentError
        The scale has no reliable change threshold.

    Notes
    -----
    Each client's intake (first scored session) and last scored session are compared with
    :func:`bordin.scoring.reliable_change`: a change of at least the scale's reliable change
    threshold is reliable, and recovery is a reliable improvement from the clinical range at
    intake to below the cutoff (Jacobson & Truax, 1991). Rates carry Wilson intervals.

    Validation
    ----------
    Wilson intervals against R 4.2.2 ``prop.test(x, n, correct = FALSE)`` (reference file
    ``tests/reference/data/report/wilson.json``, tolerance 1e-9). Category counts are
    checked against per-client classification in
    ``tests/unit/analytics/test_report_outcome_summary.py``.

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach to
    defining meaningful change in psychotherapy research. *Journal of Consulting and
    Clinical Psychology*, 59(1), 12-19. https://doi.org/10.1037/0022-006X.59.1.12
    Swift, J. K., & Greenberg, R. P. (2012). Premature discontinuation in adult
    psychotherapy: a meta-analysis. *Journal of Consulting and Clinical Psychology*, 80(4),
    547-559. https://doi.org/10.1037/a0028226

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"client_id": ["a", "a", "b", "b"], "therapist_id": "t1",
    ...                        "session": [1, 2, 1, 2], "phq9_total": [18, 8, 12, 13]})
    >>> res = summarise_outcomes(scores, outcome="phq9_total")
    >>> res.rate("reliable_improvement").count, res.rate("recovery").count
    (1, 1)
    """
    from bordin.instruments import get_instrument
    from bordin.scoring import reliable_change

    found = scale_of_column(outcome)
    if found is None:
        raise InputError(
            "not a registered instrument scale, so no reliable change threshold is known",
            column=outcome,
        )
    instrument, scale = found
    check_columns(scores, [outcome])
    clients = client_table(scores, alliance=None, outcome=outcome)
    rc = reliable_change(
        clients["intake"].to_numpy(np.float64),
        clients["last"].to_numpy(np.float64),
        instrument=instrument,
        scale=scale,
    )
    valid = rc.valid & (clients["n_outcome"].to_numpy() >= 2)
    category = np.asarray([str(c) if c is not None else "" for c in rc.category])
    rates = [
        _proportion(
            name,
            category == name,
            valid,
            level,
            "clients with an intake and a later score",
        )
        for name in ("reliable_improvement", "no_reliable_change", "reliable_deterioration")
    ]
    spec = get_instrument(instrument).scale(scale)
    cutoff_value = float("nan")
    cutoff_source = ""
    if spec.cutoff is not None:
        from bordin.scoring import is_case

        case = is_case(clients["intake"].to_numpy(np.float64), instrument=instrument, scale=scale)
        rates.append(
            _proportion(
                "recovery",
                np.asarray(rc.recovered, dtype=bool),
                valid & case.case,
                level,
                "clients in the clinical range at intake with a later score",
            )
        )
        cutoff_value = float(spec.cutoff.value)
        cutoff_source = spec.cutoff.source
    drop, known, rule = _dropout(
        scores,
        clients,
        dropout=dropout,
        as_of=as_of,
        dropout_weeks=dropout_weeks,
        ended=ended,
        dropped_out=dropped_out,
    )
    rates.append(
        _proportion("dropout", drop, known, level, "clients whose treatment state is known")
    )
    change = clients["change"].to_numpy(np.float64)[valid]
    if len(change) >= 2:
        mean_change = make_term(
            "mean_change",
            float(change.mean()),
            float(change.std(ddof=1) / np.sqrt(len(change))),
            float(len(change) - 1),
            level,
        )
    else:
        nan = float("nan")
        mean_change = TermEstimate("mean_change", nan, nan, nan, nan, nan, nan, nan)
    return OutcomeSummaryResult(
        outcome=outcome,
        instrument=instrument,
        scale=scale,
        threshold=float(rc.threshold.value),
        threshold_source=rc.threshold.source,
        cutoff=cutoff_value,
        cutoff_source=cutoff_source,
        rates=tuple(rates),
        mean_change=mean_change,
        mean_intake=float(clients["intake"].to_numpy(np.float64)[valid].mean())
        if valid.any()
        else float("nan"),
        mean_last=float(clients["last"].to_numpy(np.float64)[valid].mean())
        if valid.any()
        else float("nan"),
        n_clients=int(len(clients)),
        n_with_change=int(valid.sum()),
        dropout_rule=rule,
        level=level,
    )
