"""Alert burden and validity on simulated clinics, and the trade-off as the settings vary.

Simulates a clinic (and, with another seed, a reference clinic whose fitted norms play the
part of the clinic's norms snapshot, so no client is judged against norms that include their
own future), computes every feedback signal, and measures:

* the weekly burden: the share of clients in treatment that week who carry at least one alert
  at the week's end (``bordin.analytics.weekly_alert_burden``);
* each alert kind's sensitivity, specificity and positive predictive value, raised at any
  session before the last, for no reliable improvement and for reliable deterioration of the
  PHQ-9 at the end of treatment, beside an OQ-style rule and a plain reliable-change rule
  (``bordin.analytics.alert_validity``);
* the trade-off of burden against sensitivity for deterioration over a grid of settings
  (not-on-track level, whether yellow counts as an alert, the early-alliance slope threshold,
  how long unrepaired ruptures and weak early alliance stay alerts), each a field of
  ``FeedbackConfig``: the alerts of every setting are those the engine would show under it.

"Today" is ``FeedbackConfig()``, the defaults in force (chosen by this analysis); the
defaults before it (``PREVIOUS``) are reported beside them for comparison.

It writes docs/alert-validity.md and the chart docs/alert-validity.svg.

Run: ``python benchmarks/alert_validity.py`` (about two minutes; ``--clients`` to change the
clinic size).
"""

from __future__ import annotations

import argparse
import itertools
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pandas as pd

import bordin
from bordin.analytics import (
    ALERT_RULES,
    COMPARISON_RULES,
    AlertBurdenResult,
    AlertValidityResult,
    alert_validity,
    end_of_treatment_outcomes,
    session_alerts,
    weekly_alert_burden,
)
from bordin.feedback import ClinicNorms, FeedbackConfig, compute_feedback, fit_clinic_norms
from bordin.simulate import SimulatedClinic, SimulationConfig, simulate_clinic

OUTCOMES = ("phq9", "gad7")
PRIMARY = "phq9"
#: The default simulator has almost no deteriorators at the end (about 0.5% on the PHQ-9),
#: too few to estimate a sensitivity. Routine care sees about 5-10% (Hansen, Lambert & Forman,
#: 2002: 8.2%; Hannan et al., 2005: 7.3%); a wider spread of expected improvement around a
#: smaller mean gives that.
SETTING: dict[str, object] = {"improvement_mean": 5.0, "improvement_sd": 6.0}
LEVELS = (0.75, 0.80, 0.85, 0.90, 0.95, 0.975, 0.99)
SLOPES = (-0.15, -0.25, -0.35)
LOOKBACKS = (6, 3, 1)
EARLY_UNTIL = (6, 4, 3)
#: The alert settings before this analysis chose the defaults (for comparison).
PREVIOUS = {"level": 0.90, "yellow": True, "slope": -0.15, "lookback": 6, "early_until": 6}
BURDEN_RANGE = (0.20, 1 / 3)
SENSITIVITY_FLOOR = 0.80
HEADER = (
    "| level | yellow | slope | look-back | early until | weekly burden | clients flagged | "
    "deterioration: sens / spec / PPV | no reliable improvement: sens / PPV |"
)
KIND_LABELS = {
    "risk": "risk item",
    "not_on_track_red": "not on track, red",
    "not_on_track_yellow": "not on track, yellow",
    "rupture_unrepaired": "unrepaired rupture",
    "reliable_deterioration": "reliable deterioration",
    "rupture_open": "open rupture",
    "weak_early_alliance": "weak early alliance",
    "uninformative_ratings": "uninformative ratings",
    "any_alert": "**any alert**",
    "outcome_alerts": "outcome alerts only (risk, not on track, reliable deterioration)",
    "oq_style": "OQ-style rule: PHQ-9 red or yellow (comparison)",
    "reliable_change": "plain reliable-change rule: PHQ-9 reliably worse (comparison)",
}


@dataclass(frozen=True)
class Setting:
    """One point of the trade-off grid."""

    level: float
    yellow: bool
    slope: float
    lookback: int
    early_until: int

    def label(self) -> str:
        return (
            f"level {self.level:g}, yellow {'on' if self.yellow else 'off'}, "
            f"slope {self.slope:g}, look-back {self.lookback}, "
            f"weak early alliance until session {self.early_until}"
        )

    def config(self, base: FeedbackConfig | None = None) -> FeedbackConfig:
        """The ``FeedbackConfig`` of this setting (the other fields from ``base``)."""
        base = FeedbackConfig() if base is None else base
        return replace(
            base,
            not_on_track_level=self.level,
            early_slope_threshold=self.slope,
            yellow_alert=self.yellow,
            unrepaired_alert_sessions=self.lookback,
            early_alert_sessions=self.early_until - base.early_session + 1,
        )


