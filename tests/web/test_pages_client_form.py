"""The client's form behind a one-time link, step by step, through the app (no browser).

The JSON twin (``?format=json``) of each step is the same context the HTML is drawn from,
so these tests check data; the browser tests check the same pages in Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from e2e.pages_clinic import PASSWORD, PagesClinic, copy_pages_clinic

SAC = {1: 4, 2: 4, 3: 3, 4: 4, 5: 4, 6: 3, 7: 0, 9: 0, 10: 0}
PHQ9 = {1: 1, 2: 1, 3: 2, 4: 1, 5: 0, 6: 1, 7: 0, 8: 0, 9: 0}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, PagesClinic]]:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    app = create_app(Settings(database_url=clinic.url, demo=True, base_url="http://testserver"))
    with TestClient(app) as client:
        yield client, clinic


def _fields(instrument: str, answers: dict[int, int]) -> dict[str, str]:
    return {f"{instrument}.{item}": str(value) for item, value in answers.items()}


def _step(client: TestClient, token: str, data: dict[str, str]) -> Any:
    return client.post(f"/f/{token}?format=json", data=data, follow_redirects=False)


def test_the_first_step_is_the_first_instrument_with_its_wording_and_notice(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    response = client.get(f"/f/{clinic.open_token}?format=json")
    assert response.status_code == 200
    page = response.json()
    assert page["state"] == "open"
    assert (page["step_number"], page["steps"]) == (1, 2)
    assert page["instrument"]["id"] == "sac"
    assert page["instrument"]["notice"]  # the instrument's required notice
    assert page["instrument"]["validated"] is False
    assert page["step_titles"][1].startswith("Patient Health")
    assert [i["number"] for i in page["items"]] == list(range(1, 11))
    first = page["items"][0]
    assert first["kind"] == "radio" and first["required"] is True
    assert [o["value"] for o in first["options"]] == ["1", "2", "3", "4", "5"]
    assert all(o["label"] for o in first["options"])
    conditional = page["items"][7]
    assert conditional["asked_if"]["field"] == "sac.7"
    assert conditional["required"] is False
    assert page["disclaimer"] == "Bordin supports clinical judgement; it does not diagnose."
    assert "score" not in response.text.lower()
    html = client.get(f"/f/{clinic.open_token}")
    assert html.headers["content-security-policy"].startswith("default-src 'self'")
    assert 'lang="en"' in html.text
    assert "Bordin supports clinical judgement; it does not diagnose." in html.text


def test_a_step_with_a_missing_answer_comes_back_with_errors_and_the_answers_kept(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    partial = {k: v for k, v in SAC.items() if k not in (2, 5)}
    response = _step(
        client, clinic.open_token, {"step": "0", "go": "next", **_fields("sac", partial)}
    )
    assert response.status_code == 422
    page = response.json()
    assert page["step"] == 0
    assert [e["item"] for e in page["errors"]] == [2, 5]
    assert page["errors"][0]["href"] == "#item-sac-2"
    assert page["title"].startswith("Error: ")
    checked = {
        i["number"]: [o["value"] for o in i["options"] if o["checked"]] for i in page["items"]
    }
    assert checked[1] == ["4"] and checked[2] == []


def test_an_answer_outside_the_codes_counts_as_missing(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    bad = {**_fields("sac", SAC), "sac.1": "9"}
    page = _step(client, clinic.open_token, {"step": "0", "go": "next", **bad}).json()
    assert [e["item"] for e in page["errors"]] == [1]


def test_next_and_back_carry_the_answers_and_store_nothing(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    page = _step(
        client, clinic.open_token, {"step": "0", "go": "next", **_fields("sac", SAC)}
    ).json()
    assert page["step"] == 1 and page["instrument"]["id"] == "phq9"
    hidden = {f["name"]: f["value"] for f in page["hidden"]}
    assert hidden == {f"sac.{k}": str(v) for k, v in SAC.items()}
    # nothing is stored yet: the link still opens
    assert client.get(f"/f/{clinic.open_token}?format=json").json()["state"] == "open"
    back = _step(
        client,
        clinic.open_token,
        {"step": "1", "go": "back", **hidden, **_fields("phq9", {1: 2})},
    ).json()
    assert back["step"] == 0
    checked = {
        i["number"]: [o["value"] for o in i["options"] if o["checked"]] for i in back["items"]
    }
    assert checked[1] == ["4"] and checked[3] == ["3"]
    assert {f["name"]: f["value"] for f in back["hidden"]} == {"phq9.1": "2"}


def test_sending_the_last_step_stores_everything_once_and_thanks_without_scores(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    data = {
        "step": "1",
        "go": "submit",
        **_fields("sac", SAC),
        "sac.8": "3",  # a stale answer to the conditional item (no tension reported)
        **_fields("phq9", PHQ9),
    }
    response = client.post(f"/f/{clinic.open_token}", data=data, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/f/{clinic.open_token}/thanks"
    thanks = client.get(f"/f/{clinic.open_token}/thanks?format=json").json()
    assert thanks["state"] == "submitted"
    assert thanks["safety"] is True  # the PHQ-9 asks about self-harm
    assert thanks["crisis_text"] is None  # the clinic has not set one
    assert set(thanks) == {
        "disclaimer",
        "title",
        "lang",
        "user",
        "nav",
        "state",
        "safety",
        "crisis_text",
    }
    again = client.post(f"/f/{clinic.open_token}?format=json", data=data)
    assert again.status_code == 409 and again.json()["state"] == "used"

    # the therapist sees exactly these answers (item 8 dropped: it did not apply)
    client.post("/login", data={"username": clinic.users["therapist"], "password": PASSWORD})
    page = client.get(f"/clients/{clinic.clients['C-101']}?format=json").json()
    session5 = next(s for s in page["item_detail"] if s["session"] == 5)
    stored = {
        block["instrument"]: {row["item"]: row["value"] for row in block["items"]}
        for block in session5["instruments"]
    }
    assert stored["sac"] == SAC
    assert stored["phq9"] == PHQ9
    phq9 = next(c for c in page["symptoms"] if c["instrument"] == "phq9")
    assert phq9["sessions"][-1] == {
        **phq9["sessions"][-1],
        "session": 5,
        "score": sum(PHQ9.values()),
    }


def test_an_incomplete_earlier_step_is_shown_again_on_sending(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    data = {"step": "1", "go": "submit", **_fields("phq9", PHQ9), "sac.1": "4"}
    page = _step(client, clinic.open_token, data).json()
    assert page["step"] == 0 and page["instrument"]["id"] == "sac"
    assert [e["item"] for e in page["errors"]] == [2, 3, 4, 5, 6, 7, 9, 10]
    assert client.get(f"/f/{clinic.open_token}?format=json").json()["state"] == "open"


@pytest.mark.parametrize(
    ("which", "status", "state"),
    [("expired", 410, "expired"), ("used", 409, "used"), ("unknown", 404, "invalid")],
)
def test_links_that_cannot_be_used_say_why(
    site: tuple[TestClient, PagesClinic], which: str, status: int, state: str
) -> None:
    client, clinic = site
    token = clinic.tokens.get(which, "no-such-token")
    response = client.get(f"/f/{token}?format=json")
    assert response.status_code == status
    page = response.json()
    assert page["state"] == state
    assert page["heading"] and page["message"] and page["details"]
    html = client.get(f"/f/{token}")
    assert "<form" not in html.text
    assert html.headers["x-robots-tag"] == "noindex, nofollow"


def test_the_thank_you_page_of_an_unsent_form_goes_back_to_the_form(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    response = client.get(f"/f/{clinic.open_token}/thanks", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/f/{clinic.open_token}"


def test_unusable_form_links_are_rate_limited(tmp_path: Path) -> None:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    app = create_app(Settings(database_url=clinic.url, demo=True, token_rate_limit=2))
    with TestClient(app) as client:
        # Genuine use is not counted: the open link works any number of times.
        for _ in range(4):
            assert client.get(f"/f/{clinic.open_token}").status_code == 200
        assert client.get("/f/guess-1").status_code == 404
        assert client.post("/f/guess-2", data={"go": "next"}).status_code == 404
        limited = client.get(f"/f/{clinic.open_token}?format=json")
        assert limited.status_code == 429
        assert limited.json()["state"] == "rate_limited"


def test_the_assets_are_served_by_the_app(site: tuple[TestClient, PagesClinic]) -> None:
    client, _clinic = site
    css = client.get("/assets/bordin.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "prefers-reduced-motion" in css.text and ":focus-visible" in css.text
    assert "http" not in css.text  # nothing fetched from elsewhere
    js = client.get("/assets/bordin.js")
    assert js.status_code == 200 and "fetch(" not in js.text
