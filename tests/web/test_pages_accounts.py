"""Account pages: own password, an admin's reset link (shown once), deactivation, role and
team, and the lock-out message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from e2e.pages_clinic import PASSWORD, PagesClinic, copy_pages_clinic


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[Any, PagesClinic]]:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    yield (
        create_app(Settings(database_url=clinic.url, demo=True, base_url="https://clinic.example")),
        clinic,
    )


def _client(app: Any, username: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app)
    response = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return client


def _csrf(client: TestClient) -> str:
    return str(client.cookies.get("bordin_csrf"))


def _user_id(admin: TestClient, username: str) -> int:
    users = admin.get("/admin?format=json").json()["users"]
    return int(next(u["id"] for u in users if u["username"] == username))


def test_a_user_changes_their_own_password(app: tuple[Any, PagesClinic]) -> None:
    site, clinic = app
    client = _client(site, clinic.users["therapist"])
    page = client.get("/account?format=json").json()
    assert page["user"]["username"] == clinic.users["therapist"]
    assert 'href="/account"' in client.get("/caseload").text
    wrong = client.post(
        "/account/password?format=json",
        data={
            "current_password": "not it at all",
            "new_password": "a new long password",
            "csrf_token": _csrf(client),
        },
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["column"] == "current_password"
    short = client.post(
        "/account/password?format=json",
        data={"current_password": PASSWORD, "new_password": "short", "csrf_token": _csrf(client)},
    )
    assert short.status_code == 422 and short.json()["error"]["column"] == "new_password"
    done = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a new long password",
            "csrf_token": _csrf(client),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/account?done=password"
    _client(site, clinic.users["therapist"], "a new long password")
    refused = TestClient(site).post(
        "/login", data={"username": clinic.users["therapist"], "password": PASSWORD}
    )
    assert refused.status_code == 401


def test_a_reset_link_is_shown_once_works_once_and_ends_sessions(
    app: tuple[Any, PagesClinic],
) -> None:
    site, clinic = app
    admin = _client(site, clinic.users["admin"])
    therapist = _client(site, clinic.users["therapist"])
    uid = _user_id(admin, clinic.users["therapist"])
    page = admin.post(
        f"/admin/users/{uid}/reset-link?format=json", data={"csrf_token": _csrf(admin)}
    )
    assert page.status_code == 200
    link = page.json()["reset_link"]
    assert link.startswith("https://clinic.example/reset/")
    assert admin.get(f"/admin/users/{uid}?format=json").json()["reset_link"] is None
    path = link.removeprefix("https://clinic.example")
    anonymous = TestClient(site)
    assert anonymous.get(path).status_code == 200
    short = anonymous.post(path, data={"new_password": "short"})
    assert short.status_code == 422 and "at least 10" in short.text
    done = anonymous.post(
        path, data={"new_password": "reset long password"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert therapist.get("/caseload", follow_redirects=False).status_code == 303  # logged out
    _client(site, clinic.users["therapist"], "reset long password")
    assert anonymous.get(path).status_code == 404  # used up
    assert anonymous.post(path, data={"new_password": "another long one"}).status_code == 404


def test_deactivation_ends_sessions_and_reactivation_restores_login(
    app: tuple[Any, PagesClinic],
) -> None:
    site, clinic = app
    admin = _client(site, clinic.users["admin"])
    therapist = _client(site, clinic.users["therapist"])
    uid = _user_id(admin, clinic.users["therapist"])
    off = admin.post(
        f"/admin/users/{uid}/deactivate", data={"csrf_token": _csrf(admin)}, follow_redirects=False
    )
    assert off.status_code == 303
    assert admin.get(f"/admin/users/{uid}?format=json").json()["account"]["active"] is False
    assert therapist.get("/caseload", follow_redirects=False).status_code == 303
    refused = TestClient(site).post(
        "/login", data={"username": clinic.users["therapist"], "password": PASSWORD}
    )
    assert refused.status_code == 401
    # Their clients stay visible to the supervisor of their team.
    supervisor = _client(site, clinic.users["supervisor"])
    codes = {c["code"] for c in supervisor.get("/team?format=json").json().get("clients", [])}
    caseload = supervisor.get("/caseload?format=json").json()
    seen = codes | {c["code"] for c in caseload.get("clients", [])}
    assert "C-101" in seen
    admin.post(f"/admin/users/{uid}/activate", data={"csrf_token": _csrf(admin)})
    _client(site, clinic.users["therapist"])
    me = _user_id(admin, clinic.users["admin"])
    self_off = admin.post(
        f"/admin/users/{me}/deactivate?format=json", data={"csrf_token": _csrf(admin)}
    )
    assert self_off.status_code == 409


def test_role_and_team_changes(app: tuple[Any, PagesClinic]) -> None:
    site, clinic = app
    admin = _client(site, clinic.users["admin"])
    uid = _user_id(admin, clinic.users["therapist2"])
    team = admin.get("/admin?format=json").json()["teams"][0]["id"]
    done = admin.post(
        f"/admin/users/{uid}/update",
        data={"role": "supervisor", "team_id": str(team), "csrf_token": _csrf(admin)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    account = admin.get(f"/admin/users/{uid}?format=json").json()["account"]
    assert (account["role"], account["team_id"]) == ("supervisor", team)
    bad = admin.post(
        f"/admin/users/{uid}/update?format=json",
        data={"role": "owner", "team_id": "", "csrf_token": _csrf(admin)},
    )
    assert bad.status_code == 422 and "unknown role" in bad.json()["error"]["message"]
    therapist = _client(site, clinic.users["therapist"])
    assert therapist.get(f"/admin/users/{uid}").status_code == 403
    assert (
        therapist.post(
            f"/admin/users/{uid}/deactivate", data={"csrf_token": _csrf(therapist)}
        ).status_code
        == 403
    )


def test_a_lock_out_explains_that_the_password_was_not_checked(tmp_path: Path) -> None:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    site = create_app(Settings(database_url=clinic.url, demo=True, login_rate_limit=2))
    client = TestClient(site)
    for _ in range(2):
        client.post("/login", data={"username": clinic.users["admin"], "password": "wrong one!"})
    locked = client.post("/login", data={"username": clinic.users["admin"], "password": PASSWORD})
    assert locked.status_code == 429
    assert re.search(r"this password\s+was not checked", locked.text)


def test_the_clinic_time_zone_is_a_setting_the_pages_use(app: tuple[Any, PagesClinic]) -> None:
    from datetime import UTC, datetime

    from bordin.web.pages._render import _date

    site, clinic = app
    admin = _client(site, clinic.users["admin"])
    assert admin.get("/admin?format=json").json()["clinic_timezone"] == "UTC"
    bad = admin.post(
        "/admin/clinic?format=json", data={"timezone": "Mars/Olympus", "csrf_token": _csrf(admin)}
    )
    assert bad.status_code == 422 and "unknown time zone" in bad.json()["error"]["message"]
    done = admin.post(
        "/admin/clinic",
        data={"timezone": "Pacific/Auckland", "csrf_token": _csrf(admin)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert admin.get("/caseload?format=json").json()["timezone"] == "Pacific/Auckland"
    late = datetime(2026, 1, 31, 20, 30, tzinfo=UTC)  # 1 February, 09:30 in Auckland
    assert _date(late, "long", "Pacific/Auckland") == "01 Feb 2026, 09:30 NZDT"
    assert _date(late, "short", "Pacific/Auckland") == "01 Feb 2026"
    assert _date(late, "long", None) == "31 Jan 2026, 20:30 UTC"
    care = admin.get(f"/clients/{clinic.clients['C-101']}/care?format=json").json()
    from zoneinfo import ZoneInfo

    assert care["today"] == datetime.now(ZoneInfo("Pacific/Auckland")).date().isoformat()
