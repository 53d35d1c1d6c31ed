"""Alerts on the client page and the caseload speak clinic: instrument names, whole-number
PHQ-9 scores, the colours explained next to them, and a risk item's wording and answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from e2e.pages_clinic import PASSWORD, PagesClinic, copy_pages_clinic, phq9_answers, sac_answers


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, PagesClinic]]:
    from bordin.settings import Settings
    from bordin.storage import make_engine, make_session_factory, transaction
    from bordin.storage.actions import record_submission
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    engine = make_engine(clinic.url)
    with transaction(make_session_factory(engine)) as db:  # C-101 answers item 9
        record_submission(
            db,
            token=clinic.open_token,
            answers={"sac": sac_answers(3, 3, 3), "phq9": phq9_answers(22, item9=2)},
        )
    engine.dispose()
    app = create_app(
        Settings(database_url=clinic.url, demo=True, base_url="https://clinic.example")
    )
    with TestClient(app) as client:
        response = client.post(
            "/login",
            data={"username": clinic.users["therapist"], "password": PASSWORD},
            follow_redirects=False,
        )
        assert response.status_code == 303
        yield client, clinic


def _json(client: TestClient, path: str) -> Any:
    response = client.get(path, params={"format": "json"})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_client_page_shows_alerts_in_clinic_words_with_a_colour_legend(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    path = f"/clients/{clinic.clients['C-101']}"
    page = _json(client, path)
    alerts = {a["kind"]: a for a in page["alerts"]}
    risk = alerts["risk"]
    assert risk["title"] == "Risk item endorsed: PHQ-9 item 9"
    assert (
        'the client answered "More than half the days" to PHQ-9 item 9 ("Thoughts that you '
        'would be better off dead or of hurting yourself in some way")'
    ) in risk["explanation"]
    assert risk["references"]
    track = alerts["not_on_track"]
    assert track["title"] in (
        "Not on track on PHQ-9 (red)",
        "Less progress than expected on PHQ-9 (yellow)",
    )
    assert (
        "phq9" not in track["explanation"]
        and "PHQ-9 went from 17 at intake to 22" in (track["explanation"])
    )
    assert not re.search(r"\d\.\d", track["explanation"])  # PHQ-9 scores are whole numbers
    colour = track["title"].rsplit("(", 1)[1].rstrip(")")
    assert f"{colour.capitalize()}: " in track["explanation"]
    legend = {row["colour"]: row["meaning"] for row in page["colour_legend"]}
    assert legend["red"].startswith("red: not on track")
    html = client.get(path).text
    assert 'data-colour="red"' in html and "red: not on track" in html
    assert "Thoughts that you would be better off dead" in html


def test_the_caseload_explains_the_colours_it_shows(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, _clinic = site
    page = _json(client, "/caseload")
    top = {c["code"]: c["top_alert"] for c in page["clients"]}
    assert top["C-101"] == "Risk item endorsed: PHQ-9 item 9"
    assert [row["colour"] for row in page["colour_legend"]] == ["red", "yellow", "green", "white"]
    html = client.get("/caseload").text
    assert 'class="colour-legend"' in html and "yellow: less progress than expected" in html


def test_progress_is_shown_in_words_not_as_a_colour_name(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    words = {
        "red": "Not on track",
        "yellow": "Less progress than expected",
        "green": "On track",
        "white": "Below the clinical cutoff",
    }
    rows = {c["code"]: c for c in _json(client, "/caseload")["clients"]}
    c101 = rows["C-101"]
    assert c101["colour"] in ("red", "yellow") and c101["progress"] == words[c101["colour"]]
    cells = re.findall(r'<td data-label="Progress">(.*?)</td>', client.get("/caseload").text)
    shown = [re.sub(r"<[^>]+>", "", cell) for cell in cells]
    assert words[c101["colour"]] in shown
    assert not set(shown) & set(words)  # never "red", "white" as the status
    path = f"/clients/{clinic.clients['C-101']}"
    phq9 = next(c for c in _json(client, path)["symptoms"] if c["instrument"] == "phq9")
    latest = [s for s in phq9["sessions"] if s["colour"]][-1]
    assert latest["progress"] == words[latest["colour"]]
    for html in (client.get(path).text, client.get(f"{path}/progress").text):
        assert f"<td>{latest['progress']}" in html
        assert not re.search(r"<td>(red|yellow|green|white)\b", html)
