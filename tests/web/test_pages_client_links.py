"""A newer link cancels the older one, and a client is never left with raw JSON or lost answers.

Item 2 of issue 14: a therapist makes a second link for the same session; the client still
has the first one open. The first link is cancelled (audited), opening it says kindly that
it was replaced, and sending on it shows the answers the client chose instead of dropping
them. Every error on a ``/f/...`` path is an HTML page unless ``?format=json`` asks for the
JSON twin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

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


def _answers() -> dict[str, str]:
    data = {f"sac.{k}": str(v) for k, v in SAC.items()}
    data.update({f"phq9.{k}": str(v) for k, v in PHQ9.items()})
    return data


def _new_link_for_c101(client: TestClient, clinic: PagesClinic) -> str:
    """The therapist makes C-101's next link (session 5 has no answers: the same session)."""
    client.post("/login", data={"username": clinic.users["therapist"], "password": PASSWORD})
    csrf = client.cookies.get("bordin_csrf")
    assert csrf
    made = client.post(
        f"/clients/{clinic.clients['C-101']}/form-link?format=json",
        data={"csrf_token": csrf, "instrument": ["sac", "phq9"]},
    )
    assert made.status_code == 201, made.text
    assert made.json()["form"]["session"] == 5
    client.cookies.clear()  # the client has no login
    return str(made.json()["form"]["url"].rsplit("/", 1)[1])


def _is_html_page(response: object) -> str:
    headers = response.headers  # type: ignore[attr-defined]
    text = str(response.text)  # type: ignore[attr-defined]
    assert headers["content-type"].startswith("text/html"), text[:200]
    assert '{"error"' not in text and '"detail"' not in text
    assert "<h1>" in text
    return text


def test_a_new_link_cancels_the_older_one_with_an_audit_row(
    site: tuple[TestClient, PagesClinic],
) -> None:
    from bordin.storage import make_engine, make_session_factory, transaction
    from bordin.storage.credentials import hash_token
    from bordin.storage.models import AuditEvent, FormRequest

    client, clinic = site
    newer = _new_link_for_c101(client, clinic)
    old = client.get(f"/f/{clinic.open_token}?format=json")
    assert old.status_code == 410
    assert old.json()["state"] == "replaced"
    html = client.get(f"/f/{clinic.open_token}")
    assert html.status_code == 410
    text = _is_html_page(html)
    assert "This link was replaced by a newer one" in text
    assert "newest link" in text and "<form" not in text
    assert client.get(f"/f/{newer}?format=json").json()["state"] == "open"
    # other clients' links are untouched
    assert client.get(f"/f/{clinic.waiting_token}?format=json").json()["state"] == "open"

    engine = make_engine(clinic.url)
    try:
        with transaction(make_session_factory(engine)) as db:
            older = db.scalar(
                select(FormRequest).where(FormRequest.token_hash == hash_token(clinic.open_token))
            )
            made = db.scalar(select(FormRequest).where(FormRequest.token_hash == hash_token(newer)))
            assert older is not None and made is not None
            events = db.scalars(
                select(AuditEvent).where(AuditEvent.action == "form_request.cancel")
            ).all()
            assert [(e.object_id, e.detail["replaced_by"]) for e in events] == [(older.id, made.id)]
            assert events[0].actor_id is not None  # the therapist who made the new link
    finally:
        engine.dispose()


