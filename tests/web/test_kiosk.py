"""Kiosk mode (issue 17): staff unlock a device for one client's form; after sending (or
the timeout) it locks; nothing else is reachable from it, and leaving needs a staff
sign-in by someone who may see the client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from starlette.routing import Mount, Route

from bordin.errors import NotFound
from bordin.storage import actions, transaction
from bordin.storage.exceptions import LinkExpired
from bordin.storage.models import FormRequest, ItemResponse, KioskSession, RiskEvent
from bordin.web.kiosk_guard import KIOSK_COOKIE, KIOSK_PATHS, KioskConfinement
from bordin.web.security import SESSION_COOKIE
from web.service_world import BACKENDS, PASSWORD, PHQ9_RISK, World

PHQ9_FIELDS = {f"phq9.{item}": str(value) for item, value in PHQ9_RISK.items()}


def _page_login(world: World, user: str) -> TestClient:
    device = world.anonymous()
    response = device.post(
        "/login", data={"username": f"{user}@test", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return device


def _start(
    world: World, user: str = "ta1", client: str = "ta1", device: TestClient | None = None
) -> TestClient:
    device = device or _page_login(world, user)
    response = device.post(
        f"/clients/{world.clients[client]}/kiosk",
        data={"csrf_token": device.cookies.get("bordin_csrf"), "instrument": ["phq9"]},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/kiosk"
    return device


def _kiosk_csrf(page: str) -> str:
    found = re.search(r'name="kiosk_csrf" value="([0-9a-f]+)"', page)
    assert found is not None, "no kiosk CSRF field on the page"
    return found.group(1)


def _kiosk(world: World) -> KioskSession:
    with transaction(world.sessions_factory) as db:
        kiosk = db.scalar(select(KioskSession).order_by(KioskSession.id.desc()))
        assert kiosk is not None
        db.expunge(kiosk)
        return kiosk


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_a_client_fills_in_the_form_on_the_kiosk_and_it_locks(world: World) -> None:
    with transaction(world.sessions_factory) as db:
        from bordin.storage.models import Clinic

        db.execute(update(Clinic).values(crisis_text="Crisis line 0800 111 0 111"))
    device = _page_login(world, "ta1")
    staff_token = device.cookies.get(SESSION_COOKIE)
    device = _start(world, device=device)
    # the staff member is signed out on this device, and that login session has ended
    assert device.cookies.get(SESSION_COOKIE) is None
    elsewhere = world.anonymous()
    elsewhere.cookies.set(SESSION_COOKIE, staff_token or "")
    assert elsewhere.get("/api/v1/auth/me").status_code == 401
    form = device.get("/kiosk")
    assert form.status_code == 200
    assert "Thoughts that you would be better off dead" in form.text
    kiosk = _kiosk(world)
    assert actions.kiosk_form_token(device.cookies[KIOSK_COOKIE]) not in form.text
    assert kiosk.timeout_seconds == int(world.settings.kiosk_timeout_minutes * 60)
    assert f'data-kiosk-timeout="{kiosk.timeout_seconds + 1}"' in form.text
    sent = device.post(
        "/kiosk",
        data={"step": "0", "go": "submit", "kiosk_csrf": _kiosk_csrf(form.text), **PHQ9_FIELDS},
        follow_redirects=False,
    )
    assert (sent.status_code, sent.headers["location"]) == (303, "/kiosk/thanks")
    thanks = device.get("/kiosk/thanks")
    assert "Please give this device back to the reception desk" in thanks.text
    assert "Crisis line 0800 111 0 111" in thanks.text
    locked = device.get("/kiosk")
    assert "This device is locked" in locked.text
    assert "ta1-c1" not in locked.text and "better off dead" not in locked.text
    assert _kiosk(world).lock_reason == "submitted"
    with transaction(world.sessions_factory) as db:
        form_request = db.get(FormRequest, kiosk.form_request_id)
        assert form_request is not None and form_request.submitted_at is not None
        raised = db.scalar(
            select(RiskEvent).where(RiskEvent.form_request_id == kiosk.form_request_id)
        )
        assert raised is not None and raised.item == 9
    # a second submission from the locked kiosk stores nothing
    again = device.post(
        "/kiosk", data={"step": "0", "go": "submit", "kiosk_csrf": _kiosk_csrf(locked.text)}
    )
    assert "This device is locked" in again.text


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """Every (path, methods) of the app; a mount is (path, {"MOUNT"}).

    FastAPI 0.165 keeps included routers nested (``original_router`` with the include's
    prefix); older releases flatten them, so both shapes are walked.
    """
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _routes(nested.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Mount):
            yield prefix + route.path, {"MOUNT"}
        else:
            assert isinstance(route, APIRoute | Route)
            yield prefix + route.path, set(route.methods or ())


def test_every_other_route_is_refused_from_a_kiosk_cookie(world: World) -> None:
    device = _start(world)
    staff = world.login("ta1")  # a valid staff session cookie sent along changes nothing
    device.cookies.set(SESSION_COOKIE, staff.cookies.get(SESSION_COOKIE) or "")
    checked = 0
    paths = set()
    for template, methods in _routes(world.app.routes):
        paths.add(template)
        if methods == {"MOUNT"}:
            assert template == "/assets"
            continue
        if template in KIOSK_PATHS:
            continue
        path = _concrete(template)
        for method in sorted(methods):
            response = device.request(method, path, follow_redirects=False)
            if method in ("GET", "HEAD"):
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"] == "/kiosk"
            else:
                assert response.status_code == 403, (method, path, response.status_code)
            checked += 1
    assert {"/api/v1/clients", "/caseload", "/f/{token}", "/login", "/admin/risk"} <= paths
    assert paths >= KIOSK_PATHS
    assert checked > 80
    assert device.get("/assets/bordin.css").status_code == 200
    assert device.get("/kiosk").status_code == 200


def test_the_kiosk_cookie_carries_no_staff_privileges(world: World) -> None:
    device = _start(world)
    token = device.cookies[KIOSK_COOKIE]
    # as a session cookie it is no login
    impostor = world.anonymous()
    impostor.cookies.set(SESSION_COOKIE, token)
    assert impostor.get("/api/v1/auth/me").status_code == 401
    assert impostor.get("/api/v1/clients").status_code == 401
    # nor does the form's token reach the form through a link
    with transaction(world.sessions_factory) as db, pytest.raises(NotFound):
        actions.find_form_request(db, token)


def test_the_guard_removes_staff_cookies_before_the_kiosk_routes() -> None:
    import anyio

    seen: list[str] = []

    async def echo(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(b"; ".join(v for k, v in scope["headers"] if k == b"cookie").decode())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = KioskConfinement(echo)

    async def receive():  # type: ignore[no-untyped-def]
        return {"type": "http.request", "body": b""}

    async def send(message):  # type: ignore[no-untyped-def]
        return None

    cookie = f"{SESSION_COOKIE}=staff; bordin_csrf=c; {KIOSK_COOKIE}=k; other=1"
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/kiosk",
        "headers": [(b"cookie", cookie.encode())],
    }
    anyio.run(guard, scope, receive, send)
    assert seen == [f"{KIOSK_COOKIE}=k; other=1"]


def test_the_kiosk_locks_after_the_timeout_and_the_form_closes(world: World) -> None:
    device = _start(world)
    form = device.get("/kiosk")
    kiosk = _kiosk(world)
    with transaction(world.sessions_factory) as db:
        db.execute(
            update(KioskSession)
            .where(KioskSession.id == kiosk.id)
            .values(last_seen_at=kiosk.last_seen_at - timedelta(seconds=kiosk.timeout_seconds + 1))
        )
    late = device.post(
        "/kiosk",
        data={"step": "0", "go": "submit", "kiosk_csrf": _kiosk_csrf(form.text), **PHQ9_FIELDS},
    )
    assert "This device is locked" in late.text and "nothing more was sent" in late.text
    assert _kiosk(world).lock_reason == "timeout"
    with transaction(world.sessions_factory) as db:
        stored = db.scalar(
            select(ItemResponse.id).where(ItemResponse.form_request_id == kiosk.form_request_id)
        )
        assert stored is None
        with pytest.raises(LinkExpired):
            actions.find_form_request(db, actions.kiosk_form_token(device.cookies[KIOSK_COOKIE]))


def test_leaving_needs_a_staff_sign_in_of_someone_in_scope(world: World) -> None:
    device = _start(world)
    page = device.get("/kiosk/unlock")
    csrf = _kiosk_csrf(page.text)
    for username, password in (("ta1@test", "wrong password!"), ("ta2@test", PASSWORD)):
        refused = device.post(
            "/kiosk/unlock",
            data={"kiosk_csrf": csrf, "username": username, "password": password},
            follow_redirects=False,
        )
        assert refused.status_code == 401
        assert device.get("/caseload", follow_redirects=False).headers["location"] == "/kiosk"
    assert (
        device.post(
            "/kiosk/unlock", data={"username": "ta1@test", "password": PASSWORD}
        ).status_code
        == 403
    )  # without the kiosk's CSRF field
    left = device.post(
        "/kiosk/unlock",
        data={"kiosk_csrf": csrf, "username": "sa_north@test", "password": PASSWORD},
        follow_redirects=False,
    )
    assert left.status_code == 303
    assert left.headers["location"] == f"/clients/{world.clients['ta1']}"
    assert device.cookies.get(KIOSK_COOKIE) is None
    assert device.get("/caseload").status_code == 200
    kiosk = _kiosk(world)
    assert kiosk.ended_at is not None and kiosk.lock_reason == "staff"


def test_only_staff_who_see_the_client_start_a_kiosk(world: World) -> None:
    device = _page_login(world, "ta2")
    response = device.post(
        f"/clients/{world.clients['ta1']}/kiosk",
        data={"csrf_token": device.cookies.get("bordin_csrf"), "instrument": ["phq9"]},
        follow_redirects=False,
    )
    assert response.status_code == 404
    assert device.cookies.get(KIOSK_COOKIE) is None
    no_csrf = device.post(f"/clients/{world.clients['ta2']}/kiosk", data={"instrument": ["phq9"]})
    assert no_csrf.status_code == 403
