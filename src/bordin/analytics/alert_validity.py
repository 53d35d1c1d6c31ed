"""How many clients carry an alert in a week, and how well each alert predicts the outcome.

Three steps, each a pure function of the feedback engine's per-session output:

* :func:`session_alerts`: for every client and session, which alert kinds the dashboard
  would show if that session were the client's latest (the rules of
  :mod:`bordin.feedback.alerts` under a :class:`~bordin.feedback.FeedbackConfig`, applied
  column-wise to ``FeedbackResult.sessions``), plus two comparison rules.
* :func:`weekly_alert_burden`: for every calendar week, the share of the clients in
  treatment that week who carry at least one alert at the week's end (their latest session
  on or before it).
* :func:`alert_validity`: for each alert kind, whether it was raised at any session before the
  client's last one, scored against an end-of-treatment outcome (sensitivity, specificity,
  positive predictive value).

The per-session signals of the engine use only sessions up to that one (docs/feedback.md,
"No look-ahead"), and a rupture's repair status is known as of each session from its
``status_session``; so with fixed clinic norms the alerts a client carries at a week's end
equal those of the engine run on the data up to that week (a test recomputes it).

References
----------
Hannan, C., Lambert, M. J., Harmon, C., Nielsen, S. L., Smart, D. W., Shimokawa, K., &
Sutton, S. W. (2005). A lab test and algorithms for identifying clients at risk for treatment
failure. *Journal of Clinical Psychology, 61*(2), 155-163. doi:10.1002/jclp.20108

Lambert, M. J., Whipple, J. L., & Kleinstäuber, M. (2018). Collecting and delivering progress
feedback: A meta-analysis of routine outcome monitoring. *Psychotherapy, 55*(4), 520-537.
doi:10.1037/pst0000167

Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to
defining meaningful change in psychotherapy research. *Journal of Consulting and Clinical
Psychology, 59*(1), 12-19. doi:10.1037/0022-006X.59.1.12
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from bordin.analytics.outcome_summary import wilson_interval
from bordin.errors import InputError

if TYPE_CHECKING:  # the feedback package (and numba) loads when the rules are first applied
    from bordin.feedback.config import FeedbackConfig

__all__ = [
    "ALERT_RULES",
    "AlertBurdenResult",
    "AlertValidityResult",
    "COMPARISON_RULES",
    "alert_validity",
    "classification_counts",
    "end_of_treatment_outcomes",
    "session_alerts",
    "weekly_alert_burden",
]

#: Alert kinds as the dashboard shows them (not on track split by colour), then "any".
ALERT_RULES: Final = (
    "risk",
    "not_on_track_red",
    "not_on_track_yellow",
    "rupture_unrepaired",
    "reliable_deterioration",
    "rupture_open",
    "weak_early_alliance",
    "uninformative_ratings",
    "any_alert",
)
#: Rules to compare with, on the primary outcome only: OQ-style (not on track, red or yellow;
#: Lambert et al., 2018) and plain reliable deterioration from intake (Jacobson & Truax, 1991).
COMPARISON_RULES: Final = ("oq_style", "reliable_change")


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    for col in columns:
        if col not in frame.columns:
            raise InputError(f"{what}: required column is missing", column=col)


def session_alerts(
    sessions: pd.DataFrame,
    ruptures: pd.DataFrame,
    *,
    outcomes: Sequence[str],
    primary: str | None = None,
    config: FeedbackConfig | None = None,
) -> pd.DataFrame:
    """The alerts each client would carry if each session were their latest.

    Parameters
    ----------
    sessions
        ``FeedbackResult.sessions``: one row per client and session with the engine's
        signals (``risk``, ``weak_early_alliance``, ``uninformative`` and, per outcome,
        ``<outcome>_colour`` and ``<outcome>_status``).
    ruptures
        ``FeedbackResult.ruptures``; only the leading detector
        (``config.rupture_detector``) on the alliance total raises alerts, so other rows
        are ignored when ``detector`` and ``scale`` columns exist.
    outcomes
        Outcome instruments whose not-on-track colour and status raise alerts.
    primary
        Outcome of the comparison rules (default: the first of ``outcomes``).
    config
        The feedback configuration whose alert rules apply (default ``FeedbackConfig()``,
        the product's defaults): ``yellow_alert`` (whether yellow counts towards
        ``any_alert``), ``unrepaired_alert_sessions`` and ``early_alert_sessions`` (with
        ``early_session``). The same rules decide the engine's alerts
        (:func:`bordin.feedback.alerts.alerted_colours`, ``unrepaired_shown``,
        ``early_alliance_shown``).

    Returns
    -------
    pandas.DataFrame
        ``client_id``, ``session`` and one boolean column per name of :data:`ALERT_RULES`
        and :data:`COMPARISON_RULES`, in the row order of ``sessions``.
        ``not_on_track_yellow`` marks the yellow colour whether or not it is an alert.

    Raises
    ------
    InputError
        A column the rules need is missing, or ``outcomes`` is empty.

    Notes
    -----
    A rupture with onset *o* and status decided at session *d* (repaired or unrepaired) is
    open at sessions *o* <= *s* < *d*, and shows as unrepaired at *d* <= *s* < *d* +
    ``unrepaired_alert_sessions`` if it was not repaired; a rupture still open at the end
    stays open. The rupture's onset and its decision use no later session, so this is its
    status as the engine would have reported it at session *s*.
    """
    from bordin.feedback.alerts import alerted_colours, early_alliance_shown
    from bordin.feedback.config import FeedbackConfig

    config = FeedbackConfig() if config is None else config
    if not outcomes:
        raise InputError("session_alerts needs at least one outcome")
    primary = outcomes[0] if primary is None else primary
    needed = ["client_id", "session", "risk", "weak_early_alliance", "uninformative"]
    for oid in dict.fromkeys((*outcomes, primary)):
        needed += [f"{oid}_colour", f"{oid}_status"]
    _require(sessions, needed, "sessions")
    _require(ruptures, ["client_id", "onset", "status", "status_session"], "ruptures")

    out = pd.DataFrame(
        {"client_id": sessions["client_id"].to_numpy(), "session": sessions["session"].to_numpy()}
    )
    session = out["session"].to_numpy(dtype=np.int64)
    n = len(out)
    red = np.zeros(n, dtype=bool)
    yellow = np.zeros(n, dtype=bool)
    deteriorated = np.zeros(n, dtype=bool)
    for oid in outcomes:
        colour = sessions[f"{oid}_colour"].astype(object).to_numpy()
        red |= colour == "red"
        yellow |= colour == "yellow"
        deteriorated |= (
            sessions[f"{oid}_status"].astype(object).to_numpy() == "reliably_deteriorated"
        )

    opened, unrepaired = _rupture_flags(out, ruptures, config)
    out["risk"] = sessions["risk"].to_numpy(dtype=bool)
    out["not_on_track_red"] = red
    out["not_on_track_yellow"] = yellow
    out["rupture_unrepaired"] = unrepaired
    out["reliable_deterioration"] = deteriorated
    out["rupture_open"] = opened
    out["weak_early_alliance"] = early_alliance_shown(
        sessions["weak_early_alliance"].to_numpy(dtype=bool), session, config
    )
    out["uninformative_ratings"] = sessions["uninformative"].to_numpy(dtype=bool)
    yellow_counts = "yellow" in alerted_colours(config)
    counted = [k for k in ALERT_RULES[:-1] if yellow_counts or k != "not_on_track_yellow"]
    out["any_alert"] = out[counted].to_numpy().any(axis=1)
    colour = sessions[f"{primary}_colour"].astype(object).to_numpy()
    out["oq_style"] = (colour == "red") | (colour == "yellow")
    status = sessions[f"{primary}_status"].astype(object).to_numpy()
    out["reliable_change"] = status == "reliably_deteriorated"
    return out


def _rupture_flags(
    out: pd.DataFrame, ruptures: pd.DataFrame, config: FeedbackConfig
) -> tuple[np.ndarray, np.ndarray]:
    from bordin.feedback.alerts import unrepaired_shown

    events = ruptures
    if "detector" in events.columns and "scale" in events.columns:
        keep = (events["detector"].astype(str) == config.rupture_detector) & (
            events["scale"].astype(str) == "total"
        )
        events = events.loc[keep]
    n = len(out)
    if not len(events):
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    status = events["status"].astype(str).to_numpy()
    decided = np.where(
        status == "open", np.iinfo(np.int64).max, events["status_session"].to_numpy(dtype=np.int64)
    )
    ev = pd.DataFrame(
        {
            "client_id": events["client_id"].to_numpy(),
            "onset": events["onset"].to_numpy(dtype=np.int64),
            "decided": decided,
            "unrepaired": status == "unrepaired",
        }
    )
    rows = out[["client_id", "session"]].reset_index(drop=True).rename_axis("row").reset_index()
    pairs = rows.merge(ev, on="client_id", how="inner")
    s = pairs["session"].to_numpy(dtype=np.int64)
    onset, dec = pairs["onset"].to_numpy(), pairs["decided"].to_numpy()
    is_open = (onset <= s) & (s < dec)
    is_unrepaired = pairs["unrepaired"].to_numpy() & unrepaired_shown(s, dec, config)
    row = pairs["row"].to_numpy()
    opened = np.zeros(n, dtype=bool)
    unrepaired = np.zeros(n, dtype=bool)
    opened[row[is_open]] = True
    unrepaired[row[is_unrepaired]] = True
    return opened, unrepaired


@dataclass(frozen=True)
class AlertBurdenResult:
    """Share of the clients in treatment each week who carry an alert at the week's end.

    Attributes
    ----------
    weeks
        One row per week: ``week_end`` (a Sunday), ``n_active`` (clients whose first session
        is on or before the week's end and whose last is on or after its start) and, per
        rule, the share of them carrying it (``share_<rule>``).
    rules
        The rules counted (columns of the alert frame).
    steady_weeks
        Weeks in the steady state: at least ``min_active_fraction`` of the largest number of
        active clients (the clinic's ramp-up and run-down weeks are left out).
    min_active_fraction
        The fraction that defines ``steady_weeks``.
    """

    weeks: pd.DataFrame
    rules: tuple[str, ...]
    steady_weeks: int
    min_active_fraction: float

    def to_frame(self) -> pd.DataFrame:
        """Per rule: median (``estimate``) and quartiles of the weekly share over steady weeks."""
        steady = self.weeks.loc[self.weeks["steady"]]
        rows = []
        for rule in self.rules:
            share = steady[f"share_{rule}"].to_numpy(dtype=float)
            rows.append(
                {
                    "term": rule,
                    "estimate": float(np.median(share)) if share.size else np.nan,
                    "q25": float(np.percentile(share, 25)) if share.size else np.nan,
                    "q75": float(np.percentile(share, 75)) if share.size else np.nan,
                    "k": int(share.size),
                }
            )
        return pd.DataFrame(rows)

    def typical(self, rule: str = "any_alert") -> float:
        """Median weekly share of active clients carrying ``rule`` over the steady weeks."""
        frame = self.to_frame().set_index("term")
        return float(frame.loc[rule, "estimate"])

    def summary(self) -> str:
        """The typical week, as text."""
        steady = self.weeks.loc[self.weeks["steady"], "n_active"]
        lines = [
            f"Weekly alert burden over {self.steady_weeks} steady weeks "
            f"({int(steady.min()) if len(steady) else 0}-{int(steady.max()) if len(steady) else 0} "
            "active clients a week)"
        ]
        for _, row in self.to_frame().iterrows():
            lines.append(
                f"  {row['term']:<24} {row['estimate']:6.1%}  "
                f"(IQR {row['q25']:.1%} to {row['q75']:.1%})"
            )
        return "\n".join(lines)


def weekly_alert_burden(
    alerts: pd.DataFrame,
    dates: pd.DataFrame,
    *,
    rules: Sequence[str] = ALERT_RULES,
    min_active_fraction: float = 0.5,
) -> AlertBurdenResult:
    """Share of active clients carrying each alert at the end of each calendar week.

    Parameters
    ----------
    alerts
        :func:`session_alerts`' frame (``client_id``, ``session`` and boolean rule columns).
    dates
        ``client_id``, ``session``, ``date`` of every session (the session scores).
    rules
        Rule columns to count.
    min_active_fraction
        Weeks with at least this fraction of the largest weekly number of active clients are
        the steady state summarised by :meth:`AlertBurdenResult.to_frame`.

    Returns
    -------
    AlertBurdenResult

    Raises
    ------
    InputError
        A column is missing, a session has no date, or ``min_active_fraction`` is not in
        (0, 1].

    Notes
    -----
    Weeks run Monday to Sunday. A client is active in a week when their first session is on
    or before its Sunday and their last session on or after its Monday; at the Sunday they
    carry the alerts of their latest session on or before it (a therapist opening the
    dashboard then sees those). No session after the Sunday is used.
    """
    if not 0 < min_active_fraction <= 1:
        raise InputError("min_active_fraction must be in (0, 1]")
    _require(alerts, ["client_id", "session", *rules], "alerts")
    _require(dates, ["client_id", "session", "date"], "dates")
    frame = alerts[["client_id", "session", *rules]].merge(
        dates[["client_id", "session", "date"]], on=["client_id", "session"], how="left"
    )
    frame["date"] = pd.to_datetime(frame["date"])
    if frame["date"].isna().any():
        row = int(np.flatnonzero(frame["date"].isna().to_numpy())[0])
        raise InputError(
            f"no date for client {frame['client_id'].iloc[row]} session "
            f"{frame['session'].iloc[row]}",
            column="date",
        )
    date = frame["date"].dt.normalize()
    frame["week_end"] = date + pd.to_timedelta(6 - date.dt.day_of_week, unit="D")
    span = frame.groupby("client_id", sort=False)["week_end"].agg(["min", "max"])
    n_weeks = ((span["max"] - span["min"]).dt.days // 7 + 1).to_numpy()
    grid = pd.DataFrame(
        {
            "client_id": np.repeat(span.index.to_numpy(), n_weeks),
            "week_end": np.repeat(span["min"].to_numpy(), n_weeks)
            + pd.to_timedelta(
                7 * np.concatenate([np.arange(k) for k in n_weeks]) if len(n_weeks) else [],
                unit="D",
            ),
        }
    )
    grid["week_end"] = grid["week_end"] + pd.Timedelta(hours=23, minutes=59)
    state = pd.merge_asof(
        grid.sort_values("week_end"),
        frame.sort_values("date")[["client_id", "date", *rules]],
        left_on="week_end",
        right_on="date",
        by="client_id",
        direction="backward",
    )
    state["week_end"] = state["week_end"].dt.normalize()
    grouped = state.groupby("week_end", sort=True)
    weeks = grouped.size().rename("n_active").to_frame()
    for rule in rules:
        weeks[f"share_{rule}"] = grouped[rule].mean().astype(float)
    weeks = weeks.reset_index()
    weeks["steady"] = weeks["n_active"] >= min_active_fraction * weeks["n_active"].max()
    return AlertBurdenResult(
        weeks=weeks,
        rules=tuple(rules),
        steady_weeks=int(weeks["steady"].sum()),
        min_active_fraction=min_active_fraction,
    )


def classification_counts(flagged: np.ndarray, outcome: np.ndarray) -> dict[str, float]:
    """Two-by-two counts and the rates of a flag against an outcome.

    Parameters
    ----------
    flagged, outcome
        Boolean arrays of the same length (one element per client).

    Returns
    -------
    dict
        ``n``, ``n_flagged``, ``n_outcome``, ``tp``, ``fp``, ``fn``, ``tn``,
        ``flagged_share`` (n_flagged / n), ``sensitivity`` (tp / (tp + fn)), ``specificity``
        (tn / (tn + fp)) and ``ppv`` (tp / (tp + fp)); a rate with an empty denominator
        is NaN.

    Raises
    ------
    InputError
        The arrays differ in length.
    """
    flagged = np.asarray(flagged, dtype=bool)
    outcome = np.asarray(outcome, dtype=bool)
    if flagged.shape != outcome.shape:
        raise InputError(f"flag and outcome differ in length ({flagged.size} vs {outcome.size})")
    tp = int(np.sum(flagged & outcome))
    fp = int(np.sum(flagged & ~outcome))
    fn = int(np.sum(~flagged & outcome))
    tn = int(np.sum(~flagged & ~outcome))

    def rate(num: int, den: int) -> float:
        return num / den if den else float("nan")

    n = flagged.size
    return {
        "n": n,
        "n_flagged": tp + fp,
        "n_outcome": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "flagged_share": rate(tp + fp, n),
        "sensitivity": rate(tp, tp + fn),
        "specificity": rate(tn, tn + fp),
        "ppv": rate(tp, tp + fp),
    }


@dataclass(frozen=True)
class AlertValidityResult:
    """Each rule, raised at any session before the client's last, against end outcomes.

    Attributes
    ----------
    table
        One row per rule and outcome: ``term`` (rule), ``outcome``, the counts and rates of
        :func:`classification_counts`, and Wilson 95% intervals of the sensitivity
        (``sensitivity_low``, ``sensitivity_high``).
    n_clients
        Clients scored (those with at least two sessions and a known outcome).
    """

    table: pd.DataFrame
    n_clients: int

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy)."""
        return self.table.copy()

    def get(self, rule: str, outcome: str, column: str) -> float:
        """One value of the table."""
        row = self.table.loc[(self.table["term"] == rule) & (self.table["outcome"] == outcome)]
        if row.empty:
            raise InputError(f"no row for rule {rule!r} and outcome {outcome!r}")
        return float(row[column].iloc[0])

    def summary(self) -> str:
        """The table, as text."""
        lines = [f"Alert validity on {self.n_clients} clients (alert before the last session)"]
        for _, r in self.table.iterrows():
            lines.append(
                f"  {r['term']:<24} {r['outcome']:<26} flagged {r['flagged_share']:6.1%}  "
                f"sens {r['sensitivity']:.2f}  spec {r['specificity']:.2f}  ppv {r['ppv']:.2f}"
            )
        return "\n".join(lines)


def alert_validity(
    alerts: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    rules: Sequence[str] = (*ALERT_RULES, *COMPARISON_RULES),
) -> AlertValidityResult:
    """Sensitivity, specificity and PPV of each rule raised before the last session.

    Parameters
    ----------
    alerts
        :func:`session_alerts`' frame.
    outcomes
        One row per client: ``client_id`` and one boolean column per end-of-treatment outcome
        (for example ``no_reliable_improvement``, ``reliable_deterioration``).
    rules
        Rule columns of ``alerts`` to score.

    Returns
    -------
    AlertValidityResult

    Raises
    ------
    InputError
        A column is missing, ``outcomes`` has no outcome column, or a client appears twice.

    Notes
    -----
    A rule flags a client when it holds at any of their sessions before the last one, so a
    flag always comes before the outcome it predicts (Hannan et al., 2005 score the OQ-45
    algorithms the same way). Clients with one session, or missing from ``outcomes``, are left
    out.
    """
    _require(alerts, ["client_id", "session", *rules], "alerts")
    _require(outcomes, ["client_id"], "outcomes")
    outcome_cols = [c for c in outcomes.columns if c != "client_id"]
    if not outcome_cols:
        raise InputError("outcomes: no outcome column besides client_id")
    if outcomes["client_id"].duplicated().any():
        dup = outcomes.loc[outcomes["client_id"].duplicated(), "client_id"].iloc[0]
        raise InputError(f"outcomes: client {dup} appears more than once", column="client_id")
    last = alerts.groupby("client_id", sort=False)["session"].transform("max")
    before = alerts.loc[alerts["session"].to_numpy() < last.to_numpy()]
    flagged = before.groupby("client_id", sort=False)[list(rules)].any()
    known = outcomes.set_index("client_id")[outcome_cols]
    flagged = flagged.loc[flagged.index.isin(known.index)]
    known = known.loc[flagged.index]
    rows = []
    for outcome in outcome_cols:
        truth = known[outcome].to_numpy(dtype=bool)
        for rule in rules:
            counts = classification_counts(flagged[rule].to_numpy(dtype=bool), truth)
            low, high = (
                wilson_interval(int(counts["tp"]), int(counts["n_outcome"]))
                if counts["n_outcome"]
                else (float("nan"), float("nan"))
            )
            rows.append(
                {
                    "term": rule,
                    "outcome": outcome,
                    **counts,
                    "sensitivity_low": low,
                    "sensitivity_high": high,
                }
            )
    return AlertValidityResult(table=pd.DataFrame(rows), n_clients=len(flagged))


def end_of_treatment_outcomes(sessions: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Each client's outcome at their last session, from the engine's reliable-change status.

    Parameters
    ----------
    sessions
        ``FeedbackResult.sessions`` with ``<outcome>_status``.
    outcome
        The outcome instrument (for example ``phq9``).

    Returns
    -------
    pandas.DataFrame
        One row per client with at least two sessions and a status at the last:
        ``client_id``, ``no_reliable_improvement`` (neither reliably improved nor recovered)
        and ``reliable_deterioration`` (reliably worse than at intake; Jacobson & Truax,
        1991).

    Raises
    ------
    InputError
        A column is missing.
    """
    column = f"{outcome}_status"
    _require(sessions, ["client_id", "session", column], "sessions")
    order = sessions.sort_values(["client_id", "session"], kind="stable")
    last = order.groupby("client_id", sort=False).tail(1)
    counts = order.groupby("client_id", sort=False)["session"].size()
    status = last[column].astype(object)
    keep = (counts.loc[last["client_id"]].to_numpy() >= 2) & status.isin(
        ["recovered", "reliably_improved", "no_reliable_change", "reliably_deteriorated"]
    ).to_numpy()
    status = status.to_numpy()[keep]
    return pd.DataFrame(
        {
            "client_id": last["client_id"].to_numpy()[keep],
            "no_reliable_improvement": ~np.isin(status, ["recovered", "reliably_improved"]),
            "reliable_deterioration": status == "reliably_deteriorated",
        }
    )
