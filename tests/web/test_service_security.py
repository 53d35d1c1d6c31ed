"""Security properties: CSRF, rate limits, password and token storage, headers, audit."""

from __future__ import annotations

from sqlalchemy import func, select

from bordin.storage.credentials import hash_token
from bordin.storage.models import AuditEvent, FormRequest, LoginSession, User
from web.service_world import PASSWORD, World

API = "/api/v1"


def test_cookie_writes_need_the_csrf_token(world: World) -> None:
    client = world.login("ta1")
    token = client.headers.pop("X-CSRF-Token")
    url = f"{API}/clients/{world.clients['ta1']}/sessions"
    assert client.post(url, json={}).status_code == 403
    client.headers["X-CSRF-Token"] = token[:-2] + "00"
    assert client.post(url, json={}).status_code == 403
    # The token of another session does not work either.
    other = world.login("ta1")
    client.headers["X-CSRF-Token"] = other.headers["X-CSRF-Token"]
    assert client.post(url, json={}).status_code == 403
    client.headers["X-CSRF-Token"] = token
    assert client.post(url, json={}).status_code == 201
    # HTML forms send it as a field.
    form = world.anonymous()
    form.cookies.update(client.cookies)
    assert (
        form.post(
            f"{API}/alerts/{world.alerts['ta1']}/acknowledge", data={"csrf_token": "wrong"}
        ).status_code
        == 403
    )


def test_passwords_are_argon2id_and_tokens_stored_hashed(world: World) -> None:
    client = world.login("ta1")
    session_cookie = client.cookies.get("bordin_session")
    assert session_cookie
    with world.sessions_factory() as db:
        hashes = db.scalars(select(User.password_hash)).all()
        assert hashes and all(h.startswith("$argon2id$") for h in hashes)
        assert PASSWORD not in " ".join(hashes)
        stored = db.scalars(select(LoginSession.token_hash)).all()
        assert hash_token(session_cookie) in stored and session_cookie not in stored
        links = db.scalars(select(FormRequest.token_hash)).all()
        token = world.open_tokens["ta1"]
        assert hash_token(token) in links and token not in links
        assert all(len(h) == 64 for h in links)


def test_security_headers_and_no_external_resources(world: World) -> None:
    response = world.anonymous().get(f"{API}/health")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_https_setting_makes_cookies_secure(world: World) -> None:
    world.app.state.bordin.settings = world.settings.model_copy(update={"https": True})
    response = world.anonymous().post(
        f"{API}/auth/login", json={"username": "ta1@test", "password": PASSWORD}
    )
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie")
    assert "secure" in cookie.lower()


def test_every_read_and_write_of_client_data_is_audited(world: World) -> None:
    client = world.login("ta1")
    client_id = world.clients["ta1"]
    with world.sessions_factory() as db:
        before = int(
            db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.client_id == client_id)
            )
            or 0
        )
    paths = ["", "/episodes", "/sessions", "/form-requests", "/scores", "/signals", "/alerts"]
    for path in paths:
        assert client.get(f"{API}/clients/{client_id}{path}").status_code == 200
    assert client.post(f"{API}/clients/{client_id}/sessions", json={}).status_code == 201
    phone = world.anonymous()
    assert phone.get(f"{API}/forms/{world.open_tokens['ta1']}").status_code == 200
    with world.sessions_factory() as db:
        events = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.client_id == client_id)
            .order_by(AuditEvent.id)
            .offset(before)
        ).all()
    actions = [e.action for e in events]
    assert actions == [
        "client.read",
        "episode.list",
        "session.list",
        "form_request.list",
        "scores.read",
        "signals.read",
        "alerts.read",
        "session.create",
        "form.read",
    ]
    assert all(e.actor_id == world.users["ta1"] for e in events[:-1])
    assert events[-1].actor_kind == "token" and events[-1].actor_id is None
