"""The pages' assets: the stylesheet and the icon.

The stylesheet covers every kind of text field the templates use: the contact and schedule
fields of the forms-by-email page (``type="tel"`` and ``type="datetime-local"``) were left
out of the field styles, so on a phone they were small, unbordered boxes beside the
full-width fields around them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import bordin.web.pages as pages

PAGES = Path(pages.__file__).resolve().parent
# input types that are not text fields: drawn by the browser or by their own rules
NOT_FIELDS = {"hidden", "radio", "checkbox", "file", "submit", "button"}


def test_every_text_field_type_in_the_templates_is_styled() -> None:
    css = (PAGES / "static" / "bordin.css").read_text(encoding="utf-8")
    used = {
        kind
        for template in (PAGES / "templates").glob("*.html")
        for kind in re.findall(r'<input[^>]*\stype="([a-z-]+)"', template.read_text("utf-8"))
    }
    assert {"text", "tel", "datetime-local"} <= used
    unstyled = sorted(kind for kind in used - NOT_FIELDS if f'input[type="{kind}"]' not in css)
    assert unstyled == []


@pytest.fixture
def site(tmp_path: Path) -> TestClient:
    from bordin.settings import Settings
    from bordin.storage import upgrade_database
    from bordin.web.app import create_app

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    upgrade_database(url)
    return TestClient(create_app(Settings(database_url=url, demo=True)))


def test_the_browsers_own_icon_request_finds_the_icon(site: TestClient) -> None:
    # Pages that link no icon (the clinic report and the progress report, self-contained
    # files) made the browser ask for /favicon.ico, a 404 in the console of each.
    response = site.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text == site.get("/assets/favicon.svg").text
