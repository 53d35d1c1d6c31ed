"""Every JSON API endpoint, through HTTP, on a private copy of the two-clinic world."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from bordin.storage.models import AuditEvent, ItemResponse
from web.service_world import PASSWORD, PHQ9_MILD, SAC_OK, World

API = "/api/v1"


def _audit_count(world: World, action: str) -> int:
    with world.sessions_factory() as db:
        return int(
            db.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
            or 0
        )


def test_health_and_openapi(world: World) -> None:
    client = world.anonymous()
    assert client.get(f"{API}/health").json()["status"] == "ok"
    spec = client.get(f"{API}/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert f"{API}/forms/{{token}}" in spec["paths"]
    # No Swagger page: it would load its scripts from a CDN.
    assert client.get(f"{API}/docs").status_code == 404


def test_login_sets_secure_cookie_flags_and_logout_ends_session(world: World) -> None:
    client = world.anonymous()
    response = client.post(
        f"{API}/auth/login", json={"username": "TA1@test ", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["role"] == "therapist" and "password_hash" not in body["user"]
    cookies = [v.lower() for k, v in response.headers.multi_items() if k == "set-cookie"]
    session_cookie = next(c for c in cookies if c.startswith("bordin_session="))
    assert "httponly" in session_cookie and "samesite=lax" in session_cookie
    assert "secure" not in session_cookie  # served over http in tests
    assert client.get(f"{API}/auth/me").json()["username"] == "ta1@test"
    # Logout needs the CSRF token.
    assert client.post(f"{API}/auth/logout").status_code == 403
    client.headers["X-CSRF-Token"] = body["csrf_token"]
    assert client.post(f"{API}/auth/logout").status_code == 204
    assert client.get(f"{API}/auth/me").status_code == 401
    assert _audit_count(world, "auth.logout") == 1


def test_login_failure_is_401_and_audited(world: World) -> None:
    client = world.anonymous()
    for username in ("ta1@test", "nobody@test"):
        response = client.post(
            f"{API}/auth/login", json={"username": username, "password": "x" * 12}
        )
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "wrong username or password"
    assert _audit_count(world, "auth.login_failed") == 2


def test_clients_episodes_sessions(world: World) -> None:
    client = world.login("ta1")
    listed = client.get(f"{API}/clients").json()
    assert [c["code"] for c in listed] == ["ta1-c1"]
    created = client.post(f"{API}/clients", json={"code": "ta1-c2", "opened_on": "2026-02-01"})
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert client.get(f"{API}/clients/{new_id}").json()["code"] == "ta1-c2"
    assert client.post(f"{API}/clients", json={"code": "ta1-c2"}).status_code == 409
    bad = client.post(f"{API}/clients", json={"code": "Jane Doe"})
    assert bad.status_code == 422 and bad.json()["error"]["column"] == "code"

    episodes = client.get(f"{API}/clients/{new_id}/episodes").json()
    assert len(episodes) == 1 and episodes[0]["closed_on"] is None
    assert client.post(f"{API}/clients/{new_id}/episodes", json={}).status_code == 409
    closed = client.post(
        f"{API}/episodes/{episodes[0]['id']}/close", json={"closed_on": "2026-03-01"}
    )
    assert closed.status_code == 200 and closed.json()["closed_on"] == "2026-03-01"
    assert client.post(f"{API}/clients/{new_id}/sessions", json={}).status_code == 409
    reopened = client.post(f"{API}/clients/{new_id}/episodes", json={"opened_on": "2026-04-01"})
    assert reopened.status_code == 201

    first = client.post(f"{API}/clients/{new_id}/sessions", json={"date": "2026-04-01"})
    second = client.post(f"{API}/clients/{new_id}/sessions", json={})
    assert (first.json()["number"], second.json()["number"]) == (1, 2)
    assert client.post(f"{API}/clients/{new_id}/sessions", json={"number": 2}).status_code == 409
    numbers = [s["number"] for s in client.get(f"{API}/clients/{new_id}/sessions").json()]
    assert numbers == [1, 2]
    assert client.get(f"{API}/sessions/{first.json()['id']}").json()["date"] == "2026-04-01"


def test_supervisor_creates_client_for_team_therapist_only(world: World) -> None:
    client = world.login("sa_north")
    ok = client.post(f"{API}/clients", json={"code": "n-1", "therapist_id": world.users["ta2"]})
    assert ok.status_code == 201 and ok.json()["therapist_id"] == world.users["ta2"]
    other_team = client.post(
        f"{API}/clients", json={"code": "n-2", "therapist_id": world.users["ta3"]}
    )
    assert other_team.status_code == 404
    assert client.post(f"{API}/clients", json={"code": "n-3"}).status_code == 403


def test_form_request_link_and_client_submission(world: World) -> None:
    therapist = world.login("ta1")
    session_id = therapist.post(f"{API}/clients/{world.clients['ta1']}/sessions", json={}).json()[
        "id"
    ]
    created = therapist.post(
        f"{API}/sessions/{session_id}/form-requests", json={"instruments": ["phq9", "sac"]}
    )
    assert created.status_code == 201
    link = created.json()
    token = link["token"]
    assert link["url"] == f"http://testserver/f/{token}"
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    listed = therapist.get(f"{API}/clients/{world.clients['ta1']}/form-requests").json()
    assert listed[0]["id"] == link["id"] and listed[0]["token"] is None

    phone = world.anonymous()
    form = phone.get(f"{API}/forms/{token}").json()
    assert [i["id"] for i in form["instruments"]] == ["phq9", "sac"]
    phq9 = form["instruments"][0]
    assert phq9["items"][0]["text"] and phq9["items"][0]["responses"][0]["label"]
    assert phq9["notice"]

    answers = {"phq9": PHQ9_MILD, "sac": SAC_OK}
    receipt = phone.post(f"{API}/forms/{token}", json={"answers": answers})
    assert receipt.status_code == 201
    assert receipt.json()["items"] == 9 + 9  # sac item 8 not asked without tension
    again = phone.post(f"{API}/forms/{token}", json={"answers": answers})
    assert again.status_code == 409
    assert again.json()["error"]["receipt"] == receipt.json()
    assert phone.get(f"{API}/forms/{token}").status_code == 409

    scores = therapist.get(f"{API}/clients/{world.clients['ta1']}/scores").json()
    assert scores[-1]["scores"]["phq9_total"] == 8.0
    assert scores[-1]["scores"]["sac_total"] == (4 + 5 + 4 + 4 + 5 + 4) / 6


def test_unknown_and_expired_links(world: World) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from bordin.storage.credentials import hash_token
    from bordin.storage.models import FormRequest, utcnow

    phone = world.anonymous()
    assert phone.get(f"{API}/forms/not-a-token").status_code == 404
    token = world.open_tokens["ta2"]
    with world.sessions_factory() as db, db.begin():
        db.execute(
            update(FormRequest)
            .where(FormRequest.token_hash == hash_token(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = phone.get(f"{API}/forms/{token}")
    assert expired.status_code == 410 and "expired" in expired.json()["error"]["message"]
    post = phone.post(f"{API}/forms/{token}", json={"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}})
    assert post.status_code == 410


def test_invalid_submissions_name_the_item_and_store_nothing(world: World) -> None:
    phone = world.anonymous()
    token = world.open_tokens["ta1"]
    cases = [
        ({"phq9": PHQ9_MILD | {"10": 1}, "sac": SAC_OK}, "phq9:10"),
        ({"phq9": PHQ9_MILD | {"3": 4}, "sac": SAC_OK}, "phq9:3"),
        ({"phq9": PHQ9_MILD | {"3": 1.5}, "sac": SAC_OK}, "phq9:3"),
        ({"phq9": {k: v for k, v in PHQ9_MILD.items() if k != "5"}, "sac": SAC_OK}, "phq9:5"),
        ({"phq9": PHQ9_MILD, "sac": SAC_OK | {"8": 2}}, "sac:8"),
        ({"phq9": PHQ9_MILD, "sac": SAC_OK, "gad7": {"1": 1}}, "gad7"),
    ]
    with world.sessions_factory() as db:
        before = db.scalar(select(func.count()).select_from(ItemResponse))
    for answers, item in cases:
        response = phone.post(f"{API}/forms/{token}", json={"answers": answers})
        assert response.status_code == 422, answers
        assert response.json()["error"]["item"] == item
    with world.sessions_factory() as db:
        assert db.scalar(select(func.count()).select_from(ItemResponse)) == before
    ok = phone.post(f"{API}/forms/{token}", json={"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}})
    assert ok.status_code == 201


def test_alerts_signals_acknowledge_and_caseload(world: World) -> None:
    therapist = world.login("ta1")
    client_id = world.clients["ta1"]
    alerts = therapist.get(f"{API}/clients/{client_id}/alerts").json()
    assert alerts and alerts[0]["kind"] == "risk" and alerts[0]["references"]
    priorities = [a["priority"] for a in alerts]
    assert priorities == sorted(priorities, reverse=True)
    signals = therapist.get(f"{API}/clients/{client_id}/signals").json()
    assert {s["kind"] for s in signals} >= {"summary"}

    caseload = therapist.get(f"{API}/caseload").json()
    assert caseload[0]["client_id"] == client_id and caseload[0]["open_alerts"] == len(alerts)
    assert caseload[0]["top_alert_kind"] == "risk"

    alert_id = alerts[0]["id"]
    ack = therapist.post(
        f"{API}/alerts/{alert_id}/acknowledge", json={"note": "Called; safety plan."}
    )
    assert ack.status_code == 200 and ack.json()["note"] == "Called; safety plan."
    assert ack.json()["acknowledged_by"] == world.users["ta1"]
    assert therapist.get(f"{API}/caseload").json()[0]["open_alerts"] == len(alerts) - 1

    # A new submission recomputes feedback; the acknowledgement survives.
    phone = world.anonymous()
    phone.post(
        f"{API}/forms/{world.open_tokens['ta1']}",
        json={"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}},
    )
    again = therapist.get(f"{API}/clients/{client_id}/alerts?include_inactive=true").json()
    kept = next(a for a in again if a["id"] == alert_id)
    assert kept["acknowledged_at"] is not None and kept["note"] == "Called; safety plan."

    supervisor = world.login("sa_north")
    codes = [e["code"] for e in supervisor.get(f"{API}/caseload").json()]
    assert sorted(codes) == ["ta1-c1", "ta2-c1"]
    admin = world.login("aa")
    assert len(admin.get(f"{API}/caseload").json()) == 3


def test_exports_are_the_design_csv_contracts(world: World) -> None:
    admin = world.login("aa")
    responses = admin.get(f"{API}/exports/item-responses.csv")
    assert responses.status_code == 200 and responses.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(responses.text)))
    assert list(rows[0]) == [
        "client_id",
        "therapist_id",
        "session",
        "date",
        "instrument",
        "item",
        "value",
    ]
    assert {r["client_id"] for r in rows} == {"ta1-c1", "ta2-c1", "ta3-c1"}
    assert all(r["client_id"] != "tb1-c1" for r in rows)
    scores = list(csv.DictReader(io.StringIO(admin.get(f"{API}/exports/session-scores.csv").text)))
    assert list(scores[0])[:4] == ["client_id", "therapist_id", "session", "date"]
    assert {"phq9_total", "sac_total", "sac_bond"} <= set(scores[0])
    assert float(scores[0]["phq9_total"]) == 18.0

    supervisor = world.login("sa_south")
    team_rows = list(
        csv.DictReader(io.StringIO(supervisor.get(f"{API}/exports/item-responses.csv").text))
    )
    assert {r["client_id"] for r in team_rows} == {"ta3-c1"}
    assert world.login("ta1").get(f"{API}/exports/item-responses.csv").status_code == 403
    assert _audit_count(world, "export.responses") == 2


def test_instruments_and_content_packs(world: World) -> None:
    admin = world.login("aa")
    instruments = {i["id"]: i for i in admin.get(f"{API}/instruments").json()}
    assert instruments["phq9"]["wording_available"] is True
    assert admin.get(f"{API}/instruments/phq9").json()["items"] == 9
    assert admin.get(f"{API}/instruments/nope").status_code == 404
    shipped = admin.get(f"{API}/content-packs").json()
    assert any(p["origin"] == "shipped" and p["instrument"] == "phq9" for p in shipped)

    pack = {
        "version": "1.0",
        "title": "Gesundheitsfragebogen",
        "instructions": "Wie oft fühlten Sie sich beeinträchtigt?",
        "items": [{"number": n, "text": f"Frage {n}", "responses": "freq"} for n in range(1, 10)],
        "response_sets": {
            "freq": [
                {"value": 0, "label": "Überhaupt nicht"},
                {"value": 1, "label": "An einzelnen Tagen"},
                {"value": 2, "label": "An mehr als der Hälfte der Tage"},
                {"value": 3, "label": "Beinahe jeden Tag"},
            ]
        },
        "notice": "Test wording for this clinic.",
        "source": "test",
    }
    uploaded = admin.put(f"{API}/content-packs/phq9/de", json=pack)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["origin"] == "clinic"
    short = dict(pack, items=pack["items"][:8])
    bad = admin.put(f"{API}/content-packs/phq9/de", json=short)
    assert bad.status_code == 422
    assert world.login("ta1").put(f"{API}/content-packs/phq9/de", json=pack).status_code == 403

    # A form in German now uses the clinic's wording; clinic B's forms do not.
    therapist = world.login("ta1")
    session_id = therapist.post(f"{API}/clients/{world.clients['ta1']}/sessions", json={}).json()[
        "id"
    ]
    link = therapist.post(
        f"{API}/sessions/{session_id}/form-requests",
        json={"instruments": ["phq9"], "language": "de"},
    ).json()
    form = world.anonymous().get(f"{API}/forms/{link['token']}").json()
    assert form["instruments"][0]["title"] == "Gesundheitsfragebogen"
    assert form["instruments"][0]["items"][0]["text"] == "Frage 1"


def test_users_teams_and_audit_trail(world: World) -> None:
    admin = world.login("aa")
    usernames = {u["username"] for u in admin.get(f"{API}/users").json()}
    assert "ta1@test" in usernames and "tb1@test" not in usernames
    team = admin.post(f"{API}/teams", json={"name": "west"})
    assert team.status_code == 201
    created = admin.post(
        f"{API}/users",
        json={
            "username": "New@Test",
            "password": "a-good-long-password",
            "role": "therapist",
            "team_id": team.json()["id"],
        },
    )
    assert created.status_code == 201 and created.json()["username"] == "new@test"
    assert (
        admin.post(
            f"{API}/users",
            json={"username": "new@test", "password": "a-good-long-password", "role": "therapist"},
        ).status_code
        == 409
    )
    foreign_team = admin.post(
        f"{API}/users",
        json={
            "username": "x@test",
            "password": "a-good-long-password",
            "role": "admin",
            "team_id": 99,
        },
    )
    assert foreign_team.status_code == 404
    assert "west" in {t["name"] for t in admin.get(f"{API}/teams").json()}

    supervisor = world.login("sa_north")
    team_users = {u["username"] for u in supervisor.get(f"{API}/users").json()}
    assert team_users == {"ta1@test", "ta2@test", "sa_north@test"}
    assert supervisor.post(f"{API}/teams", json={"name": "x"}).status_code == 403
    assert supervisor.get(f"{API}/audit-events").status_code == 403

    events = admin.get(f"{API}/audit-events", params={"client_id": world.clients["ta1"]}).json()
    assert events and all(e["client_id"] == world.clients["ta1"] for e in events)
    assert {"form.submit", "client.create"} <= {e["action"] for e in events}
    page = admin.get(f"{API}/audit-events", params={"limit": 2}).json()
    older = admin.get(
        f"{API}/audit-events", params={"before_id": page[-1]["id"], "limit": 2}
    ).json()
    assert len(page) == 2 and older[0]["id"] < page[-1]["id"]
    # Clinic B's admin sees none of clinic A's trail.
    other = world.login("ab").get(f"{API}/audit-events", params={"client_id": world.clients["ta1"]})
    assert other.json() == []


def test_licensed_wording_for_a_definitions_only_instrument(world: World) -> None:
    """WAI-SR ships without wording: clinic A uploads its licensed wording, clinic B has none."""
    admin = world.login("aa")
    pack = {
        "version": "1.0",
        "title": "Working Alliance Inventory (licensed copy)",
        "instructions": "Licensed instructions.",
        "items": [
            {"number": n, "text": f"Licensed item {n}", "responses": "five"} for n in range(1, 13)
        ],
        "response_sets": {"five": [{"value": v, "label": f"label {v}"} for v in range(1, 6)]},
        "notice": "Licensed to Clinic A.",
        "source": "licence agreement",
    }
    assert admin.put(f"{API}/content-packs/wai_sr/en", json=pack).status_code == 200

    therapist = world.login("ta1")
    session_id = world.sessions["ta1-2"]
    link = therapist.post(
        f"{API}/sessions/{session_id}/form-requests", json={"instruments": ["wai_sr", "ors"]}
    ).json()
    phone = world.anonymous()
    form = phone.get(f"{API}/forms/{link['token']}").json()
    wai = form["instruments"][0]
    assert (
        wai["title"].endswith("(licensed copy)") and wai["items"][11]["text"] == "Licensed item 12"
    )
    ors = form["instruments"][1]
    assert ors["items"][0]["step"] == 0.1  # a visual analogue line, answered in tenths

    answers = {
        "wai_sr": {str(n): 4 for n in range(1, 13)},
        "ors": {"1": 7.3, "2": 6, "3": 5.5, "4": 8},
    }
    assert phone.post(f"{API}/forms/{link['token']}", json={"answers": answers}).status_code == 201
    latest = therapist.get(f"{API}/clients/{world.clients['ta1']}/scores").json()[-1]["scores"]
    assert latest["wai_sr_total"] == 4.0
    assert abs(latest["ors_total"] - 26.8) < 1e-9

    # Clinic B has not loaded the wording: its form names the items by number only.
    other = world.login("tb1")
    link_b = other.post(
        f"{API}/sessions/{world.sessions['tb1-2']}/form-requests", json={"instruments": ["wai_sr"]}
    ).json()
    form_b = world.anonymous().get(f"{API}/forms/{link_b['token']}").json()
    assert form_b["instruments"][0]["items"][0]["text"] == "Item 1"


def test_request_validation_errors_share_the_error_shape(world: World) -> None:
    client = world.anonymous()
    missing = client.post(f"{API}/forms/some-token", json={"nope": 1})
    assert missing.status_code == 422
    assert missing.json()["error"]["column"] == "answers"
    login = client.post(f"{API}/auth/login", json={"username": "ta1@test", "password": 12})
    body = login.json()["error"]
    assert login.status_code == 422 and body["column"] == "password"
    assert "12" not in str(body)  # the submitted value (a password) is never echoed
