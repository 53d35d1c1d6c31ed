"""The clinic's own evidence in one report: every analysis, side by side with the literature.

:func:`build_report` runs the analyses on a wide session-scores frame and keeps each
section's result, or the reason it is missing; :func:`render_html` turns it into one
self-contained HTML file (inline CSS and SVG, no scripts, fonts or external references);
:meth:`ClinicReport.to_json_dict` is its JSON twin with the same numbers.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bordin import __version__
from bordin.errors import BordinError, BordinWarning

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bordin.analytics.clinic_figures import ClinicFiguresResult
    from bordin.analytics.congruence import CongruenceResult
    from bordin.analytics.early_alliance import EarlyAllianceResult
    from bordin.analytics.moderation import ModerationResult
    from bordin.analytics.multilevel import LaggedModelResult
    from bordin.analytics.outcome_summary import OutcomeSummaryResult
    from bordin.analytics.rupture_outcomes import RuptureOutcomeResult
    from bordin.analytics.therapist_alliance import TherapistAllianceResult

__all__ = [
    "REPORT_STEPS",
    "ClinicReport",
    "SectionStatus",
    "build_report",
    "read_scores",
    "render_html",
    "render_pdf",
]

#: The steps :func:`build_report` and :func:`render_html` report to ``progress``, in order
#: (``congruence`` only when the clinic has therapist session checks).
REPORT_STEPS = (
    "outcomes",
    "early alliance",
    "lagged model",
    "moderation",
    "rupture and repair",
    "therapists",
    "congruence",
    "figures",
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SectionStatus:
    """Whether a report section could be computed.

    Attributes
    ----------
    key:
        Section identifier (``outcomes``, ``early_alliance``, ``lagged``, ``moderation``,
        ``ruptures``, ``therapists``, and ``congruence`` when the clinic has therapist
        session checks).
    title:
        Heading shown in the report.
    available:
        True when the analysis ran.
    reason:
        Why the section is missing (empty when available).
    notes:
        Warnings raised while fitting (for example a variance on its boundary).
    """

    key: str
    title: str
    available: bool
    reason: str
    notes: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class ClinicReport:
    """Every analysis of the report, or why it is missing.

    Attributes
    ----------
    source:
        Name of the scores file (or a label).
    alliance, outcome:
        Score columns analysed.
    adherence:
        Adherence (moderator analysis) column, or None.
    early_sessions:
        Sessions making up the early alliance.
    level:
        Confidence level of every interval.
    n_clients, n_therapists, n_sessions:
        Size of the data.
    outcome_summary, early_alliance, moderation, ruptures, therapists:
        Section results (None when missing; see ``sections``).
    lagged:
        The lagged within/between model without and with the session trend (empty when
        missing).
    clients:
        The per-client table behind the client-level analyses (for the figures).
    sections:
        Status of every section, in report order.
    created:
        Date the report was made (ISO 8601).
    version:
        Bordin version.
    congruence:
        Client-therapist congruence and outcome (response surface), or None when missing
        or when the clinic has no therapist session checks (then the section is absent).
    congruence_lagged:
        The lagged model with the client's and the therapist's rating together (None when
        missing).
    """

    source: str
    alliance: str
    outcome: str
    adherence: str | None
    early_sessions: int
    level: float
    n_clients: int
    n_therapists: int
    n_sessions: int
    outcome_summary: OutcomeSummaryResult | None
    early_alliance: EarlyAllianceResult | None
    lagged: tuple[LaggedModelResult, ...]
    moderation: ModerationResult | None
    ruptures: RuptureOutcomeResult | None
    therapists: TherapistAllianceResult | None
    figures: ClinicFiguresResult | None
    figures_reason: str
    clients: pd.DataFrame = field(repr=False)
    sections: tuple[SectionStatus, ...]
    created: str
    version: str
    congruence: CongruenceResult | None = None
    congruence_lagged: LaggedModelResult | None = None

    def section(self, key: str) -> SectionStatus:
        """Status of one section."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def numbers(self) -> dict[str, float]:
        """Every number the report shows, by a stable dotted key (full precision)."""
        return _numbers(self)

    def to_json_dict(self) -> dict[str, Any]:
        """The report's JSON twin: metadata, section status and every number."""
        return {
            "source": self.source,
            "alliance": self.alliance,
            "outcome": self.outcome,
            "adherence": self.adherence,
            "early_sessions": self.early_sessions,
            "level": self.level,
            "n_clients": self.n_clients,
            "n_therapists": self.n_therapists,
            "n_sessions": self.n_sessions,
            "created": self.created,
            "version": self.version,
            "sections": [
                {
                    "key": s.key,
                    "title": s.title,
                    "available": s.available,
                    "reason": s.reason,
                    "notes": list(s.notes),
                }
                for s in self.sections
            ],
            "numbers": {k: (v if math.isfinite(v) else None) for k, v in self.numbers().items()},
            "figures": self.figures.to_dict() if self.figures is not None else None,
            "figures_reason": self.figures_reason,
        }


