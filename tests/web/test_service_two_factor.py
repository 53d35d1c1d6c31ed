"""Optional TOTP two-factor login for staff, required for admins if the clinic chooses
(issue 21, item 3)."""

from __future__ import annotations

import time

import pyotp
from fastapi.testclient import TestClient

from web.service_world import PASSWORD, World

API = "/api/v1"


def _code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def _enrol(world: World, name: str) -> str:
    client = world.login(name)
    started = client.post(f"{API}/auth/two-factor")
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/Bordin:")
    wrong = client.post(f"{API}/auth/two-factor/confirm", json={"code": "000000"})
    assert wrong.status_code == 422 and wrong.json()["error"]["column"] == "code"
    # the code of the step before: the next login can use the current one
    confirmed = client.post(f"{API}/auth/two-factor/confirm", json={"code": _code(secret, -1)})
    assert confirmed.status_code == 204, confirmed.text
    return secret


def _api_login(world: World, name: str, code: str | None = None) -> tuple[int, str]:
    body: dict[str, object] = {"username": f"{name}@test", "password": PASSWORD}
    if code is not None:
        body["totp_code"] = code
    response = world.anonymous().post(f"{API}/auth/login", json=body)
    return response.status_code, response.json().get("error", {}).get("code", "")


def test_a_login_needs_the_code_once_it_is_on(world: World) -> None:
    secret = _enrol(world, "ta1")
    assert _api_login(world, "ta1") == (401, "two_factor_required")
    assert _api_login(world, "ta1", "123456")[0] == 401
    code = _code(secret)
    assert _api_login(world, "ta1", code)[0] == 200
    assert _api_login(world, "ta1", code)[0] == 401  # never accepted twice
    assert _api_login(world, "ta2")[0] == 200  # others are not affected
    # the page login asks for it too
    page = world.anonymous()
    asked = page.post(
        "/login", data={"username": "ta1@test", "password": PASSWORD}, follow_redirects=False
    )
    assert asked.status_code == 401 and "six-digit code" in asked.text


def test_the_page_login_takes_the_code(world: World) -> None:
    secret = _enrol(world, "ta2")
    page: TestClient = world.anonymous()
    done = page.post(
        "/login",
        data={"username": "ta2@test", "password": PASSWORD, "code": _code(secret)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "bordin_session" in page.cookies


def test_turning_it_off_needs_a_code_or_an_admin(world: World) -> None:
    secret = _enrol(world, "ta1")
    ok, _ = _api_login(world, "ta1", _code(secret))
    assert ok == 200
    client = world.login("aa")
    assert client.post(f"{API}/users/{world.users['ta1']}/two-factor/off").status_code == 204
    assert _api_login(world, "ta1")[0] == 200
    other_clinic = world.login("ab")
    assert other_clinic.post(f"{API}/users/{world.users['ta2']}/two-factor/off").status_code == 404
    therapist = world.login("ta3")
    assert therapist.post(f"{API}/users/{world.users['ta2']}/two-factor/off").status_code == 403


def test_a_clinic_can_require_it_for_admins(world: World) -> None:
    admin = world.login("aa")
    refused = admin.put(f"{API}/clinic/admin-two-factor", json={"required": True})
    assert refused.status_code == 409 and "aa@test" in refused.text
    secret = _enrol(world, "aa")
    admin = world.anonymous()
    response = admin.post(
        f"{API}/auth/login",
        json={"username": "aa@test", "password": PASSWORD, "totp_code": _code(secret)},
    )
    assert response.status_code == 200
    from bordin.web.security import CSRF_HEADER

    admin.headers[CSRF_HEADER] = response.json()["csrf_token"]
    assert admin.put(f"{API}/clinic/admin-two-factor", json={"required": True}).status_code == 204
    # now an admin cannot drop it, and a new admin without it cannot log in
    assert admin.post(f"{API}/users/{world.users['aa']}/two-factor/off").status_code == 409
    created = admin.post(
        f"{API}/users",
        json={"username": "new-admin@test", "password": PASSWORD, "role": "admin"},
    )
    assert created.status_code == 201, created.text
    assert _api_login(world, "new-admin")[0] == 401
    assert _api_login(world, "ta1")[0] == 200  # therapists may still choose
    events = admin.get(f"{API}/audit-events").json()
    assert {"user.two_factor_on", "clinic.admin_two_factor"} <= {e["action"] for e in events}
