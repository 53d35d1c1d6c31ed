"""Every page route answers hostile ids with a 4xx, never a server error (issue 21, item 8).

schemathesis covers the OpenAPI routes (``test_service_openapi_fuzz.py``); the pages are
not in the schema, so this test walks the app's own route table: every page route, every
path parameter and every id-bearing form field, with ids out of the 32-bit and 64-bit
ranges, negative, zero, words and non-ASCII digits.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from web.service_world import PASSWORD, World

HOSTILE = [
    "99999999999999999999",
    "9223372036854775808",
    "9223372036854775807",
    "2147483648",
    "0",
    "-1",
    "abc",
    "1e3",
    "²",
]
# In a form field these are refused too; in a path, the framework may read them as 1.
HOSTILE_IN_FORMS = [*HOSTILE, "١", " 1 ", "1.0"]
ID_FIELDS = ("team_id", "therapist_id", "episode_id", "session_id", "client_id", "user_id")
CARE_CHANGES = ("close", "reopen", "session", "date", "paper", "transfer", "defaults", "nope")


def _page_routes(world: World) -> list[APIRoute]:
    """The routes of every page module (each has a ``router``), as the app includes them."""
    import bordin.web.pages as pages

    routes: list[APIRoute] = []
    for info in pkgutil.iter_modules(pages.__path__, prefix="bordin.web.pages."):
        router = getattr(importlib.import_module(info.name), "router", None)
        if router is not None:
            routes += [r for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 20  # the walk reaches the pages, not an empty table
    return routes


def _login_page(world: World, name: str) -> tuple[TestClient, str]:
    client = world.anonymous()
    client.post(
        "/login", data={"username": f"{name}@test", "password": PASSWORD}, follow_redirects=False
    )
    token = client.cookies.get("bordin_csrf")
    assert token
    return client, token


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "1"), path)


def _assert_no_server_error(response, what: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"


@pytest.mark.parametrize("actor", ["aa", "ta1"])
def test_hostile_path_ids_are_not_found(world: World, actor: str) -> None:
    client, csrf = _login_page(world, actor)
    for route in _page_routes(world):
        names = re.findall(r"\{(\w+)", route.path)
        ids = [n for n in names if n.endswith("_id")]
        if not ids:
            continue
        for value in HOSTILE:
            for name in ids:
                filled = _fill(route.path, {name: value, "what": "close"})
                for method in sorted(route.methods):
                    response = client.request(
                        method, filled, data={"csrf_token": csrf}, follow_redirects=False
                    )
                    _assert_no_server_error(response, f"{method} {filled}")
                    assert response.status_code == 404, f"{method} {filled}"


@pytest.mark.parametrize("value", HOSTILE_IN_FORMS)
def test_hostile_form_ids_are_refused_cleanly(world: World, value: str) -> None:
    client, csrf = _login_page(world, "aa")
    real = {
        "client_id": str(world.clients["ta1"]),
        "user_id": str(world.users["ta1"]),
        "alert_id": str(world.alerts["ta1"]),
        "session_id": str(world.sessions["ta1"]),
        "token": world.open_tokens["ta1"],
    }
    form = {"csrf_token": csrf, "role": "therapist", "username": "x@test", "password": "p"}
    form |= {name: value for name in ID_FIELDS}
    for route in _page_routes(world):
        if "POST" not in route.methods or route.path in {"/logout", "/login"}:
            continue
        changes = CARE_CHANGES if "{what}" in route.path else ("",)
        for what in changes:
            filled = _fill(route.path, real | {"what": what})
            response = client.post(filled, data=form, follow_redirects=False)
            _assert_no_server_error(response, f"POST {filled} with ids {value!r}")
