"""The clinicians' pages through the app: login, caseload, client, team, clinic, admin.

Each page is checked through its JSON twin (the same context the HTML is drawn from), plus
what only the HTML can show: charts, QR code, CSRF fields, the disclaimer, no external
resources.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from e2e.pages_clinic import PASSWORD, PagesClinic, copy_pages_clinic

DISCLAIMER = "Bordin supports clinical judgement; it does not diagnose."


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, PagesClinic]]:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    app = create_app(
        Settings(database_url=clinic.url, demo=True, base_url="https://clinic.example")
    )
    with TestClient(app) as client:
        yield client, clinic


def _login(client: TestClient, username: str) -> None:
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def _csrf(client: TestClient) -> str:
    token = client.cookies.get("bordin_csrf")
    assert token
    return token


def _json(client: TestClient, path: str) -> Any:
    response = client.get(path, params={"format": "json"})
    assert response.status_code == 200, response.text
    return response.json()


def _no_external_resources(html: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html


# ------------------------------------------------------------------------------- login


def test_pages_need_a_login_and_come_back_after_it(site: tuple[TestClient, PagesClinic]) -> None:
    client, clinic = site
    response = client.get(f"/clients/{clinic.clients['C-101']}", follow_redirects=False)
    assert response.status_code == 303
    target = f"/clients/{clinic.clients['C-101']}"
    assert response.headers["location"] == f"/login?next={target}"
    login = client.get(response.headers["location"])
    assert login.status_code == 200 and f'value="{target}"' in login.text
    done = client.post(
        "/login",
        data={"username": clinic.users["therapist"], "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert done.headers["location"] == target
    assert client.get(target).status_code == 200


def test_a_wrong_password_shows_the_form_again(site: tuple[TestClient, PagesClinic]) -> None:
    client, clinic = site
    response = client.post(
        "/login?format=json", data={"username": clinic.users["therapist"], "password": "nope"}
    )
    assert response.status_code == 401
    page = response.json()
    assert page["error"] == "Wrong username or password."
    assert page["username"] == clinic.users["therapist"]
    assert "bordin_session" not in client.cookies


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/clients/3", "/clients/3"),
        ("//evil.example/x", "/caseload"),
        ("https://evil.example", "/caseload"),
        ("/\\evil.example", "/caseload"),
        ("", "/caseload"),
    ],
)
def test_login_only_goes_on_to_local_pages(
    site: tuple[TestClient, PagesClinic], given: str, expected: str
) -> None:
    from bordin.web.pages._auth_pages import safe_next

    client, _clinic = site
    assert safe_next(given, client.app.router.routes) == expected  # type: ignore[attr-defined]


def test_logout_needs_the_csrf_token(site: tuple[TestClient, PagesClinic]) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    done = client.post("/logout", data={"csrf_token": _csrf(client)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert client.get("/caseload", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------------------- caseload


def test_the_caseload_puts_the_client_who_needs_attention_first(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    page = _json(client, "/caseload")
    assert page["disclaimer"] == DISCLAIMER
    assert page["user"]["role"] == "therapist" and "password_hash" not in page["user"]
    assert [n["href"] for n in page["nav"]] == ["/caseload", "/risk"]
    codes = [c["code"] for c in page["clients"]]
    assert codes == ["C-101", "C-102"]  # C-103 is another therapist's client
    first, second = page["clients"]
    assert first["priority"] > second["priority"] == 0
    assert "rupture_open" in [b["kind"] for b in first["badges"]]
    assert all(b["label"] and b["symbol"] for b in first["badges"])
    assert second["badges"] == []
    assert first["last_session"]["number"] == 5
    assert first["form"]["state"] == "waiting"
    assert page["counts"] == {"clients": 2, "need_attention": 1}
    html = client.get("/caseload").text
    assert DISCLAIMER in html
    assert html.count('name="csrf_token"') == 3  # logout and one per client
    _no_external_resources(html)


def test_a_supervisor_sees_the_team_caseload_with_therapists(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["supervisor"])
    page = _json(client, "/caseload")
    assert page["show_therapist"] is True
    assert {c["code"]: c["therapist"] for c in page["clients"]} == {
        "C-101": "Alex Morgan",
        "C-102": "Alex Morgan",
        "C-103": "Jordan Lee",
    }
    assert [n["href"] for n in page["nav"]] == ["/caseload", "/risk", "/team", "/clinic"]


def test_creating_the_next_form_link_shows_it_once_with_a_qr_code(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    c102 = clinic.clients["C-102"]
    refused = client.post(f"/clients/{c102}/form-link", data={})
    assert refused.status_code == 403
    response = client.post(
        f"/clients/{c102}/form-link?format=json", data={"csrf_token": _csrf(client)}
    )
    assert response.status_code == 201
    form = response.json()["form"]
    assert form["url"].startswith("https://clinic.example/f/")
    # C-102's latest session (6) already has answers, so the link is for session 7
    assert form["session"] == 7
    assert form["instruments"] == ["phq9"]  # what the last form asked
    token = form["url"].rsplit("/", 1)[1]
    assert client.get(f"/f/{token}?format=json").json()["state"] == "open"
    html = client.post(f"/clients/{c102}/form-link", data={"csrf_token": _csrf(client)})
    assert re.search(r'<svg role="img" aria-label="QR code of the form link"', html.text)
    # scalable: a viewBox and no fixed size, so the stylesheet shows the whole code
    svg_tag = re.search(r"<svg [^>]*>", html.text)
    assert svg_tag is not None and "viewBox=" in svg_tag.group(0)
    assert " width=" not in svg_tag.group(0) and " height=" not in svg_tag.group(0)
    _no_external_resources(html.text)
    caseload = _json(client, "/caseload")
    assert next(c for c in caseload["clients"] if c["code"] == "C-102")["form"]["state"] == (
        "waiting"
    )


def test_a_form_link_for_someone_elses_client_is_not_found(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    response = client.post(
        f"/clients/{clinic.clients['C-103']}/form-link", data={"csrf_token": _csrf(client)}
    )
    assert response.status_code == 404


# ------------------------------------------------------------------------------ client


def test_the_client_page_has_summary_charts_alerts_and_items(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    path = f"/clients/{clinic.clients['C-101']}"
    page = _json(client, path)
    assert page["client"]["code"] == "C-101" and page["client"]["therapist"] == "Alex Morgan"
    assert page["summary"][0] == f"Last session: session 5 on {_today()}."
    assert any(line.startswith("PHQ-9: 21 at session 4 (first 17)") for line in page["summary"])

    alliance = page["alliance"]
    assert (alliance["instrument"], alliance["scale_min"], alliance["scale_max"]) == ("sac", 1, 5)
    assert [p["session"] for p in alliance["sessions"]] == [1, 2, 3, 4]
    assert alliance["sessions"][3] == {
        "session": 4,
        "total": 7 / 3,
        "bond": 2,
        "goal": 2,
        "task": 3,
    }
    assert [r["onset"] for r in alliance["ruptures"]] == [4]

    (phq9,) = page["symptoms"]
    assert (phq9["scale_min"], phq9["scale_max"], phq9["cutoff"]) == (0, 27, 10)
    assert phq9["reliable_change"] > 0 and phq9["higher_is_worse"] is True
    assert [s["score"] for s in phq9["sessions"]] == [17, 16, 17, 21]
    band = phq9["sessions"][3]["expected"]
    assert band is not None and band["low"] <= band["high"]

    alerts = page["alerts"]
    assert alerts and all(a["acknowledged"] is None for a in alerts)
    rupture = next(a for a in alerts if a["kind"] == "rupture_open")
    assert rupture["explanation"] and rupture["suggestions"] and rupture["references"]
    assert [s["session"] for s in page["item_detail"]] == [4, 3, 2, 1]
    # what feedback showed at each session, newest first, and the norms behind the signals
    history = page["feedback_history"]
    assert [h["session"] for h in history] == sorted((h["session"] for h in history), reverse=True)
    assert history and history[0]["session"] == 4
    assert page["norms"]["id"] == history[0]["norms_id"]
    assert page["norms"]["source"] in ("clinic", "mixed", "bundled")

    html = client.get(path).text
    assert "What feedback showed at each session" in html
    assert f"snapshot {page['norms']['id']}" in html
    assert html.count('role="img"') == 2
    assert 'class="chart chart-alliance"' in html and 'class="chart chart-symptoms"' in html
    assert "<details>" in html  # item-level detail on demand
    assert "<svg" not in client.get(path, params={"format": "json"}).text
    _no_external_resources(html)


def test_another_therapists_client_is_not_found(site: tuple[TestClient, PagesClinic]) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    response = client.get(f"/clients/{clinic.clients['C-103']}?format=json")
    assert response.status_code == 404
    assert response.json()["heading"] == "Client not found"


def test_acknowledging_an_alert_keeps_the_note_and_clears_the_badge(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    path = f"/clients/{clinic.clients['C-101']}"
    alert = next(a for a in _json(client, path)["alerts"] if a["kind"] == "rupture_open")
    refused = client.post(f"/alerts/{alert['id']}/acknowledge", data={"note": "x"})
    assert refused.status_code == 403
    done = client.post(
        f"/alerts/{alert['id']}/acknowledge",
        data={
            "note": "Talked about the tension; agreed to adjust homework.",
            "csrf_token": _csrf(client),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}?acknowledged={alert['id']}#alert-{alert['id']}"
    page = client.get(done.headers["location"].split("#")[0] + "&format=json").json()
    assert page["just_acknowledged"] == alert["id"]
    assert alert["id"] not in [a["id"] for a in page["alerts"]]
    kept = next(a for a in page["acknowledged_alerts"] if a["id"] == alert["id"])
    assert kept["acknowledged"]["note"] == "Talked about the tension; agreed to adjust homework."
    assert kept["acknowledged"]["by"] == "Alex Morgan"
    caseload = _json(client, "/caseload")
    first = next(c for c in caseload["clients"] if c["code"] == "C-101")
    assert "rupture_open" not in [b["kind"] for b in first["badges"]]


def test_an_alert_outside_the_caseload_cannot_be_acknowledged(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["supervisor"])
    alerts = _json(client, f"/clients/{clinic.clients['C-101']}")["alerts"]
    client.post("/logout", data={"csrf_token": _csrf(client)})
    _login(client, clinic.users["therapist2"])
    response = client.post(
        f"/alerts/{alerts[0]['id']}/acknowledge", data={"note": "", "csrf_token": _csrf(client)}
    )
    assert response.status_code == 404


# ------------------------------------------------------------------ team, clinic, admin


def test_the_team_page_lists_therapists_alphabetically_without_ranking(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["supervisor"])
    page = _json(client, "/team")
    assert page["ordering"] == "alphabetical"
    rows = page["therapists"]
    assert [r["therapist"] for r in rows] == ["Alex Morgan", "Jordan Lee"]
    alex, jordan = rows
    assert alex["clients"] == 2 and jordan["clients"] == 1
    assert [c["code"] for c in alex["rupture_alerts"]] == ["C-101"]
    assert [(c["code"], c["state"]) for c in jordan["forms_outstanding"]] == [("C-103", "waiting")]
    assert page["totals"]["clients"] == 3
    assert "ranking" in page["note"]
    assert not any(key in alex for key in ("rank", "score", "performance"))
    html = client.get("/team").text
    assert DISCLAIMER in html
    _no_external_resources(html)


def test_therapists_cannot_open_the_supervisors_pages(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    for path in ("/team", "/clinic", "/admin"):
        response = client.get(path, params={"format": "json"})
        assert response.status_code == 403, path
        assert response.json()["heading"] == "Not allowed"


def test_the_clinic_page_links_the_exports(site: tuple[TestClient, PagesClinic]) -> None:
    client, clinic = site
    _login(client, clinic.users["supervisor"])
    page = _json(client, "/clinic")
    assert page["clinic"]["name"] == "Riverside Clinic"
    assert page["counts"]["clients"] == 3
    hrefs = [e["href"] for e in page["exports"]]
    assert hrefs == ["/api/v1/exports/session-scores.csv", "/api/v1/exports/item-responses.csv"]
    for href in hrefs:
        export = client.get(href)
        assert export.status_code == 200
        assert export.text.startswith("client_id,")


def test_the_admin_page_lists_users_teams_instruments_and_content_packs(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["admin"])
    page = _json(client, "/admin")
    assert [u["username"] for u in page["users"]] == sorted(clinic.users.values())
    assert [(t["name"], t["members"]) for t in page["teams"]] == [("North team", 3)]
    instruments = {i["id"]: i for i in page["instruments"]}
    assert instruments["phq9"]["languages"] == ["en"]
    assert instruments["sac"]["validated"] is False
    assert any(
        p["instrument"] == "phq9" and p["origin"] == "shipped" for p in page["content_packs"]
    )
    assert [n["href"] for n in page["nav"]] == [
        "/caseload",
        "/risk",
        "/team",
        "/clinic",
        "/admin",
    ]
    html = client.get("/admin")
    assert html.status_code == 200 and 'action="/admin/users"' in html.text
    _login(client, clinic.users["supervisor"])
    assert client.get("/admin").status_code == 403


def test_every_link_on_the_admin_page_leads_to_a_page(
    site: tuple[TestClient, PagesClinic],
) -> None:
    # The content-pack help linked the API documentation at /api/v1/docs, which the service
    # does not serve (no Swagger UI: it would load scripts from a CDN); the OpenAPI
    # description is what the README names.
    client, clinic = site
    _login(client, clinic.users["admin"])
    html = client.get("/admin").text
    links = sorted(set(re.findall(r'<a href="(/[^"#]*)', html)))
    broken = [href for href in links if client.get(href).status_code >= 400]
    assert broken == []
    assert "/api/v1/openapi.json" in links


def _today() -> str:
    from datetime import date

    return date.today().strftime("%d %b %Y")


def test_the_clinic_report_runs_on_the_clinics_own_data(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    assert client.get("/clinic/report").status_code == 403
    _login(client, clinic.users["supervisor"])
    assert _json(client, "/clinic")["report"]["href"] == "/clinic/report"
    report = _json(client, "/clinic/report")
    assert (report["alliance"], report["outcome"]) == ("sac_total", "phq9_total")
    assert report["n_clients"] == 3
    assert report["source"] == "Riverside Clinic"
    sections = {s["key"]: s for s in report["sections"]}
    assert sections["outcomes"]["available"] is True
    # a section the data cannot support says why instead of disappearing
    assert sections["early_alliance"]["available"] is False
    assert "at least 10" in sections["early_alliance"]["reason"]
    assert isinstance(report["warnings"], list)
    html = client.get("/clinic/report")
    assert html.status_code == 200
    assert "Bordin supports clinical judgement; it does not diagnose." in html.text
    policy = html.headers["content-security-policy"]
    assert "script-src 'none'" in policy  # the report's inline styles, and no scripts
    _no_external_resources(html.text)


def test_an_admin_adds_a_team_and_a_user_who_can_then_log_in(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["admin"])
    assert client.post("/admin/teams", data={"name": "South team"}).status_code == 403
    done = client.post(
        "/admin/teams",
        data={"name": "South team", "csrf_token": _csrf(client)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin?done=team"
    page = client.get("/admin?done=team&format=json").json()
    assert page["done"] == "Team created."
    south = next(t for t in page["teams"] if t["name"] == "South team")
    user = {
        "username": "new.therapist@test",
        "display_name": "Casey New",
        "role": "therapist",
        "team_id": str(south["id"]),
        "password": "a long first password",
        "csrf_token": _csrf(client),
    }
    assert client.post("/admin/users", data=user, follow_redirects=False).status_code == 303
    again = client.post("/admin/users?format=json", data=user)
    assert again.status_code == 409
    body = again.json()
    assert body["error"]["form"] == "user" and "taken" in body["error"]["message"]
    assert body["entered"]["username"] == "new.therapist@test"
    assert "password" not in body["entered"]
    shown = client.post("/admin/users", data=user)
    assert shown.status_code == 409
    assert 'value="new.therapist@test"' in shown.text and "Nothing was saved" in shown.text
    short = client.post(
        "/admin/users?format=json", data={**user, "username": "x@test", "password": "short"}
    )
    assert short.status_code == 422
    client.post("/logout", data={"csrf_token": _csrf(client)})
    login = client.post(
        "/login",
        data={"username": user["username"], "password": user["password"]},
        follow_redirects=False,
    )
    assert login.status_code == 303
    assert _json(client, "/caseload")["user"]["display_name"] == "Casey New"


def test_an_admin_uploads_a_content_pack_that_is_checked_first(
    site: tuple[TestClient, PagesClinic],
) -> None:
    import json

    from bordin.instruments import get_content_pack

    client, clinic = site
    shipped = get_content_pack("gad7", "en")
    assert shipped is not None
    pack = shipped.model_dump(mode="json")
    pack["title"] = "GAD-7 (clinic wording)"
    files = {"file": ("gad7.json", json.dumps(pack), "application/json")}
    form = {"instrument": "gad7", "language": "en-GB"}
    _login(client, clinic.users["supervisor"])
    assert (
        client.post(
            "/admin/content-packs", data={**form, "csrf_token": _csrf(client)}, files=files
        ).status_code
        == 403
    )
    _login(client, clinic.users["admin"])
    done = client.post(
        "/admin/content-packs",
        data={**form, "csrf_token": _csrf(client)},
        files=files,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    packs = _json(client, "/admin")["content_packs"]
    uploaded = [p for p in packs if p["origin"] == "clinic"]
    assert [(p["instrument"], p["language"].lower()) for p in uploaded] == [("gad7", "en-gb")]
    broken = dict(pack, items=pack["items"][:3])
    refused = client.post(
        "/admin/content-packs?format=json",
        data={**form, "csrf_token": _csrf(client)},
        files={"file": ("gad7.json", json.dumps(broken), "application/json")},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["form"] == "pack"
    not_json = client.post(
        "/admin/content-packs?format=json",
        data={**form, "csrf_token": _csrf(client)},
        files={"file": ("gad7.json", "{not json", "application/json")},
    )
    assert not_json.status_code == 422
    assert "not valid JSON" in not_json.json()["error"]["message"]


@pytest.mark.parametrize(
    ("role", "paths"),
    [
        ("therapist", ["/caseload", "/clients/{C-101}", "/clients/{C-102}", "/risk"]),
        ("supervisor", ["/caseload", "/clients/{C-103}", "/team", "/clinic"]),
        ("admin", ["/caseload", "/team", "/clinic", "/admin", "/admin/risk"]),
    ],
)
def test_every_page_renders_as_html_with_the_disclaimer_and_nothing_external(
    site: tuple[TestClient, PagesClinic], role: str, paths: list[str]
) -> None:
    client, clinic = site
    _login(client, clinic.users[role])
    for template in paths:
        path = template
        for code, client_id in clinic.clients.items():
            path = path.replace("{" + code + "}", str(client_id))
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.text
        assert html.startswith("<!doctype html>") and '<html lang="en">' in html
        assert html.count("<h1>") + html.count("<h1 ") == 1, path
        assert '<main id="main"' in html and 'aria-label="Main"' in html
        assert DISCLAIMER in html
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        _no_external_resources(html)


def test_the_therapist_chooses_the_questionnaires_of_the_next_form(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    _login(client, clinic.users["therapist"])
    c102 = clinic.clients["C-102"]
    choices = {c["id"]: c for c in _json(client, f"/clients/{c102}")["form_choices"]}
    assert {"sac", "phq9", "gad7"} <= set(choices)
    assert all(c["id"] not in ("wai_sr", "srs", "ors") for c in choices.values())  # no wording
    assert choices["phq9"]["checked"] is True and choices["sac"]["checked"] is False
    response = client.post(
        f"/clients/{c102}/form-link?format=json",
        data={"csrf_token": _csrf(client), "instrument": ["sac", "gad7"]},
    )
    assert response.status_code == 201
    assert response.json()["form"]["instruments"] == ["sac", "gad7"]
    refused = client.post(
        f"/clients/{c102}/form-link?format=json",
        data={"csrf_token": _csrf(client), "instrument": ["nope"]},
    )
    assert refused.status_code == 422
    assert "unknown instrument" in refused.json()["message"]


@pytest.fixture
def new_clinic(tmp_path: Path) -> Iterator[TestClient]:
    """A clinic on its first day: its admin and a supervisor, no therapist, no data."""
    from bordin.settings import Settings
    from bordin.storage import actions, make_engine, make_session_factory, transaction
    from bordin.storage.migrate import upgrade_database
    from bordin.web.app import create_app

    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    upgrade_database(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as db:
        clinic = actions.create_clinic(db, actor=None, name="New Clinic")
        for role in ("admin", "supervisor"):
            actions.create_user(
                db,
                actor=None,
                clinic_id=clinic.id,
                username=f"{role}@new",
                password=PASSWORD,
                role=role,
            )
    engine.dispose()
    with TestClient(create_app(Settings(database_url=url, demo=True))) as client:
        yield client


def test_a_new_clinics_empty_pages_say_what_to_do_first(new_clinic: TestClient) -> None:
    # On a clinic's first day the team page showed an empty table, "add a client" a
    # therapist list with nothing to choose, and the clinic page said the report "is not
    # available in this installation yet" (it is: the clinic has no scores yet).
    _login(new_clinic, "admin@new")
    team = new_clinic.get("/team").text
    assert "No therapists yet" in team and 'href="/admin"' in team
    assert 'class="team"' not in team  # no table of nobody
    new = new_clinic.get("/clients/new").text
    assert "No therapists yet" in new and 'href="/admin"' in new
    clinic = new_clinic.get("/clinic").text
    assert "not available in this installation" not in clinic
    assert "once the clinic has sessions" in clinic
    _login(new_clinic, "supervisor@new")
    team = new_clinic.get("/team").text
    assert "No therapists yet" in team and 'href="/admin"' not in team  # an admin adds them


def test_a_note_too_long_is_named_as_the_note(site: tuple[TestClient, PagesClinic]) -> None:
    # The error page read "column 'note': the note is longer than 4000 characters".
    client, clinic = site
    _login(client, clinic.users["therapist"])
    path = f"/clients/{clinic.clients['C-101']}"
    alert = next(a for a in _json(client, path)["alerts"] if a["kind"] == "rupture_open")
    refused = client.post(
        f"/alerts/{alert['id']}/acknowledge",
        data={"note": "x" * 4001, "csrf_token": _csrf(client)},
    )
    assert refused.status_code == 422
    assert "Note: the note is longer than 4000 characters" in refused.text
    assert "column" not in refused.text


def test_the_clinic_and_admin_pages_show_the_norms_and_an_admin_refits_them(
    site: tuple[TestClient, PagesClinic],
) -> None:
    """What every client's signals are judged against, as `bordin norms show` says it; an
    administrator refits them from the admin page (a new snapshot, audited), a supervisor
    cannot."""
    client, clinic = site
    _login(client, clinic.users["supervisor"])
    norms = _json(client, "/clinic")["norms"]
    assert norms is not None
    labels = {q["name"]: q["label"] for q in norms["quantities"]}
    assert labels["within_sd_total"] == "Within-client SD (total)"
    assert labels["early_reference"] == "Early-alliance reference"
    assert all(q["text"] for q in norms["quantities"])
    html = client.get("/clinic").text
    assert f"Snapshot {norms['id']}, fitted" in html
    assert f"{norms['clients']} clients and {norms['sessions']} sessions" in html
    for q in norms["quantities"]:
        assert f'data-quantity="{q["name"]}"' in html
    assert "Refit the norms" not in html  # an administrator's action
    refused = client.post("/admin/norms", data={"csrf_token": _csrf(client)})
    assert refused.status_code == 403
    _login(client, clinic.users["admin"])
    admin = _json(client, "/admin")
    assert admin["norms"]["id"] == norms["id"]
    page = client.get("/admin").text
    assert 'action="/admin/norms"' in page and "Refit the norms now" in page
    missing_token = client.post("/admin/norms", data={}, follow_redirects=False)
    assert missing_token.status_code == 403
    assert _json(client, "/admin")["norms"]["id"] == norms["id"]  # nothing refitted
    done = client.post("/admin/norms", data={"csrf_token": _csrf(client)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin?done=norms"
    after = client.get("/admin?done=norms")
    assert "Norms refitted on the clinic" in after.text
    refitted = _json(client, "/admin")["norms"]
    assert refitted["id"] > norms["id"] and refitted["reason"] == "on demand"
    assert "sessions, at an administrator's request;" in unescape(client.get("/admin").text)
    assert _json(client, "/clinic")["norms"]["id"] == refitted["id"]