def read_scores(path: str | Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Read a wide scores CSV; identifiers as text, the named columns as numbers.

    The reader every command uses (:func:`bordin.interop.read_scores_csv`), so instrument
    scores are range-checked here too.

    Raises
    ------
    InputError
        The file is missing or unreadable, a required column is missing, a cell of a
        named column is not a number, or an instrument score is outside its range (naming
        file, row and column).
    """
    from bordin.interop import read_scores_csv

    return read_scores_csv(path, numeric=columns, required=("client_id", "therapist_id", "session"))


class _Step:
    """Run one analysis, keeping its result, its warnings and the reason it failed."""

    def __init__(self, key: str, title: str, progress: Progress | None, label: str) -> None:
        self.key, self.title = key, title
        self.reason = ""
        self.notes: list[str] = []
        if progress is not None:
            progress(label)

    def run(self, fn: Callable[[], Any]) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", BordinWarning)
            try:
                result = fn()
            except BordinError as exc:
                self.reason = str(exc)
                result = None
        for w in caught:
            if issubclass(w.category, BordinWarning):
                if str(w.message) not in self.notes:
                    self.notes.append(str(w.message))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return result

    def skip(self, reason: str) -> None:
        self.reason = reason

    def status(self, available: bool) -> SectionStatus:
        return SectionStatus(
            self.key, self.title, available, "" if available else self.reason, tuple(self.notes)
        )


def build_report(
    scores: pd.DataFrame,
    *,
    alliance: str,
    outcome: str,
    adherence: str | None = None,
    dropout: str | None = None,
    as_of: dt.date | None = None,
    ended: Collection[Any] | None = None,
    dropped_out: Collection[Any] | None = None,
    early_sessions: int = 3,
    level: float = 0.95,
    source: str = "scores",
    progress: Progress | None = None,
) -> ClinicReport:
    """Run every analysis of the clinic report on a wide session-scores frame.

    Parameters
    ----------
    scores:
        One row per client and session: ``client_id, therapist_id, session`` and the
        score columns.
    alliance, outcome:
        Alliance and outcome score columns (``sac_total``, ``phq9_total``).
    adherence:
        Optional per-session adherence column for the moderation section.
    dropout, as_of, ended, dropped_out:
        Dropout as the clinic figures define it
        (:mod:`bordin.analytics.clinic_figures`): marked in the optional ``dropout`` column
        (true on any row of a client who dropped out) or listed in ``dropped_out`` (endings
        recorded as dropout), or no session for 8 weeks before
        ``as_of`` (default: the latest session date) without an ending as planned (clients
        in ``ended``); a client still in treatment is never a dropout.
    early_sessions:
        Sessions 1 to this number make the early alliance.
    level:
        Confidence level of every interval.
    source:
        Name of the data shown in the report.
    progress:
        Called with the name of each step as it starts (see :data:`REPORT_STEPS`).

    Returns
    -------
    ClinicReport
        A section that cannot be computed is kept with the reason, never silently dropped.

    Raises
    ------
    InputError
        The identifying, alliance or outcome columns are missing or not numeric.
    """
    from bordin.analytics._clients import check_columns, client_table, lag_pairs
    from bordin.analytics.congruence import has_therapist_ratings
    from bordin.analytics.early_alliance import fit_early_alliance_clients
    from bordin.analytics.moderation import fit_moderation
    from bordin.analytics.multilevel import fit_lagged_model
    from bordin.analytics.outcome_summary import summarise_outcomes
    from bordin.analytics.rupture_outcomes import fit_rupture_outcomes
    from bordin.analytics.therapist_alliance import fit_therapist_alliance

    check_columns(scores, [alliance, outcome] + ([adherence] if adherence else []))
    clients = client_table(
        scores, alliance=alliance, outcome=outcome, early_sessions=early_sessions
    )
    statuses: list[SectionStatus] = []

    step = _Step("outcomes", "Outcomes", progress, REPORT_STEPS[0])
    summary = step.run(
        lambda: summarise_outcomes(
            scores,
            outcome=outcome,
            dropout=dropout,
            as_of=as_of,
            ended=ended,
            level=level,
            dropped_out=dropped_out,
        )
    )
    figures, figures_reason = _clinic_figures(
        scores,
        alliance=alliance,
        dropout=dropout,
        as_of=as_of,
        ended=ended,
        dropped_out=dropped_out,
    )
    statuses.append(step.status(summary is not None))

    step = _Step("early_alliance", "Early alliance", progress, REPORT_STEPS[1])
    early = step.run(
        lambda: fit_early_alliance_clients(
            clients,
            alliance=alliance,
            outcome=outcome,
            early_sessions=early_sessions,
            level=level,
        )
    )
    statuses.append(step.status(early is not None))

    step = _Step("lagged", "Does alliance precede symptom change?", progress, REPORT_STEPS[2])
    lagged: list[LaggedModelResult] = []

    def lagged_fit(trend: bool) -> LaggedModelResult:
        return fit_lagged_model(
            scores, alliance=alliance, outcome=outcome, session_trend=trend, level=level
        )

    for trend in (False, True):
        fit = step.run(partial(lagged_fit, trend))
        if fit is None:
            lagged = []
            break
        lagged.append(fit)
    statuses.append(step.status(bool(lagged)))

    step = _Step("moderation", "Alliance and adherence", progress, REPORT_STEPS[3])
    moderation = None
    if adherence is None:
        step.skip(
            "no adherence column was given (--adherence), so the alliance x adherence "
            "moderation cannot be estimated"
        )
    else:
        pairs = lag_pairs(scores, [alliance, outcome, adherence])
        moderation = step.run(
            lambda: fit_moderation(
                pairs,
                outcome=f"{outcome}_next",
                predictor=adherence,
                moderator=alliance,
                covariates=(outcome, "session"),
                absorb="client_id",
                cluster="client_id",
                cov_type="CR1",
                level=level,
            )
        )
    statuses.append(step.status(moderation is not None))

    step = _Step("ruptures", "Rupture and repair", progress, REPORT_STEPS[4])
    ruptures = step.run(
        lambda: fit_rupture_outcomes(scores, alliance=alliance, outcome=outcome, level=level)
    )
    statuses.append(step.status(ruptures is not None))

    step = _Step("therapists", "Alliance and outcome across therapists", progress, REPORT_STEPS[5])
    therapists = step.run(
        lambda: fit_therapist_alliance(
            scores, alliance=alliance, outcome=outcome, early_sessions=early_sessions, level=level
        )
    )
    statuses.append(step.status(therapists is not None))

    congruence: CongruenceResult | None = None
    congruence_lagged: LaggedModelResult | None = None
    client_form = alliance.removesuffix("_total")
    if alliance.endswith("_total") and has_therapist_ratings(scores, client=client_form):
        step = _Step("congruence", CONGRUENCE_TITLE, progress, REPORT_STEPS[6])
        congruence, congruence_lagged = _congruence(
            step, scores, client=client_form, outcome=outcome, level=level
        )
        statuses.append(step.status(congruence is not None))

    return ClinicReport(
        source=source,
        alliance=alliance,
        outcome=outcome,
        adherence=adherence,
        early_sessions=early_sessions,
        level=level,
        n_clients=int(clients.shape[0]),
        n_therapists=int(scores["therapist_id"].nunique()),
        n_sessions=int(scores.shape[0]),
        outcome_summary=summary,
        early_alliance=early,
        lagged=tuple(lagged),
        moderation=moderation,
        ruptures=ruptures,
        therapists=therapists,
        figures=figures,
        figures_reason=figures_reason,
        clients=clients,
        sections=tuple(statuses),
        created=dt.date.today().isoformat(),
        version=__version__,
        congruence=congruence,
        congruence_lagged=congruence_lagged,
    )


CONGRUENCE_TITLE = "Client\u2013therapist congruence and outcome"


def _congruence(
    step: _Step, scores: pd.DataFrame, *, client: str, outcome: str, level: float
) -> tuple[CongruenceResult | None, LaggedModelResult | None]:
    """The response surface (the section stands on it) and the lagged model beside it."""
    from bordin.analytics.congruence import fit_congruence, fit_pair_lagged_model

    surface = step.run(lambda: fit_congruence(scores, outcome=outcome, client=client, level=level))
    if surface is None:
        return None, None
    lagged = step.run(
        lambda: fit_pair_lagged_model(scores, outcome=outcome, client=client, level=level)
    )
    if lagged is None:
        step.notes.append(f"The lagged model with both ratings could not be fitted: {step.reason}")
        step.reason = ""
    return surface, lagged


def _clinic_figures(
    scores: pd.DataFrame,
    *,
    alliance: str,
    dropout: str | None,
    as_of: dt.date | None,
    ended: Collection[Any] | None,
    dropped_out: Collection[Any] | None,
) -> tuple[ClinicFiguresResult | None, str]:
    """The clinic figures the pages show too, or None and why they cannot be computed."""
    from bordin.analytics.clinic_figures import summarise_clinic
    from bordin.feedback import compute_feedback

    if not alliance.endswith("_total"):
        return None, f"ruptures are counted on an alliance total, not on {alliance!r}"
    try:
        feedback = compute_feedback(scores, alliance=alliance, outcomes=())
        figures = summarise_clinic(
            scores,
            feedback,
            as_of=as_of,
            ended=ended,
            dropout=dropout,
            dropped_out=dropped_out,
        )
    except BordinError as exc:
        return None, str(exc)
    return figures, ""


def _numbers(report: ClinicReport) -> dict[str, float]:
    out: dict[str, float] = {}

    def term(prefix: str, t: Any) -> None:
        for name in ("estimate", "se", "ci_low", "ci_high", "p_value"):
            out[f"{prefix}.{name}"] = float(getattr(t, name))

    s = report.outcome_summary
    if s is not None:
        for r in s.rates:
            out[f"outcomes.{r.term}.estimate"] = r.estimate
            out[f"outcomes.{r.term}.ci_low"] = r.ci_low
            out[f"outcomes.{r.term}.ci_high"] = r.ci_high
            out[f"outcomes.{r.term}.count"] = float(r.count)
            out[f"outcomes.{r.term}.n"] = float(r.n)
        term("outcomes.mean_change", s.mean_change)
        out["outcomes.threshold"] = s.threshold
        out["outcomes.cutoff"] = s.cutoff
        out["outcomes.mean_intake"] = s.mean_intake
        out["outcomes.mean_last"] = s.mean_last
    e = report.early_alliance
    if e is not None:
        for t in e.ols:
            term(f"early.ols.{t.term}", t)
        for t in e.mixed:
            term(f"early.mixed.{t.term}", t)
        out["early.r_squared"] = e.r_squared
        out["early.icc"] = e.icc
        out["early.partial_r.estimate"] = e.partial_r
        out["early.partial_r.ci_low"] = e.partial_r_ci_low
        out["early.partial_r.ci_high"] = e.partial_r_ci_high
        out["early.n"] = float(e.n)
    for label, fit in zip(("no_trend", "trend"), report.lagged, strict=False):
        for name in fit.terms:
            lo, hi = fit.confint(name)
            out[f"lagged.{label}.{name}.estimate"] = float(fit.fixed[name])
            out[f"lagged.{label}.{name}.se"] = float(fit.se[name])
            out[f"lagged.{label}.{name}.ci_low"] = lo
            out[f"lagged.{label}.{name}.ci_high"] = hi
            out[f"lagged.{label}.{name}.df"] = fit.df[name]
            out[f"lagged.{label}.{name}.p_value"] = fit.p_value[name]
        out[f"lagged.{label}.n_obs"] = float(fit.n_obs)
    m = report.moderation
    if m is not None:
        for t in m.coefficients:
            term(f"moderation.{t.term}", t)
        for i, sl in enumerate(m.simple_slopes):
            term(f"moderation.slope{i}", sl.slope)
            out[f"moderation.slope{i}.at"] = sl.moderator_value
        term("moderation.moderator_at_mean", m.moderator_slope_at(m.predictor_mean))
        out["moderation.predictor_mean"] = m.predictor_mean
        out["moderation.jn.lower"] = m.johnson_neyman.lower
        out["moderation.jn.upper"] = m.johnson_neyman.upper
        out["moderation.n"] = float(m.n)
    rup = report.ruptures
    if rup is not None:
        for d in rup.detectors:
            p = f"ruptures.k{d.k}"
            for prop in (d.clients_with_rupture, d.sessions_with_onset, d.repair_rate):
                out[f"{p}.{prop.term}.estimate"] = prop.estimate
                out[f"{p}.{prop.term}.ci_low"] = prop.ci_low
                out[f"{p}.{prop.term}.ci_high"] = prop.ci_high
            for g in d.adjusted_means:
                term(f"{p}.change.{g.group}", g.change)
                out[f"{p}.change.{g.group}.n"] = float(g.n)
            for t in d.coefficients:
                term(f"{p}.coef.{t.term}", t)
            out[f"{p}.resolution_r.estimate"] = d.resolution_r
            out[f"{p}.resolution_r.ci_low"] = d.resolution_ci_low
            out[f"{p}.resolution_r.ci_high"] = d.resolution_ci_high
            out[f"{p}.events"] = float(d.events)
    th = report.therapists
    if th is not None:
        out["therapists.pooled.estimate"] = th.estimate
        out["therapists.pooled.ci_low"] = th.ci_low
        out["therapists.pooled.ci_high"] = th.ci_high
        out["therapists.pooled.pi_low"] = th.pi_low
        out["therapists.pooled.pi_high"] = th.pi_high
        out["therapists.pooled.p_value"] = th.p_value
        out["therapists.tau2"] = th.tau2
        out["therapists.i2"] = th.i2
        out["therapists.q"] = th.q
        out["therapists.k"] = float(th.k)
        for one in th.therapists:
            key = f"therapists.{one.therapist_id}"
            out[f"{key}.r"] = one.r
            out[f"{key}.ci_low"] = one.ci_low
            out[f"{key}.ci_high"] = one.ci_high
            out[f"{key}.shrunk"] = one.shrunk
            out[f"{key}.shrunk_ci_low"] = one.shrunk_ci_low
            out[f"{key}.shrunk_ci_high"] = one.shrunk_ci_high
    if report.congruence is not None:
        for key, value in report.congruence.numbers().items():
            out[f"congruence.{key}"] = value
    pair_fit = report.congruence_lagged
    if pair_fit is not None:
        for side, prefix in (("client", "alliance"), ("therapist", "therapist_total")):
            for part in ("within", "between"):
                name = f"{prefix}_{part}"
                lo, hi = pair_fit.confint(name)
                p = f"congruence.lagged.{side}.{part}"
                out[f"{p}.estimate"] = float(pair_fit.fixed[name])
                out[f"{p}.se"] = float(pair_fit.se[name])
                out[f"{p}.ci_low"] = lo
                out[f"{p}.ci_high"] = hi
                out[f"{p}.df"] = pair_fit.df[name]
                out[f"{p}.p_value"] = pair_fit.p_value[name]
        out["congruence.lagged.n_obs"] = float(pair_fit.n_obs)
        out["congruence.lagged.n_clients"] = float(pair_fit.n_clients)
    return out


def render_html(report: ClinicReport, *, progress: Progress | None = None) -> str:
    """The report as one self-contained HTML document (inline CSS and SVG figures)."""
    from bordin.reports import report_plots as plots

    if progress is not None:
        progress(REPORT_STEPS[-1])
    figures = {key: plots.figure_svg(fig) for key, fig in _figures(report).items()}
    return _render_template(report, figures)


def _figures(report: ClinicReport) -> dict[str, Figure]:
    from bordin.reports import report_plots as plots

    figures: dict[str, Figure] = {}
    if report.outcome_summary is not None:
        figures["outcomes"] = plots.outcome_summary_figure(report.outcome_summary)
    if report.early_alliance is not None:
        figures["early_alliance"] = plots.early_alliance_figure(
            report.early_alliance, report.clients
        )
    if report.lagged:
        figures["lagged"] = plots.lagged_figure(
            report.lagged, ("without session trend", "with session trend")
        )
    if report.moderation is not None:
        figures["moderation"] = plots.moderation_figure(report.moderation)
    if report.ruptures is not None:
        figures["ruptures"] = plots.rupture_figure(report.ruptures)
    if report.therapists is not None:
        figures["therapists"] = plots.therapist_forest_figure(report.therapists)
    if report.congruence is not None:
        from bordin.reports.congruence_plot import congruence_figure

        figures["congruence"] = congruence_figure(report.congruence)
    return figures


def render_pdf(report: ClinicReport, path: str | Path, *, progress: Progress | None = None) -> None:
    """The report as a tagged A4 PDF: the HTML report itself, laid out for print.

    The same prose, tables, figures, captions and references as :func:`render_html`,
    rendered by WeasyPrint with the print stylesheet (:mod:`bordin.reports.pdf`).
    """
    from bordin.reports.pdf import html_to_pdf

    html = render_html(report, progress=progress)
    html_to_pdf(html, path, title=f"Clinic report: {report.source}")


def _format(value: float, kind: str) -> str:
    if not math.isfinite(value):
        return "n/a"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "p":
        return "< .001" if value < 0.001 else f"{value:.3f}".replace("0.", ".", 1)
    if kind == "int":
        return f"{int(round(value)):,}"
    if kind == "r":
        return f"{value:.3f}".replace("0.", ".", 1) if abs(value) < 1 else f"{value:.3f}"
    if kind == "f3":
        return f"{value:.3f}"
    return f"{value:.2f}"


def _render_template(report: ClinicReport, figures: dict[str, str]) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup, escape

    from bordin.analytics.congruence import MEANINGS
    from bordin.reports.pdf import print_stylesheet

    numbers = report.numbers()

    def num(key: str, kind: str = "f2") -> Markup:
        value = numbers[key]
        return Markup('<span class="num" data-key="{}" data-value="{}">{}</span>').format(
            key, repr(float(value)), _format(value, kind)
        )

    def pv(key: str) -> Markup:
        value = numbers[key]
        sign = "" if math.isfinite(value) and value < 0.001 else "= "
        return Markup("p {}{}").format(sign, num(key, "p"))

    def ci(prefix: str, kind: str = "f2") -> Markup:
        return Markup("[{}, {}]").format(
            num(f"{prefix}.ci_low", kind), num(f"{prefix}.ci_high", kind)
        )

    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("clinic_report.html")
    return template.render(
        report=report,
        status={s.key: s for s in report.sections},
        figures={k: Markup(v) for k, v in figures.items()},
        num=num,
        pv=pv,
        ci=ci,
        numbers=numbers,
        fmt=_format,
        meanings=MEANINGS,
        escape=escape,
        level_pct=f"{100 * report.level:g}%",
        print_css=Markup(print_stylesheet()),
    )
