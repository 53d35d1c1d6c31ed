"""The clinic report: sections, self-containment, and every number equal to the library's."""

from __future__ import annotations

import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bordin.analytics._clients import lag_pairs
from bordin.analytics.early_alliance import fit_early_alliance
from bordin.analytics.moderation import fit_moderation
from bordin.analytics.multilevel import fit_lagged_model
from bordin.analytics.outcome_summary import summarise_outcomes
from bordin.analytics.rupture_outcomes import fit_rupture_outcomes
from bordin.analytics.therapist_alliance import fit_therapist_alliance
from bordin.errors import BoundaryFitWarning, InputError
from bordin.reports.report import ClinicReport, _format, build_report, render_html
from bordin.simulate import SimulationConfig, simulate_clinic


class _Numbers(HTMLParser):
    """Collect every <span class="num"> with its key, full value and displayed text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, float, str]] = []
        self._open: tuple[str, float] | None = None
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.extend(attrs)
        a = dict(attrs)
        if tag == "span" and a.get("class") == "num":
            self._open = (str(a["data-key"]), float(str(a["data-value"])))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.found.append((*self._open, data))
            self._open = None


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return simulate_clinic(
        SimulationConfig(n_clients=240, clients_per_therapist=12), seed=21
    ).scores


@pytest.fixture(scope="module")
def report(scores: pd.DataFrame) -> ClinicReport:
    steps: list[str] = []
    rep = build_report(
        scores,
        alliance="sac_total",
        outcome="phq9_total",
        adherence="adherence",
        source="clinic.csv",
        progress=steps.append,
    )
    assert steps == [
        "outcomes",
        "early alliance",
        "lagged model",
        "moderation",
        "rupture and repair",
        "therapists",
    ]
    return rep


@pytest.fixture(scope="module")
def html(report: ClinicReport) -> str:
    return render_html(report)


def test_every_section_is_present(report: ClinicReport, html: str) -> None:
    assert [s.key for s in report.sections] == [
        "outcomes",
        "early_alliance",
        "lagged",
        "moderation",
        "ruptures",
        "therapists",
    ]
    assert all(s.available for s in report.sections), [s.reason for s in report.sections]
    for s in report.sections:
        assert f'<section id="{s.key}">' in html
        assert s.title in html
    assert '<section id="methods">' in html and "References" in html
    assert "does not diagnose" in html
    assert html.count("<svg") == 6 and html.count("<figcaption>") == 6
    assert "not a ranking" in html


def test_html_is_self_contained(html: str) -> None:
    parser = _Numbers()
    parser.feed(html)
    assert not parser.tags & {"script", "link", "img", "iframe", "object", "embed"}
    for name, value in parser.attrs:
        if name in ("src", "href", "xlink:href") and value is not None:
            assert value.startswith("#"), f"external reference {name}={value}"
    assert "@import" not in html and "@font-face" not in html
    assert re.findall(r"url\((?!#)", html) == []  # only in-document references (clip paths)


def test_numbers_in_html_equal_the_report_and_display_rounded(
    report: ClinicReport, html: str
) -> None:
    parser = _Numbers()
    parser.feed(html)
    numbers = report.numbers()
    assert len(parser.found) > 100
    for key, value, text in parser.found:
        assert key in numbers
        np.testing.assert_equal(value, numbers[key])
        kinds = ("f2", "f3", "r", "pct", "p", "int")
        assert text in {_format(value, k) for k in kinds}, (key, text)
    json_numbers = report.to_json_dict()["numbers"]
    assert json_numbers.keys() == numbers.keys()


def _shown(html: str, key: str) -> float:
    m = re.search(rf'data-key="{re.escape(key)}" data-value="([^"]+)"', html)
    assert m is not None, key
    return float(m.group(1))


def test_html_numbers_equal_independent_library_results(scores: pd.DataFrame, html: str) -> None:
    early = fit_early_alliance(scores, alliance="sac_total", outcome="phq9_total")
    for t in early.ols:
        assert _shown(html, f"early.ols.{t.term}.estimate") == t.estimate
        assert _shown(html, f"early.ols.{t.term}.ci_low") == t.ci_low
    assert _shown(html, "early.partial_r.estimate") == early.partial_r
    summary = summarise_outcomes(scores, outcome="phq9_total")
    for r in summary.rates:
        for part in ("estimate", "ci_high"):
            np.testing.assert_equal(_shown(html, f"outcomes.{r.term}.{part}"), getattr(r, part))
    pairs = lag_pairs(scores, ["sac_total", "phq9_total", "adherence"])
    mod = fit_moderation(
        pairs,
        outcome="phq9_total_next",
        predictor="adherence",
        moderator="sac_total",
        covariates=("phq9_total", "session"),
        absorb="client_id",
        cluster="client_id",
        cov_type="CR1",
    )
    assert _shown(html, "moderation.adherence:sac_total.estimate") == mod.interaction.estimate
    assert _shown(html, "moderation.slope2.estimate") == mod.simple_slopes[2].slope.estimate
    ther = fit_therapist_alliance(scores, alliance="sac_total", outcome="phq9_total")
    assert _shown(html, "therapists.pooled.estimate") == ther.estimate
    first = ther.therapists[0]
    assert _shown(html, f"therapists.{first.therapist_id}.shrunk") == first.shrunk
    rup = fit_rupture_outcomes(scores, alliance="sac_total", outcome="phq9_total")
    for d in rup.detectors:
        assert _shown(html, f"ruptures.k{d.k}.repair_rate.estimate") == d.repair_rate.estimate
        assert _shown(html, f"ruptures.k{d.k}.resolution_r.estimate") == d.resolution_r


def test_mixed_model_p_values_are_satterthwaite(scores: pd.DataFrame, html: str) -> None:
    """Where the report shows mixed-model p-values they are lmerTest's (issue 20)."""
    with warnings.catch_warnings():
        # The simulated clinic's slope variance is at its boundary; the report notes it.
        warnings.simplefilter("ignore", BoundaryFitWarning)
        lagged = fit_lagged_model(scores, alliance="sac_total", outcome="phq9_total")
    for term in lagged.terms:
        key = f"lagged.no_trend.{term}.p_value"
        assert _shown(html, key) == lagged.p_value[term]
        assert _shown(html, f"lagged.no_trend.{term}.ci_low") == lagged.confint(term)[0]
    early = fit_early_alliance(scores, alliance="sac_total", outcome="phq9_total")
    assert early.mixed
    for t in early.mixed:
        assert np.isfinite(t.df)
        assert _shown(html, f"early.mixed.{t.term}.ci_low") == t.ci_low
    assert "Satterthwaite" in html