def test_sending_on_a_replaced_link_shows_the_answers_instead_of_dropping_them(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _new_link_for_c101(client, clinic)
    data = {"step": "1", "go": "submit", **_answers()}
    twin = client.post(f"/f/{clinic.open_token}?format=json", data=data)
    assert twin.status_code == 410 and twin.json()["state"] == "replaced"
    unsent = {form["instrument"]: form for form in twin.json()["unsent"]}
    assert [a["number"] for a in unsent["phq9"]["answers"]] == list(PHQ9)
    assert unsent["phq9"]["answers"][0]["answer"] == "Several days"  # PHQ9[1] == 1
    html = client.post(f"/f/{clinic.open_token}", data=data)
    assert html.status_code == 410
    text = _is_html_page(html)
    assert "Your answers (not sent)" in text
    assert "were not sent" in text
    assert "Several days" in text and "Little interest or pleasure" in text
    # a step (not the last) on the replaced link keeps the answers too
    step = client.post(f"/f/{clinic.open_token}", data={"step": "0", "go": "next", **_answers()})
    assert step.status_code == 410 and "Your answers (not sent)" in step.text


def test_sending_on_a_link_answered_meanwhile_shows_what_happened_and_the_answers(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    data = {"step": "1", "go": "submit", **_answers()}
    first = client.post(f"/f/{clinic.open_token}", data=data, follow_redirects=False)
    assert first.status_code == 303
    changed = {**data, "phq9.1": "3"}  # the same link, sent again from another tab
    again = client.post(f"/f/{clinic.open_token}", data=changed)
    assert again.status_code == 409
    text = _is_html_page(again)
    assert "This form has already been sent" in text
    assert re.search(r"received on \d{4}-\d{2}-\d{2}", text)
    assert "Nearly every day" in text  # what they chose this time, not silently dropped


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/f/no-such-token", 404),
        ("GET", "/f/no-such-token/thanks", 404),
        ("GET", "/f/a/b/c", 404),
        ("PUT", "/f/{open}", 405),
        ("GET", "/f/{used}", 409),
        ("POST", "/f/{used}", 409),
        ("GET", "/f/{expired}", 410),
        ("POST", "/f/{expired}", 410),
        ("GET", "/f/{expired}/thanks", 410),
    ],
)
def test_every_client_error_is_an_html_page(
    site: tuple[TestClient, PagesClinic], method: str, path: str, status: int
) -> None:
    client, clinic = site
    url = path.format(open=clinic.open_token, used=clinic.used_token, expired=clinic.expired_token)
    response = client.request(method, url, data={"step": "0"} if method == "POST" else None)
    assert response.status_code == status
    _is_html_page(response)
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-frame-options"] == "DENY"


def test_rejected_answers_are_an_html_page_that_keeps_them(
    site: tuple[TestClient, PagesClinic], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bordin.storage.actions.forms as forms
    from bordin.errors import InputError

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise InputError("this item is required", item="phq9:4")

    monkeypatch.setattr(forms, "validate_answers", refuse)
    client, clinic = site
    response = client.post(
        f"/f/{clinic.open_token}", data={"step": "1", "go": "submit", **_answers()}
    )
    assert response.status_code == 422
    text = _is_html_page(response)
    assert "Your answers could not be sent" in text and "Your answers (not sent)" in text


def test_too_many_requests_is_an_html_page(tmp_path: Path) -> None:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    app = create_app(Settings(database_url=clinic.url, demo=True, token_rate_limit=1))
    with TestClient(app) as client:
        # only unusable links are counted (genuine forms never are): one unknown link uses
        # up the limit of 1, and the next request from the address is refused
        assert client.get("/f/not-a-real-token").status_code == 404
        limited = client.post(f"/f/{clinic.open_token}", data=_answers())
        assert limited.status_code == 429
        assert "Please wait a moment" in _is_html_page(limited)


@pytest.mark.parametrize(
    ("error", "status", "heading"),
    [
        ("bug", 500, "Something went wrong on our side"),
        ("busy", 503, "Please try again in a moment"),
        ("race", 409, "This form has already been sent"),
    ],
)
def test_unexpected_errors_on_client_pages_are_html(
    site: tuple[TestClient, PagesClinic],
    monkeypatch: pytest.MonkeyPatch,
    error: str,
    status: int,
    heading: str,
) -> None:
    from sqlalchemy.exc import IntegrityError, OperationalError

    import bordin.storage.queries.forms as queries

    def broken(*_args: object, **_kwargs: object) -> None:
        if error == "bug":
            raise RuntimeError("a bug")
        if error == "busy":
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    monkeypatch.setattr(queries, "get_form_content", broken)
    client, clinic = site
    response = client.get(f"/f/{clinic.open_token}")
    assert response.status_code == status
    text = _is_html_page(response)
    assert heading in text
    assert "a bug" not in text and "Traceback" not in text
