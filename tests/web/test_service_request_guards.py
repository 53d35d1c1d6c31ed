"""Writes from other sites and oversized bodies are refused before parsing
(issue 21, item 6)."""

from __future__ import annotations

import json

import pytest

from web.service_world import PASSWORD, World

API = "/api/v1"


def _new_client(world: World, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    client = world.login("ta1")
    return client.post(f"{API}/clients", json={"code": "guarded"}, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
    ],
)
def test_cookie_writes_from_another_site_are_refused(world: World, headers: dict[str, str]) -> None:
    response = _new_client(world, headers)
    assert response.status_code == 403, response.text
    assert "another" in response.json()["error"]["message"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "http://testserver"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        {"Sec-Fetch-Site": "none"},
        # a browser's own form under Referrer-Policy: no-referrer (what Chromium sends)
        {"Sec-Fetch-Site": "same-origin", "Origin": "null"},
        {"Origin": "null"},
    ],
)
def test_same_origin_writes_pass(world: World, headers: dict[str, str]) -> None:
    assert _new_client(world, headers).status_code == 201


def test_a_page_form_and_a_login_from_another_site_are_refused(world: World) -> None:
    client = world.anonymous()
    login = client.post(
        "/login",
        data={"username": "ta1@test", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert login.status_code == 403 and "bordin_session" not in client.cookies
    staff = world.login("ta1")
    csrf = staff.cookies.get("bordin_csrf") or ""
    page = staff.post(
        "/logout",
        data={"csrf_token": csrf},
        headers={"Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert page.status_code == 403
    # reads are not writes: a link from another site still opens a page
    assert staff.get("/caseload", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


def test_a_client_form_link_needs_no_origin(world: World) -> None:
    """The client's form (no login) is not a cookie-authenticated write."""
    response = world.anonymous().get(
        f"{API}/forms/{world.open_tokens['ta1']}", headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 200


def test_a_10_mb_json_body_is_refused_before_parsing(world: World) -> None:
    client = world.login("ta1")
    body = json.dumps({"code": "x", "padding": "a" * 10_000_000})
    response = client.post(
        f"{API}/clients", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_a_chunked_body_is_cut_off_at_the_limit(world: World) -> None:
    client = world.login("ta1")
    sent: list[int] = []

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):  # 10 MB in 100 kB chunks, no Content-Length
            sent.append(1)
            yield b"a" * 100_000

    response = client.post(
        f"{API}/clients", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text


def test_an_anonymous_oversized_submission_is_refused(world: World) -> None:
    big = {"answers": {"phq9": {str(i): 1 for i in range(1, 10)}}, "pad": "x" * 6_000_000}
    response = world.anonymous().post(f"{API}/forms/{world.open_tokens['ta1']}", json=big)
    assert response.status_code == 413