def setting_of_config(config: FeedbackConfig) -> Setting:
    """The grid point of a ``FeedbackConfig`` (its alert settings)."""
    return Setting(
        level=config.not_on_track_level,
        yellow=config.yellow_alert,
        slope=config.early_slope_threshold,
        lookback=config.unrepaired_alert_sessions,
        early_until=config.early_alert_until(),
    )


#: The defaults in force.
TODAY = asdict(setting_of_config(FeedbackConfig()))


def make_clinics(n_clients: int, seed: int) -> tuple[SimulatedClinic, ClinicNorms]:
    """The clinic to evaluate and the norms fitted on a reference clinic (next seed)."""
    config = SimulationConfig(n_clients=n_clients, **SETTING)  # type: ignore[arg-type]
    clinic = simulate_clinic(config, seed=seed)
    reference = simulate_clinic(config, seed=seed + 1)
    norms = fit_clinic_norms(reference.scores, alliance="sac", outcomes=OUTCOMES)
    return clinic, norms


def evaluate(
    clinic: SimulatedClinic,
    norms: ClinicNorms,
    settings: Sequence[Setting],
) -> tuple[pd.DataFrame, dict[Setting, tuple[AlertBurdenResult, AlertValidityResult]]]:
    """Burden and validity for every setting (one engine run per level and slope)."""
    rows = []
    details: dict[Setting, tuple[AlertBurdenResult, AlertValidityResult]] = {}
    by_engine: dict[tuple[float, float], list[Setting]] = {}
    for s in settings:
        by_engine.setdefault((s.level, s.slope), []).append(s)
    for group in by_engine.values():
        # the engine's signals depend on the level and slope only; the display settings
        # (yellow, look-back, weak early alliance) are applied by session_alerts
        result = compute_feedback(
            clinic.scores, alliance="sac", outcomes=OUTCOMES, config=group[0].config(), norms=norms
        )
        outcomes = end_of_treatment_outcomes(result.sessions, PRIMARY)
        for s in group:
            alerts = session_alerts(
                result.sessions,
                result.ruptures,
                outcomes=OUTCOMES,
                primary=PRIMARY,
                config=s.config(),
            )
            # the outcome alerts alone, without the alliance (process) alerts
            alerts["outcome_alerts"] = alerts[
                ["risk", "not_on_track_red", "reliable_deterioration"]
                + (["not_on_track_yellow"] if s.yellow else [])
            ].any(axis=1)
            rules = (*ALERT_RULES, "outcome_alerts")
            burden = weekly_alert_burden(alerts, clinic.scores, rules=rules)
            validity = alert_validity(alerts, outcomes, rules=(*rules, *COMPARISON_RULES))
            details[s] = (burden, validity)
            rows.append(
                {
                    "level": s.level,
                    "yellow": s.yellow,
                    "slope": s.slope,
                    "lookback": s.lookback,
                    "early_until": s.early_until,
                    "burden": burden.typical(),
                    "flagged_share": validity.get(
                        "any_alert", "reliable_deterioration", "flagged_share"
                    ),
                    "sens_det": validity.get("any_alert", "reliable_deterioration", "sensitivity"),
                    "spec_det": validity.get("any_alert", "reliable_deterioration", "specificity"),
                    "ppv_det": validity.get("any_alert", "reliable_deterioration", "ppv"),
                    "sens_noimp": validity.get(
                        "any_alert", "no_reliable_improvement", "sensitivity"
                    ),
                    "ppv_noimp": validity.get("any_alert", "no_reliable_improvement", "ppv"),
                    "burden_red": burden.typical("not_on_track_red"),
                    "sens_det_red": validity.get(
                        "not_on_track_red", "reliable_deterioration", "sensitivity"
                    ),
                    "flagged_red": validity.get(
                        "not_on_track_red", "reliable_deterioration", "flagged_share"
                    ),
                }
            )
    return pd.DataFrame(rows), details


def alerts_for(scores: pd.DataFrame, norms: ClinicNorms | None, setting: Setting) -> pd.DataFrame:
    """The alert frame of a clinic under one setting."""
    config = setting.config()
    result = compute_feedback(scores, alliance="sac", outcomes=OUTCOMES, config=config, norms=norms)
    return session_alerts(
        result.sessions, result.ruptures, outcomes=OUTCOMES, primary=PRIMARY, config=config
    )


#: The demo clinic as src/bordin/web/demo.py simulates it (45 clients, 3 therapists).
DEMO = {"n_clients": 45, "clients_per_therapist": 15, "seed": 20240601}


