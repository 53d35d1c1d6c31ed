"""The client's form in a second language (German): the pages' own text from the catalog,
questionnaire wording only from content packs, with a visible note where the pack is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from e2e.pages_clinic import PASSWORD, PagesClinic, copy_pages_clinic

PHQ9 = {1: 1, 2: 1, 3: 2, 4: 1, 5: 0, 6: 1, 7: 0, 8: 0, 9: 0}
# words of the English pages that must not be left in the German pages' own text
ENGLISH = re.compile(
    r"\b(the|your|you|answer|answers|question|questions|next|back|send|thank|please"
    r"|questionnaire|skip|therapist|supports)\b",
    re.IGNORECASE,
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, PagesClinic]]:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    app = create_app(Settings(database_url=clinic.url, demo=True, base_url="http://testserver"))
    with TestClient(app) as client:
        yield client, clinic


class _PageText(HTMLParser):
    """Visible text of a page, without what is marked as another language (``lang="en"``)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"meta", "link", "input", "br", "img"}:
            return
        other = dict(attrs).get("lang") == "en" and tag != "html"
        self.stack.append((tag, other or (bool(self.stack) and self.stack[-1][1])))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        # the <title> holds the questionnaire's title, which is in the wording's language
        skipped = self.stack and (
            self.stack[-1][1] or self.stack[-1][0] in {"script", "style", "title"}
        )
        if data.strip() and not skipped:
            self.chunks.append(data.strip())


def _own_text(html: str) -> str:
    parser = _PageText()
    parser.feed(html)
    return " ".join(parser.chunks)


def _german_link(client: TestClient, clinic: PagesClinic, instruments: tuple[str, ...] = ()) -> str:
    response = client.post(
        "/login", data={"username": clinic.users["therapist"], "password": PASSWORD}
    )
    assert response.status_code == 200
    c102 = clinic.clients["C-102"]
    choices = client.get(f"/clients/{c102}?format=json").json()["form_languages"]
    assert {c["code"]: c["name"] for c in choices} == {"de": "Deutsch", "en": "English"}
    assert next(c for c in choices if c["selected"])["code"] == "en"
    csrf = client.cookies.get("bordin_csrf")
    assert csrf
    created = client.post(
        f"/clients/{c102}/form-link?format=json",
        data={"csrf_token": csrf, "language": "de", "instrument": list(instruments)},
    )
    assert created.status_code == 201, created.text
    assert created.json()["form"]["language"] == "de"
    # the client's language is kept: the next link starts from it
    choices = client.get(f"/clients/{c102}?format=json").json()["form_languages"]
    assert next(c for c in choices if c["selected"])["code"] == "de"
    client.post("/logout", data={"csrf_token": csrf})
    client.cookies.clear()
    return str(created.json()["form"]["url"]).rsplit("/", 1)[1]


def test_a_german_link_shows_the_form_in_german_with_english_wording_marked(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    token = _german_link(client, clinic)

    page = client.get(f"/f/{token}?format=json").json()
    assert page["lang"] == "de" and page["content_lang"] == "en"
    assert page["disclaimer"] == (
        "Bordin unterstützt die klinische Urteilsbildung; es stellt keine Diagnosen."
    )
    # no German PHQ-9 is shipped: the English wording, with a note that says so
    assert page["instrument"]["language"] == "en"
    assert page["wording_note"] == (
        "Diesen Fragebogen gibt es in Ihrer Praxis nicht auf Deutsch, "
        "deshalb wird er auf Englisch angezeigt."
    )
    assert page["items"][0]["text"].startswith("Little interest")  # never invented

    html = client.get(f"/f/{token}").text
    assert '<html lang="de">' in html
    assert '<h1 lang="en">' in html
    for german in (
        "Fragebogen 1 von 1",
        "Antworten senden",
        "Zum Hauptinhalt springen",
        "deshalb wird er auf Englisch angezeigt",
    ):
        assert german in html, german
    own = _own_text(html)
    assert ENGLISH.findall(own) == [], own

    # a missing answer: the error summary and the message in German
    partial = {f"phq9.{k}": str(v) for k, v in PHQ9.items() if k != 4}
    error = client.post(f"/f/{token}", data={"step": "0", "go": "submit", **partial})
    assert error.status_code == 422
    assert "Bitte beantworten Sie noch 1 Frage" in error.text
    assert "Frage 4: Wählen Sie eine Antwort auf diese Frage." in error.text
    assert "<title>Fehler: " in error.text
    assert ENGLISH.findall(_own_text(error.text)) == []

    sent = client.post(
        f"/f/{token}",
        data={"step": "0", "go": "submit", **{f"phq9.{k}": str(v) for k, v in PHQ9.items()}},
        follow_redirects=True,
    )
    assert sent.status_code == 200
    assert "<h1>Vielen Dank</h1>" in sent.text
    assert "Notaufnahme" in sent.text  # the PHQ-9 asks about self-harm: the crisis note
    assert ENGLISH.findall(_own_text(sent.text)) == []

    used = client.get(f"/f/{token}", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert used.status_code == 409
    assert "Dieser Fragebogen wurde bereits abgeschickt" in used.text
    assert ENGLISH.findall(_own_text(used.text)) == []


def test_a_check_of_our_own_has_one_not_validated_note_in_the_forms_language(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    token = _german_link(client, clinic, ("sac",))
    page = client.get(f"/f/{token}?format=json").json()
    assert page["instrument"]["id"] == "sac" and page["instrument"]["validated"] is False
    html = client.get(f"/f/{token}").text
    notes = re.findall(r'<p class="instrument-notice"[^>]*>([^<]*)</p>', html)
    assert len(notes) == 1, notes
    assert "kein validierter Fragebogen" in notes[0]
    assert "psychometrically validated" not in html


@pytest.mark.parametrize(
    ("which", "status", "heading"),
    [
        ("expired", 410, "Dieser Link ist abgelaufen"),
        ("unknown", 404, "Dieser Link funktioniert nicht"),
    ],
)
def test_links_that_cannot_be_read_speak_the_browsers_language(
    site: tuple[TestClient, PagesClinic], which: str, status: int, heading: str
) -> None:
    client, clinic = site
    token = clinic.tokens.get(which, "no-such-token")
    german = client.get(f"/f/{token}", headers={"Accept-Language": "de-CH, en;q=0.5"})
    assert german.status_code == status
    assert f"<h1>{heading}</h1>" in german.text and '<html lang="de">' in german.text
    assert ENGLISH.findall(_own_text(german.text)) == []
    english = client.get(f"/f/{token}", headers={"Accept-Language": "fr, en;q=0.5"})
    assert '<html lang="en">' in english.text and "<h1>This link" in english.text


def test_a_language_without_a_catalog_is_refused_for_a_new_link(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    client.post("/login", data={"username": clinic.users["therapist"], "password": PASSWORD})
    response = client.post(
        f"/clients/{clinic.clients['C-102']}/form-link?format=json",
        data={"csrf_token": client.cookies.get("bordin_csrf") or "", "language": "xx"},
    )
    assert response.status_code == 422
    assert "'xx'" in response.json()["message"]
