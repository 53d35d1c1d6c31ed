"""The clinic report as a PDF: the HTML report itself on A4, tagged, nothing fetched."""

from __future__ import annotations

import io

import pytest

from bordin.errors import InputError
from bordin.reports.pdf import html_to_pdf, layout_pdf
from bordin.reports.report import ClinicReport, build_report, render_html, render_pdf
from bordin.simulate import SimulationConfig, simulate_clinic, simulate_therapist_ratings
from support.pdf_layout import A4_POINTS, boxes_by_page, overflowing_boxes, page_sizes, pdf_text


@pytest.fixture(scope="module")
def report() -> ClinicReport:
    # with therapist session checks, so the congruence section is laid out too
    clinic = simulate_clinic(SimulationConfig(n_clients=160, clients_per_therapist=10), seed=8)
    scores = simulate_therapist_ratings(clinic, seed=9).scores
    return build_report(
        scores,
        alliance="sac_total",
        outcome="phq9_total",
        adherence="adherence",
        source="scores.csv",
    )


@pytest.fixture(scope="module")
def pdf_bytes(report: ClinicReport, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    render_pdf(report, path)
    return path.read_bytes()


def test_pdf_has_the_prose_headings_and_references(report: ClinicReport, pdf_bytes: bytes) -> None:
    text = pdf_text(pdf_bytes)
    for heading in (
        "The clinic's own evidence",
        "At a glance: the literature and this clinic",
        *(s.title for s in report.sections),
        "Methods and references",
    ):
        assert heading in text, heading
    assert "congruence" in [s.key for s in report.sections]
    assert "Bordin supports clinical judgement; it does not diagnose." in text
    assert "Published figures come from meta-analyses of many studies" in text
    assert "Flückiger" in text and "Page 1 of" in text


def test_pdf_is_a4_tagged_and_titled(pdf_bytes: bytes) -> None:
    from pypdf import PdfReader

    sizes = page_sizes(pdf_bytes)
    assert len(sizes) >= 3
    for width, height in sizes:
        assert width == pytest.approx(A4_POINTS[0], abs=0.5)
        assert height == pytest.approx(A4_POINTS[1], abs=0.5)
    reader = PdfReader(io.BytesIO(pdf_bytes))
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root and root["/Lang"] == "en"
    assert reader.metadata is not None and reader.metadata.title == "Clinic report: scores.csv"


def test_no_table_or_figure_runs_past_the_page(report: ClinicReport) -> None:
    html = render_html(report)
    document = layout_pdf(html)
    assert overflowing_boxes(document) == []
    # every figure sits on one page: a figure split over two pages would be counted twice
    assert sum(boxes_by_page(document, "figure")) == html.count("<figure")


def test_external_resources_are_refused() -> None:
    for ref in (
        '<img src="http://127.0.0.1:9/x.png" alt="x">',
        '<link rel="stylesheet" href="file:///etc/hostname">',
    ):
        with pytest.raises(InputError, match="inline resources only"):
            html_to_pdf(f"<!doctype html><html lang='en'><body>{ref}<p>x</p></body></html>")


def test_inline_data_images_are_allowed() -> None:
    pixel = (
        "data:image/svg+xml;base64,"
        "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxIiBoZWlnaHQ9IjEiLz4="
    )
    data = html_to_pdf(
        f"<!doctype html><html lang='en'><title>t</title><body><p>Hello</p>"
        f"<img src='{pixel}' alt='dot'></body></html>"
    )
    assert "Hello" in pdf_text(data)