def other_clinics(n_clients: int, seed: int, settings: dict[str, Setting]) -> pd.DataFrame:
    """Burden under each named setting in the default simulator and in the demo clinic."""
    default = simulate_clinic(SimulationConfig(n_clients=n_clients), seed=seed)
    norms = fit_clinic_norms(
        simulate_clinic(SimulationConfig(n_clients=n_clients), seed=seed + 1).scores,
        alliance="sac",
        outcomes=OUTCOMES,
    )
    demo = simulate_clinic(
        SimulationConfig(
            n_clients=DEMO["n_clients"], clients_per_therapist=DEMO["clients_per_therapist"]
        ),
        seed=DEMO["seed"],
    )
    rows = []
    for name, setting in settings.items():
        weekly = weekly_alert_burden(alerts_for(default.scores, norms, setting), default.scores)
        # the demo fits its norms on its own data and shows every client at their last session
        alerts = alerts_for(demo.scores, None, setting)
        last = alerts.sort_values("session").groupby("client_id").tail(1)
        therapist = last["client_id"].map(
            demo.scores.drop_duplicates("client_id").set_index("client_id")["therapist_id"]
        )
        per = last.groupby(therapist.to_numpy())["any_alert"].agg(["sum", "size"])
        rows.append(
            {
                "setting": name,
                "default_weekly": weekly.typical(),
                "demo_share": float(last["any_alert"].mean()),
                "demo_per_therapist": ", ".join(
                    f"{int(r['sum'])} of {int(r['size'])}" for _, r in per.iterrows()
                ),
            }
        )
    return pd.DataFrame(rows)


def compared(proposed: Setting) -> dict[str, Setting]:
    """The settings of the demo table: previous defaults, defaults in force, and the grid's
    choice when it differs from the defaults."""
    today = Setting(**TODAY)  # type: ignore[arg-type]
    named = {"previous defaults": Setting(**PREVIOUS), "defaults in force": today}  # type: ignore[arg-type]
    if proposed != today:
        named["grid's choice"] = proposed
    return named


def grid() -> list[Setting]:
    """Every combination of the settings varied."""
    return [
        Setting(*values)
        for values in itertools.product(LEVELS, (True, False), SLOPES, LOOKBACKS, EARLY_UNTIL)
    ]


def propose(tradeoff: pd.DataFrame) -> tuple[pd.Series, bool]:
    """The proposed setting and whether it meets both targets.

    Among settings with the weekly burden in BURDEN_RANGE and sensitivity for deterioration
    at least SENSITIVITY_FLOOR, both of any alert and of the red not-on-track alert alone
    (the early warning: reliable deterioration is only raised once the client is worse, so it
    must not carry the sensitivity alone): the fewest false alarms (highest specificity for
    deterioration), then the higher sensitivity, then the lower burden. If none qualifies:
    among settings meeting the sensitivity floor, the one with the lowest burden.
    """
    low, high = BURDEN_RANGE
    ok = tradeoff.loc[
        (tradeoff["burden"] >= low)
        & (tradeoff["burden"] <= high)
        & (tradeoff["sens_det"] >= SENSITIVITY_FLOOR)
        & (tradeoff["sens_det_red"] >= SENSITIVITY_FLOOR)
    ]
    if len(ok):
        best = ok.sort_values(
            ["spec_det", "sens_det", "burden"], ascending=[False, False, True]
        ).iloc[0]
        return best, True
    floor = tradeoff.loc[
        (tradeoff["sens_det"] >= SENSITIVITY_FLOOR)
        & (tradeoff["sens_det_red"] >= SENSITIVITY_FLOOR)
    ]
    pool = floor if len(floor) else tradeoff
    return pool.sort_values(["burden", "sens_det"], ascending=[True, False]).iloc[0], False


def setting_of(row: pd.Series) -> Setting:
    return Setting(
        level=float(row["level"]),
        yellow=bool(row["yellow"]),
        slope=float(row["slope"]),
        lookback=int(row["lookback"]),
        early_until=int(row["early_until"]),
    )


def _row_of(tradeoff: pd.DataFrame, setting: Setting) -> pd.Series:
    """The grid row of one setting."""
    match = tradeoff.loc[
        (tradeoff["level"] == setting.level)
        & (tradeoff["yellow"] == setting.yellow)
        & (tradeoff["slope"] == setting.slope)
        & (tradeoff["lookback"] == setting.lookback)
        & (tradeoff["early_until"] == setting.early_until)
    ]
    return match.iloc[0]