def test_therapists_listed_in_identifier_order(report: ClinicReport, html: str) -> None:
    assert report.therapists is not None
    ids = [t.therapist_id for t in report.therapists.therapists]
    assert ids == sorted(ids)
    positions = [html.index(f"<td>{i}</td>") for i in ids]
    assert positions == sorted(positions)


def test_missing_adherence_says_why(scores: pd.DataFrame) -> None:
    rep = build_report(scores.head(600), alliance="sac_total", outcome="phq9_total")
    status = rep.section("moderation")
    assert not status.available and "--adherence" in status.reason
    out = render_html(rep)
    assert "This section is missing: no adherence column was given" in out
    assert rep.to_json_dict()["sections"][3]["available"] is False


def test_unregistered_alliance_scale_degrades_rupture_section(scores: pd.DataFrame) -> None:
    renamed = scores.head(900).rename(columns={"sac_total": "my_alliance"})
    rep = build_report(renamed, alliance="my_alliance", outcome="phq9_total")
    assert rep.section("early_alliance").available
    assert not rep.section("ruptures").available
    assert "my_alliance" in rep.section("ruptures").reason


def test_missing_outcome_column_is_an_input_error(scores: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="phq_total"):
        build_report(scores, alliance="sac_total", outcome="phq_total")


def test_result_tables_use_the_column_vocabulary(report: ClinicReport) -> None:
    from bordin.columns import check_result_columns

    results = [
        report.outcome_summary,
        report.early_alliance,
        report.moderation,
        report.ruptures,
        report.therapists,
    ]
    for result in results:
        assert result is not None
        frame = result.to_frame()  # type: ignore[attr-defined]
        assert len(frame) > 0
        assert check_result_columns(list(frame.columns)) == [], type(result).__name__
        assert isinstance(result.summary(), str)  # type: ignore[attr-defined]


def test_numbers_do_not_depend_on_row_order(scores: pd.DataFrame, report: ClinicReport) -> None:
    shuffled = scores.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again = build_report(
        shuffled, alliance="sac_total", outcome="phq9_total", adherence="adherence"
    ).numbers()
    first = report.numbers()
    assert again.keys() == first.keys()
    for key, value in first.items():
        # Iterative fits (the lagged model, tau^2) stop at their tolerance; sums in another
        # order differ in the last bits.
        rtol = (
            1e-6 if key.startswith(("lagged.", "therapists.", "early.mixed", "early.icc")) else 1e-9
        )
        np.testing.assert_allclose(again[key], value, rtol=rtol, atol=1e-12, err_msg=key)


@pytest.mark.parametrize(("n_clients", "seed"), [(1, 0), (12, 0), (25, 1)])
def test_small_clinics_render_with_reasons(n_clients: int, seed: int) -> None:
    clinic = simulate_clinic(
        SimulationConfig(n_clients=n_clients, clients_per_therapist=5), seed=seed
    )
    rep = build_report(
        clinic.scores, alliance="sac_total", outcome="phq9_total", adherence="adherence"
    )
    assert not all(s.available for s in rep.sections) or n_clients == 25
    out = render_html(rep)
    for s in rep.sections:
        if not s.available:
            assert s.reason
            assert f"This section is missing: {s.reason}"[:60] in out.replace("&#39;", "'")
    assert out.count("<figcaption>") == sum(s.available for s in rep.sections)


def test_pdf_is_the_html_report_laid_out(report: ClinicReport, tmp_path: Path) -> None:
    import io

    from pypdf import PdfReader

    from bordin.reports.report import render_pdf

    steps: list[str] = []
    path = tmp_path / "report.pdf"
    render_pdf(report, path, progress=steps.append)
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and steps == ["figures"]
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert all(s.title in text for s in report.sections)
    assert reader.metadata is not None
    assert reader.metadata.title == "Clinic report: clinic.csv"  # document title
