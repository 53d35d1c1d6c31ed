"""``/login?next=`` goes only to a page of this app (issue 21, item 5).

The bypass list gathers the usual open-redirect payloads (PortSwigger's and OWASP's
cheat-sheet forms): protocol-relative and backslash hosts, encoded and double-encoded
slashes, tabs and newlines that browsers strip, schemes, userinfo and unicode look-alikes.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from web.service_world import PASSWORD, World

BYPASSES = [
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/%00/evil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "/ /evil.example",
    "/\t/evil.example",
    "/\u3000/evil.example",
    "/\u2025/evil.example",
    "/．/evil.example",
    "https://evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example@testserver",
    "/@evil.example",
    "/.//evil.example",
    "/./caseload/..//evil.example",
    "/../evil.example",
    "evil.example",
    "/caseload\\@evil.example",
    "/%E2%80%AE/evil.example",
    "/%ff%fe",
    "/no-such-page",
    "/api/v1/clients",  # an API route, not a page: nobody is sent to JSON after login
    "/clients/1/%2e%2e/%2e%2e/evil.example",
]
KEPT = {
    "/caseload": "/caseload",
    "/clients/3": "/clients/3",
    "/clients/3?acknowledged=2": "/clients/3?acknowledged=2",
    "/clients/%33": "/clients/3",
    "/team": "/team",
}


def _login_form_next(client: TestClient, given: str) -> str:
    response = client.get("/login", params={"next": given, "format": "json"})
    assert response.status_code == 200, response.text
    return str(response.json()["next"])


@pytest.mark.parametrize("given", BYPASSES)
def test_bypass_forms_go_home(world: World, given: str) -> None:
    client = world.anonymous()
    assert _login_form_next(client, given) == "/caseload"
    response = client.post(
        "/login",
        data={"username": "ta1@test", "password": PASSWORD, "next": given},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/caseload"
    # Signed in, /login?next= redirects straight away: the same check applies.
    again = client.get("/login", params={"next": given}, follow_redirects=False)
    assert again.headers["location"] == "/caseload"


@pytest.mark.parametrize(("given", "expected"), sorted(KEPT.items()))
def test_pages_of_the_app_are_kept(world: World, given: str, expected: str) -> None:
    client = world.anonymous()
    assert _login_form_next(client, given) == expected
    response = client.post(
        "/login",
        data={"username": "ta1@test", "password": PASSWORD, "next": given},
        follow_redirects=False,
    )
    assert response.headers["location"] == expected
