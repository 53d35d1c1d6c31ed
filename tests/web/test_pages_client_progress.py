"""A client's progress report: charts, scores, open alerts with sources; HTML, JSON and PDF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from e2e.pages_clinic import PASSWORD, PagesClinic, copy_pages_clinic
from support.pdf_layout import A4_POINTS, page_sizes, pdf_text

DISCLAIMER = "Bordin supports clinical judgement; it does not diagnose."


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, PagesClinic]]:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    app = create_app(
        Settings(database_url=clinic.url, demo=True, base_url="https://clinic.example")
    )
    with TestClient(app) as client:
        yield client, clinic


def _login(client: TestClient, username: str) -> None:
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def _client_reads(clinic: PagesClinic, client_id: int) -> int:
    from bordin.storage.engine import make_engine
    from bordin.storage.models import AuditEvent

    engine = make_engine(clinic.url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "client.read", AuditEvent.client_id == client_id)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_the_progress_report_has_charts_scores_alerts_and_the_disclaimer(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    client_id = clinic.clients["C-101"]
    path = f"/clients/{client_id}/progress"
    before = _client_reads(clinic, client_id)

    data = client.get(path, params={"format": "json"}).json()
    assert data["client"]["code"] == "C-101" and data["disclaimer"] == DISCLAIMER
    assert [p["session"] for p in data["alliance"]["sessions"]] == [1, 2, 3, 4]
    assert [s["score"] for s in data["symptoms"][0]["sessions"]] == [17, 16, 17, 21]
    rupture = next(a for a in data["alerts"] if a["kind"] == "rupture_open")
    assert rupture["explanation"] and rupture["references"]

    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    assert html.count('role="img"') == 2  # alliance and PHQ-9 charts, inline SVG
    assert "PHQ-9 by session" in html and DISCLAIMER in html
    assert escape(rupture["title"]) in html and escape(rupture["references"][0]) in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert _client_reads(clinic, client_id) == before + 2  # audited like the client page

    pdf = client.get(path, params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "progress-C-101.pdf" in pdf.headers["content-disposition"]
    text = pdf_text(pdf.content)
    for expected in (
        "Progress report: client C-101",
        "Alliance",
        "Symptoms",
        "Current alerts",
        rupture["title"],
        DISCLAIMER,
    ):
        assert expected in text, expected
    for width, height in page_sizes(pdf.content):
        assert (round(width), round(height)) == (round(A4_POINTS[0]), round(A4_POINTS[1]))

    page = client.get(f"/clients/{client_id}")
    assert f'href="/clients/{client_id}/progress"' in page.text


@pytest.mark.parametrize("fmt", [None, "json", "pdf"])
def test_another_therapists_client_has_no_progress_report(
    site: tuple[TestClient, PagesClinic], fmt: str | None
) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    params = {"format": fmt} if fmt else {}
    response = client.get(f"/clients/{clinic.clients['C-103']}/progress", params=params)
    assert response.status_code == 404
    assert "application/pdf" not in response.headers["content-type"]
    assert "C-103" not in response.text


def test_the_progress_report_needs_a_login(site: tuple[TestClient, PagesClinic]) -> None:
    client, clinic = site
    response = client.get(
        f"/clients/{clinic.clients['C-101']}/progress?format=pdf", follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_the_progress_report_shows_progress_in_words_not_status_codes(
    site: tuple[TestClient, PagesClinic],
) -> None:
    # The report to print or share showed "yellow (no_reliable_change)" and
    # "– (not_assessed)"; the client page's table says "no reliable change".
    client, clinic = site
    _login(client, clinic.users["therapist"])
    path = f"/clients/{clinic.clients['C-101']}/progress"
    statuses = {
        s["status"]
        for chart in client.get(path, params={"format": "json"}).json()["symptoms"]
        for s in chart["sessions"]
        if s["status"]
    }
    assert any("_" in status for status in statuses)  # the data keep their codes
    html = client.get(path).text
    assert not re.search(r"\((?:[a-z]+_)+[a-z]+\)", html), re.findall(r"\([a-z_]+\)", html)
    for status in statuses:
        assert f"({status.replace('_', ' ')})" in html