def tradeoff_svg(tradeoff: pd.DataFrame, proposed: pd.Series) -> str:
    """Burden against sensitivity for deterioration, one line per not-on-track level sweep:
    the previous display, yellow not an alert, and the display of the defaults in force."""
    from matplotlib.figure import Figure

    from bordin.reports.report_plots import figure_svg

    fig = Figure(figsize=(10.0, 4.6), layout="constrained")
    fig.set_label("Alert burden against sensitivity for deterioration")
    ax, ax_red = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    low, high = BURDEN_RANGE
    ax.axvspan(low * 100, high * 100, color="#DDDDDD", zorder=0, label="target burden (20-33%)")
    ax.axhline(SENSITIVITY_FLOOR, color="#666666", linestyle=":", linewidth=1)
    lines = (
        (
            (True, PREVIOUS["slope"], PREVIOUS["lookback"], PREVIOUS["early_until"]),
            ("#0072B2", "-", "o"),
            "previous display (yellow is an alert)",
        ),
        (
            (False, PREVIOUS["slope"], PREVIOUS["lookback"], PREVIOUS["early_until"]),
            ("#D55E00", "--", "s"),
            "yellow not an alert",
        ),
        (
            (TODAY["yellow"], TODAY["slope"], TODAY["lookback"], TODAY["early_until"]),
            ("#009E73", "-.", "^"),
            f"defaults' display (look-back {TODAY['lookback']}, early until "
            f"{TODAY['early_until']}, slope {TODAY['slope']:g})",
        ),
    )
    for key, (colour, dash, marker), name in lines:
        yellow, slope, lookback, early_until = key
        part = tradeoff.loc[
            (tradeoff["yellow"] == yellow)
            & (tradeoff["lookback"] == lookback)
            & (tradeoff["early_until"] == early_until)
            & (tradeoff["slope"] == slope)
        ].sort_values("level")
        ax.plot(
            part["burden"] * 100,
            part["sens_det"],
            color=colour,
            linestyle=dash,
            marker=marker,
            label=name,
        )
        for _, r in part.iterrows():
            ax.annotate(
                f"{r['level']:g}",
                (r["burden"] * 100, r["sens_det"]),
                textcoords="offset points",
                xytext=(4, -10),
                fontsize=7,
                color=colour,
            )
    today = _row_of(tradeoff, Setting(**TODAY))  # type: ignore[arg-type]
    ax.plot(
        [today["burden"] * 100],
        [today["sens_det"]],
        marker="*",
        markersize=14,
        color="#000000",
        linestyle="none",
        label="defaults in force"
        + (" (the grid's choice)" if setting_of(proposed) == setting_of(today) else ""),
    )
    if setting_of(proposed) != setting_of(today):
        ax.plot(
            [proposed["burden"] * 100],
            [proposed["sens_det"]],
            marker="D",
            markersize=8,
            color="#CC79A7",
            linestyle="none",
            label="the grid's choice",
        )
    ax.set_xlabel("weekly burden: % of active clients with an open alert (median week)")
    ax.set_ylabel("sensitivity for reliable deterioration")
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.legend(fontsize=8, loc="center right", frameon=False)
    ax.set_title("any alert", fontsize=10)
    red = tradeoff.loc[
        (tradeoff["yellow"] == TODAY["yellow"])
        & (tradeoff["slope"] == TODAY["slope"])
        & (tradeoff["lookback"] == TODAY["lookback"])
        & (tradeoff["early_until"] == TODAY["early_until"])
    ].sort_values("level")
    ax_red.plot(
        red["burden_red"] * 100, red["sens_det_red"], color="#0072B2", marker="o", linestyle="-"
    )
    for _, r in red.iterrows():
        ax_red.annotate(
            f"{r['level']:g}",
            (r["burden_red"] * 100, r["sens_det_red"]),
            textcoords="offset points",
            xytext=(4, -10),
            fontsize=7,
            color="#0072B2",
        )
    ax_red.axhline(SENSITIVITY_FLOOR, color="#666666", linestyle=":", linewidth=1)
    ax_red.set_title("not on track, red, alone (by not_on_track_level)", fontsize=10)
    ax_red.set_xlabel("weekly burden of red alone, % of active clients")
    ax_red.set_ylabel("sensitivity for reliable deterioration")
    ax_red.spines["top"].set_visible(False)
    ax_red.spines["right"].set_visible(False)
    return figure_svg(fig)


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def _rate(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


def _config_words(setting: Setting) -> str:
    """A setting in ``FeedbackConfig`` terms."""
    early = setting.early_until - FeedbackConfig().early_session + 1
    return (
        f"`not_on_track_level={setting.level:g}`, `early_slope_threshold={setting.slope:g}`, "
        f"`yellow_alert={setting.yellow}` (yellow "
        + ("counted as" if setting.yellow else "not")
        + f" an open alert), `unrepaired_alert_sessions={setting.lookback}` (an unrepaired "
        f"rupture is an alert for {setting.lookback} session(s) from the one at which it is "
        f"declared unrepaired), `early_alert_sessions={early}` (weak early alliance is shown "
        f"until session {setting.early_until})"
    )


def _kind_table(burden: AlertBurdenResult, validity: AlertValidityResult) -> list[str]:
    """Per alert kind: weekly burden, clients flagged, validity for both outcomes."""
    table = validity.to_frame()
    bf = burden.to_frame().set_index("term")
    lines = [
        "| alert | weekly burden, median (IQR) | clients flagged before last session | "
        "no reliable improvement: sens / spec / PPV | reliable deterioration: sens (95% CI) / "
        "spec / PPV |",
        "|---|---:|---:|---:|---:|",
    ]
    for rule in KIND_LABELS:
        noimp = table.loc[
            (table["term"] == rule) & (table["outcome"] == "no_reliable_improvement")
        ].iloc[0]
        det = table.loc[
            (table["term"] == rule) & (table["outcome"] == "reliable_deterioration")
        ].iloc[0]
        weekly = (
            f"{_pct(bf.loc[rule, 'estimate'])} "
            f"({_pct(bf.loc[rule, 'q25'])}-{_pct(bf.loc[rule, 'q75'])})"
            if rule in bf.index
            else "-"
        )
        lines.append(
            f"| {KIND_LABELS[rule]} | {weekly} | {_pct(noimp['flagged_share'])} | "
            f"{_rate(noimp['sensitivity'])} / {_rate(noimp['specificity'])} / "
            f"{_rate(noimp['ppv'])} | {_rate(det['sensitivity'])} "
            f"({_rate(det['sensitivity_low'])}-{_rate(det['sensitivity_high'])}) / "
            f"{_rate(det['specificity'])} / {_rate(det['ppv'])} |"
        )
    return lines


def _drivers(burden: AlertBurdenResult, setting: Setting) -> pd.Series:
    """The four alert kinds most carried in the median week (yellow only if it is an alert)."""
    bf = burden.to_frame().set_index("term")
    dropped = ["any_alert", "outcome_alerts"] + ([] if setting.yellow else ["not_on_track_yellow"])
    return bf.drop(index=dropped).sort_values("estimate", ascending=False)["estimate"].head(4)


def to_markdown(
    *,
    others: pd.DataFrame,
    tradeoff: pd.DataFrame,
    details: dict[Setting, tuple[AlertBurdenResult, AlertValidityResult]],
    proposed: pd.Series,
    meets: bool,
    n_clients: int,
    seed: int,
    took: float,
) -> str:
    today = Setting(**TODAY)  # type: ignore[arg-type]
    previous = Setting(**PREVIOUS)  # type: ignore[arg-type]
    burden, validity = details[today]
    prev_burden, prev_validity = details[previous]
    bf = burden.to_frame().set_index("term")
    prev_bf = prev_burden.to_frame().set_index("term")
    proposed_setting = setting_of(proposed)
    p_burden, p_validity = details[proposed_setting]
    table = validity.to_frame()
    n_det = int(table.loc[table["outcome"] == "reliable_deterioration", "n_outcome"].iloc[0])
    n_noimp = int(table.loc[table["outcome"] == "no_reliable_improvement", "n_outcome"].iloc[0])
    steady = burden.weeks.loc[burden.weeks["steady"], "n_active"]
    lines = [
        "# Alert validity and burden",
        "",
        "Generated by `python benchmarks/alert_validity.py`; do not edit by hand.",
        "",
        "How many clients a therapist sees with an open alert in a typical week, and how well",
        "each alert predicts the outcome it warns about, on a simulated clinic with known",
        "outcomes. Lambert's feedback systems flag about a fifth to a third of clients as not on",
        "track and catch most eventual deteriorators: in Hannan et al. (2005), 40 of 550 "
        "clients had deteriorated at termination; the OQ-45's expected-progress rules "
        "identified all of them by termination and 85% by the third session, while their "
        "therapists, asked to predict it, named 1 of the 40. A dashboard that shows an alert "
        "for most clients most weeks teaches therapists to ignore it.",
        "",
        "## Method",
        "",
        f"- One simulated clinic of {n_clients:,} clients (`bordin.simulate`, seed {seed}, "
        "intakes spread over a year, weekly sessions) with "
        + ", ".join(f"`{k}={v}`" for k, v in SETTING.items())
        + ": the default simulator has almost no clients reliably worse at the end, while "
        "routine care sees about 5-10% (Hansen, Lambert & Forman, 2002; Hannan et al., 2005: "
        f"40 of 550). Here {n_det} of {validity.n_clients:,} clients with two or more sessions "
        f"({n_det / validity.n_clients:.1%}) end reliably worse on the PHQ-9 and {n_noimp:,} "
        f"({n_noimp / validity.n_clients:.1%}) without reliable improvement.",
        "- The clinic norms (expected-recovery curves, within-client SD, early-alliance "
        "reference) are fitted on another simulated clinic of the same size (seed "
        f"{seed + 1}), as a clinic's norms snapshot is fitted on its past: no client is judged "
        "against norms that contain their own future.",
        "- Alerts as the dashboard shows them: `compute_feedback` with PHQ-9 and GAD-7 and the "
        "session alliance check; each alert kind at each session as if it were the client's "
        "latest (`bordin.analytics.session_alerts`, the rules of docs/feedback.md, section 8). "
        "The engine's signals use no later session, so this equals recomputing the clinic on "
        "the data up to that week (tested on a small clinic). Rupture alerts come from the "
        f'leading rupture detector (`rupture_detector="{FeedbackConfig().rupture_detector}"`; '
        "docs/feedback.md, section 1), whose parameters are in the reference clinic's norms.",
        "- **Burden**: for each calendar week, the share of clients in treatment that week "
        "(first session on or before its Sunday, last on or after its Monday) whose latest "
        "session on or before the Sunday carries the alert. The typical week is the median "
        "over the steady weeks (at least half the busiest week's active clients; "
        f"{burden.steady_weeks} weeks, {int(steady.min())} to {int(steady.max())} active "
        "clients).",
        "- **Validity**: a rule flags a client if it holds at any session before their last; "
        "the outcome is the PHQ-9 reliable-change status at the last session (change of at "
        "least 6 points from intake; Jacobson & Truax, 1991): *no reliable improvement* and, "
        "separately, *reliable deterioration*. Sensitivity = flagged among those with the "
        "outcome, specificity = not flagged among those without, PPV = with the outcome among "
        "the flagged. Sensitivity's Wilson 95% interval is given for deterioration.",
        "- Comparison rules on the PHQ-9 alone: OQ-style (red or yellow at any session "
        "before the last; Lambert's not-on-track signal alone) and a plain reliable-change "
        "rule (reliably worse than intake at any session before the last).",
        "",
        "## The defaults in force",
        "",
        f"`FeedbackConfig()`: {_config_words(today)}. They were chosen by this analysis "
        '(section "How the defaults were chosen" below); a clinic can set any of them back.',
        "",
        *_kind_table(burden, validity),
        "",
        "The weekly burden under the defaults is "
        f"**{_pct(burden.typical())}** of active clients, against a target of 20-33% (Lambert's "
        "systems flag a fifth to a third of clients). What makes it up (share of active "
        "clients carrying each kind in the median week; a client can carry several): "
        + ", ".join(f"{KIND_LABELS[k]} {_pct(v)}" for k, v in _drivers(burden, today).items())
        + ". The yellow colour is still shown on the chart and in the caseload (it held for "
        f"{_pct(bf.loc['not_on_track_yellow', 'estimate'])} of active clients in the median "
        "week)"
        + (
            ", and counts as an open alert."
            if today.yellow
            else " but is not an open alert: its row describes the colour and is not counted "
            "in *any alert*."
        ),
        "",
        "## The previous defaults",
        "",
        f"Before this analysis: {_config_words(previous)}. A clinic that sets them back gets:",
        "",
        *_kind_table(prev_burden, prev_validity),
        "",
        "The weekly burden under the previous defaults was "
        f"**{_pct(prev_burden.typical())}** of active clients. What drove it: "
        + ", ".join(
            f"{KIND_LABELS[k]} {_pct(v)}" for k, v in _drivers(prev_burden, previous).items()
        )
        + ". The yellow colour (less progress than the expected curve, but within the limit) "
        f"alone held for {_pct(prev_bf.loc['not_on_track_yellow', 'estimate'])} of active "
        "clients in the median week, above the target by itself.",
        "",
        "## Trade-off",
        "",
        "The grid varies: `not_on_track_level` "
        f"({', '.join(f'{v:g}' for v in LEVELS)}); whether the yellow colour counts as an "
        "alert (`yellow_alert`; it remains the chart's colour either way); "
        "`early_slope_threshold` "
        f"({', '.join(f'{v:g}' for v in SLOPES)}; the session alliance check has a concern "
        "cutoff, so `early_percentile` does not apply to it); how many sessions an unrepaired "
        "rupture stays an alert from the one at which it is declared unrepaired "
        "(`unrepaired_alert_sessions`, the look-back: "
        f"{', '.join(str(v) for v in LOOKBACKS)}); the last session at which weak early "
        "alliance is shown (`early_session` + `early_alert_sessions` - 1; previously twice "
        f"`early_session`, i.e. 6; {', '.join(str(v) for v in EARLY_UNTIL)}). Sensitivity, "
        "specificity and PPV are of *any alert* before the last session for reliable "
        "deterioration at the end. The chart's left panel sweeps the not-on-track level "
        "(labels) for three display choices, its right panel the red alert alone; the table "
        "below it shows the defaults in force, every setting that changes one of them, and the "
        "previous defaults (last row).",
        "",
        '<img src="alert-validity.svg" alt="Weekly alert burden against sensitivity for '
        'deterioration as the not-on-track level varies, for three display choices">',
        "",
        HEADER,
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def row_text(r: pd.Series) -> str:
        return (
            f"| {r['level']:g} | {'on' if r['yellow'] else 'off'} | {r['slope']:g} | "
            f"{int(r['lookback'])} | {int(r['early_until'])} | {_pct(r['burden'])} | "
            f"{_pct(r['flagged_share'])} | "
            f"{_rate(r['sens_det'])} / {_rate(r['spec_det'])} / {_rate(r['ppv_det'])} | "
            f"{_rate(r['sens_noimp'])} / {_rate(r['ppv_noimp'])} |"
        )

    differs = sum((tradeoff[name] != value).astype(int) for name, value in TODAY.items())
    one_at_a_time = tradeoff.loc[differs <= 1]
    lines += [row_text(r) for _, r in one_at_a_time.iterrows()]
    lines.append(row_text(_row_of(tradeoff, previous)).replace("| ", "| *previous:* ", 1))
    red = tradeoff.loc[
        (tradeoff["yellow"] == TODAY["yellow"])
        & (tradeoff["slope"] == TODAY["slope"])
        & (tradeoff["lookback"] == TODAY["lookback"])
        & (tradeoff["early_until"] == TODAY["early_until"])
    ].sort_values("level")
    lines += [
        "",
        "Any alert catches nearly every deteriorator at every setting, because the reliable-"
        "deterioration alert alone does (sensitivity "
        f"{_rate(validity.get('reliable_deterioration', 'reliable_deterioration', 'sensitivity'))}"
        "); the not-on-track level trades burden against sensitivity only for the red alert "
        "itself:",
        "",
        "| not_on_track_level | red: weekly burden | red: clients flagged | red: sensitivity for "
        "deterioration |",
        "|---:|---:|---:|---:|",
        *[
            f"| {r['level']:g} | {_pct(r['burden_red'])} | {_pct(r['flagged_red'])} | "
            f"{_rate(r['sens_det_red'])} |"
            for _, r in red.iterrows()
        ],
    ]
    low, high = BURDEN_RANGE
    qualifying = tradeoff.loc[
        (tradeoff["burden"] >= low)
        & (tradeoff["burden"] <= high)
        & (tradeoff["sens_det"] >= SENSITIVITY_FLOOR)
        & (tradeoff["sens_det_red"] >= SENSITIVITY_FLOOR)
    ]
    lines += [
        "",
        f"All {len(tradeoff)} combinations of the five settings: "
        f"{len(qualifying)} keep the weekly burden within 20-33% with sensitivity for "
        f"deterioration at least {SENSITIVITY_FLOOR:.2f} for any alert and for the red alert "
        "alone. The second condition is ours: reliable deterioration is raised only once a "
        "client is already worse, so the early warning (not on track) should catch most "
        "deteriorators by itself, as the OQ-45's rules do (Hannan et al., 2005). Among these "
        "the grid's choice has the fewest false alarms (highest specificity for "
        "deterioration).",
        "",
        "<details><summary>Every combination</summary>",
        "",
        HEADER,
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        *[row_text(r) for _, r in tradeoff.sort_values("burden").iterrows()],
        "",
        "</details>",
        "",
        "## How the defaults were chosen",
        "",
    ]
    p_table = p_validity.to_frame()
    p_det = p_table.loc[
        (p_table["term"] == "any_alert") & (p_table["outcome"] == "reliable_deterioration")
    ].iloc[0]
    p_drivers = _drivers(p_burden, proposed_setting)
    verdict = (
        "meets both targets"
        if meets
        else "is the closest: no setting in the grid keeps the burden within 20-33% with "
        f"sensitivity for deterioration at least {SENSITIVITY_FLOOR:.2f}; this is the lowest "
        "burden that keeps the sensitivity"
    )
    chosen = (
        "The grid's choice is the setting of the defaults in force."
        if proposed_setting == today
        else "**The grid's choice differs from the defaults in force "
        f"({today.label()}): review the defaults.**"
    )
    lines += [
        f"**{proposed_setting.label()}** {verdict}: weekly burden {_pct(proposed['burden'])} "
        f"of active clients (previous defaults {_pct(prev_burden.typical())}), "
        f"{_pct(proposed['flagged_share'])} "
        "of clients flagged at some session before their last, sensitivity for deterioration "
        f"{_rate(proposed['sens_det'])} (95% CI {_rate(p_det['sensitivity_low'])}-"
        f"{_rate(p_det['sensitivity_high'])}), specificity {_rate(proposed['spec_det'])}, PPV "
        f"{_rate(proposed['ppv_det'])}; for no reliable improvement, sensitivity "
        f"{_rate(proposed['sens_noimp'])} and PPV {_rate(proposed['ppv_noimp'])}. The red "
        f"alert alone has a weekly burden of {_pct(proposed['burden_red'])} and catches "
        f"{_rate(proposed['sens_det_red'])} of deteriorators before their last session. What "
        "remains in the median week: "
        + ", ".join(f"{KIND_LABELS[k]} {_pct(v)}" for k, v in p_drivers.items())
        + ".",
        "",
        f"{chosen} In `FeedbackConfig` terms: {_config_words(proposed_setting)}. "
        "On the dashboard the yellow colour is shown on the chart and in the caseload "
        + ("and is an open alert" if proposed_setting.yellow else "but is not an open alert")
        + ". These figures come from one simulated "
        "clinic; a clinic should check its own burden once it has a few months of data, and "
        "can set any of these back (for example `not_on_track_level=0.90`, the level of "
        "Finch et al., 2001).",
        "",
        "Lambert's fifth to a third is a share of clients flagged at some point of treatment, "
        "not of a week's caseload. Counted that way, even the chosen setting flags "
        f"{_pct(proposed['flagged_share'])} of clients: over a course of treatment the open-"
        "rupture alert flags "
        f"{_pct(p_validity.get('rupture_open', 'reliable_deterioration', 'flagged_share'))} "
        "and weak early alliance "
        f"{_pct(p_validity.get('weak_early_alliance', 'reliable_deterioration', 'flagged_share'))}"
        " of clients, with a PPV for deterioration "
        f"({_rate(p_validity.get('rupture_open', 'reliable_deterioration', 'ppv'))} and "
        f"{_rate(p_validity.get('weak_early_alliance', 'reliable_deterioration', 'ppv'))}) "
        "close to its base rate "
        f"({n_det / validity.n_clients:.2f}): they prompt the therapist to attend to the "
        "alliance, they do not predict the outcome. The outcome alerts alone (risk, not on "
        "track, reliable deterioration) flag "
        f"{_pct(p_validity.get('outcome_alerts', 'reliable_deterioration', 'flagged_share'))}"
        " of clients with sensitivity "
        f"{_rate(p_validity.get('outcome_alerts', 'reliable_deterioration', 'sensitivity'))}"
        " for deterioration (weekly burden "
        f"{_pct(p_burden.typical('outcome_alerts'))}).",
        "",
        "## The default simulator and the demo clinic",
        "",
        "The same rules on a clinic from the simulator's default settings (few "
        "deteriorators), and on the demo clinic (`bordin serve --demo`, "
        f"{DEMO['n_clients']} clients of three therapists, every client shown at their last "
        "session, norms fitted on its own data):",
        "",
        "| setting | default simulator: weekly burden | demo: clients with an alert | "
        "demo: per therapist |",
        "|---|---:|---:|---|",
        *[
            f"| {r['setting']} | {_pct(r['default_weekly'])} | {_pct(r['demo_share'])} | "
            f"{r['demo_per_therapist']} |"
            for _, r in others.iterrows()
        ],
        "",
        "The demo's burden is the rules' burden: the share of its clients with an alert is "
        "close to the weekly burden of a simulated clinic under the same rules, and fell with "
        "it from the previous defaults to the defaults in force.",
        "",
        "## Limits",
        "",
        "- The outcome is the PHQ-9 at the last attended session, with its measurement error, "
        "as in Hannan et al. (2005); the alerts and the outcome share that error, which "
        "favours the rules on the same instrument (reliable deterioration, the comparison "
        "rules).",
        "- Dropouts end treatment at their last attended session; alerts at that session do "
        "not count, as no session followed it.",
        "- The simulator makes alliance and symptoms from a model in which alliance predicts "
        "outcome; the alliance alerts' validity here is the model's, not a clinic's.",
        "",
        "## References",
        "",
        "Hannan, C., Lambert, M. J., Harmon, C., Nielsen, S. L., Smart, D. W., Shimokawa, K., & "
        "Sutton, S. W. (2005). A lab test and algorithms for identifying clients at risk for "
        "treatment failure. *Journal of Clinical Psychology, 61*(2), 155-163. "
        "doi:10.1002/jclp.20108",
        "",
        "Hansen, N. B., Lambert, M. J., & Forman, E. M. (2002). The psychotherapy dose-response "
        "effect and its implications for treatment delivery services. *Clinical Psychology: "
        "Science and Practice, 9*(3), 329-343. doi:10.1093/clipsy.9.3.329",
        "",
        "Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to "
        "defining meaningful change in psychotherapy research. *Journal of Consulting and "
        "Clinical Psychology, 59*(1), 12-19. doi:10.1037/0022-006X.59.1.12",
        "",
        "Lambert, M. J., Whipple, J. L., & Kleinstäuber, M. (2018). Collecting and delivering "
        "progress feedback: A meta-analysis of routine outcome monitoring. *Psychotherapy, "
        "55*(4), 520-537. doi:10.1037/pst0000167",
        "",
        f"Bordin {bordin.__version__}, Python {platform.python_version()}; took {took:.0f} s.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    clinic, norms = make_clinics(args.clients, args.seed)
    tradeoff, details = evaluate(clinic, norms, grid())
    proposed, meets = propose(tradeoff)
    others = other_clinics(args.clients, args.seed + 100, compared(setting_of(proposed)))
    took = time.perf_counter() - start
    text = to_markdown(
        others=others,
        tradeoff=tradeoff,
        details=details,
        proposed=proposed,
        meets=meets,
        n_clients=args.clients,
        seed=args.seed,
        took=took,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "alert-validity.md").write_text(text, encoding="utf-8")
    (args.out / "alert-validity.svg").write_text(tradeoff_svg(tradeoff, proposed), encoding="utf-8")
    today = details[Setting(**TODAY)]  # type: ignore[arg-type]
    print(today[0].summary())
    print(today[1].summary())
    print(f"grid's choice: {setting_of(proposed).label()} (meets targets: {meets})")
    print(f"defaults in force: {Setting(**TODAY).label()}")  # type: ignore[arg-type]
    print(proposed.to_string())
    print(f"took {took:.0f} s; wrote {args.out / 'alert-validity.md'}")


if __name__ == "__main__":
    main()
