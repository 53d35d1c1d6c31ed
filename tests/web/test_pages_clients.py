"""Clients' care from the pages: add, record sessions, paper forms, dates, close, reopen,
transfer; each change audited and shown in the JSON twin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from e2e.pages_clinic import PASSWORD, PagesClinic, copy_pages_clinic


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Any, PagesClinic]]:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    yield create_app(Settings(database_url=clinic.url, demo=True)), clinic


def _client(app: Any, username: str) -> TestClient:
    client = TestClient(app)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303
    return client


def _csrf(client: TestClient) -> str:
    return str(client.cookies.get("bordin_csrf"))


def _post(client: TestClient, path: str, **data: str) -> Any:
    return client.post(path, data={**data, "csrf_token": _csrf(client)}, follow_redirects=False)


def _audit(clinic: PagesClinic, action: str) -> int:
    from bordin.storage import make_engine
    from bordin.storage.models import AuditEvent

    engine = make_engine(clinic.url)
    try:
        with engine.connect() as conn:
            return len(conn.execute(select(AuditEvent.id).where(AuditEvent.action == action)).all())
    finally:
        engine.dispose()


def test_a_therapist_adds_a_client_and_runs_their_care(site: tuple[Any, PagesClinic]) -> None:
    app, clinic = site
    therapist = _client(app, clinic.users["therapist"])
    assert 'href="/clients/new"' in therapist.get("/caseload").text
    form = therapist.get("/clients/new?format=json").json()
    assert form["choose_therapist"] is False
    bad = therapist.post(
        "/clients/new?format=json", data={"code": "Ann Smith", "csrf_token": _csrf(therapist)}
    )
    assert bad.status_code == 422 and bad.json()["error"]["column"] == "code"
    added = _post(therapist, "/clients/new", code="C-900", opened_on="2026-01-05")
    assert added.status_code == 303
    care_path = added.headers["location"].split("?")[0]
    client_id = int(care_path.split("/")[2])
    care = therapist.get(f"{care_path}?format=json").json()
    assert care["client"]["code"] == "C-900" and care["open_episode"]
    assert care["episodes"][0]["opened_on"] == "2026-01-05"
    taken = therapist.post(
        "/clients/new?format=json", data={"code": "C-900", "csrf_token": _csrf(therapist)}
    )
    assert taken.status_code == 409

    assert _post(therapist, f"{care_path}/session", session_date="2026-01-12").status_code == 303
    session = therapist.get(f"{care_path}?format=json").json()["sessions"][0]
    assert (session["number"], session["date"]) == (1, "2026-01-12")
    # a session without forms says so in words (not a bare "None")
    row = (
        therapist.get(care_path)
        .text.split('<th scope="row" data-label="Session">1</th>', 1)[1]
        .split("</tr>")[0]
    )
    assert '<td data-label="Forms">No forms</td>' in row and "None" not in row
    fixed = _post(
        therapist, f"{care_path}/date", session_id=str(session["id"]), session_date="2026-01-13"
    )
    assert fixed.status_code == 303
    assert therapist.get(f"{care_path}?format=json").json()["sessions"][0]["date"] == "2026-01-13"

    paper = therapist.get(
        f"/clients/{client_id}/sessions/{session['id']}/paper?instrument=phq9&format=json"
    ).json()
    assert [i["number"] for i in paper["items"]] == list(range(1, 10))
    answers = {f"item-{i}": "1" for i in range(1, 10)}
    wrong = therapist.post(
        f"{care_path}/paper?format=json",
        data={
            **answers,
            "item-3": "7",
            "session_id": str(session["id"]),
            "instrument": "phq9",
            "csrf_token": _csrf(therapist),
        },
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["item"] == "phq9:3"
    stored = _post(
        therapist,
        f"{care_path}/paper",
        session_id=str(session["id"]),
        instrument="phq9",
        **answers,
    )
    assert stored.status_code == 303
    forms = therapist.get(f"{care_path}?format=json").json()["sessions"][0]["forms"]
    assert forms == [{"instrument": "phq9", "name": "PHQ-9", "staff_entered": True}]
    # the forms column and the paper form's choice name instruments as staff know them
    care_html = therapist.get(care_path).text
    assert '<span class="nowrap">PHQ-9</span> (staff-entered)</td>' in care_html
    assert '<option value="phq9">PHQ-9</option>' in care_html
    page = therapist.get(f"/clients/{client_id}?format=json").json()
    assert page["client"]["sessions"] == 1
    twice = therapist.post(
        f"{care_path}/paper?format=json",
        data={
            **answers,
            "session_id": str(session["id"]),
            "instrument": "phq9",
            "csrf_token": _csrf(therapist),
        },
    )
    assert twice.status_code == 409

    episode = therapist.get(f"{care_path}?format=json").json()["open_episode"]
    closed = _post(
        therapist,
        f"{care_path}/close",
        episode_id=str(episode),
        reason="dropout",
        closed_on="2026-02-01",
    )
    assert closed.status_code == 303
    care = therapist.get(f"{care_path}?format=json").json()
    assert care["open_episode"] is None
    assert (care["episodes"][0]["closed_on"], care["episodes"][0]["reason"]) == (
        "2026-02-01",
        "dropout",
    )
    refused = therapist.post(
        f"{care_path}/session?format=json",
        data={"session_date": "2026-02-03", "csrf_token": _csrf(therapist)},
    )
    assert refused.status_code == 409
    assert _post(therapist, f"{care_path}/reopen", opened_on="2026-03-01").status_code == 303
    assert len(therapist.get(f"{care_path}?format=json").json()["episodes"]) == 2
    for action in (
        "client.create",
        "session.create",
        "session.change_date",
        "form.enter_paper",
        "episode.close",
        "episode.open",
    ):
        assert _audit(clinic, action) >= 1, action


def test_transfer_is_for_supervisors_and_admins(site: tuple[Any, PagesClinic]) -> None:
    app, clinic = site
    client_id = clinic.clients["C-101"]
    therapist = _client(app, clinic.users["therapist"])
    assert therapist.get(f"/clients/{client_id}/care?format=json").json()["can_transfer"] is False
    denied = _post(therapist, f"/clients/{client_id}/care/transfer", therapist_id="1")
    assert denied.status_code == 403
    admin = _client(app, clinic.users["admin"])
    care = admin.get(f"/clients/{client_id}/care?format=json").json()
    other = next(t for t in care["therapists"] if t["id"] != care["client"]["therapist_id"])
    moved = _post(admin, f"/clients/{client_id}/care/transfer", therapist_id=str(other["id"]))
    assert moved.status_code == 303
    assert (
        admin.get(f"/clients/{client_id}/care?format=json").json()["client"]["therapist_id"]
        == other["id"]
    )
    assert _audit(clinic, "client.transfer") == 1
    new = admin.post("/clients/new?format=json", data={"code": "C-950", "csrf_token": _csrf(admin)})
    assert new.status_code == 422 and new.json()["error"]["column"] == "therapist_id"


def test_another_therapists_client_is_not_found(site: tuple[Any, PagesClinic]) -> None:
    app, clinic = site
    therapist = _client(app, clinic.users["therapist"])
    other = clinic.clients["C-103"]
    assert therapist.get(f"/clients/{other}/care").status_code == 404
    response = _post(therapist, f"/clients/{other}/care/session", session_date="2026-01-01")
    assert response.status_code == 404


def test_the_caseload_searches_and_filters(site: tuple[Any, PagesClinic]) -> None:
    app, clinic = site
    supervisor = _client(app, clinic.users["admin"])
    everyone = supervisor.get("/caseload?format=json").json()
    codes = {c["code"] for c in everyone["clients"]}
    assert {"C-101", "C-102", "C-103"} <= codes and everyone["filters"]["active"] is False
    found = supervisor.get("/caseload?format=json&q=c-10").json()
    assert {c["code"] for c in found["clients"]} == {"C-101", "C-102", "C-103"}
    assert supervisor.get("/caseload?format=json&q=102").json()["filters"]["shown"] == 1
    with_risk = supervisor.get("/caseload?format=json&alert=risk").json()["clients"]
    assert all(any(b["kind"] == "risk" for b in c["badges"]) for c in with_risk)
    code = everyone["clients"][0]["therapist_code"]
    mine = supervisor.get(f"/caseload?format=json&therapist={code}").json()["clients"]
    assert mine and all(c["therapist_code"] == code for c in mine)
    care = supervisor.get(f"/clients/{clinic.clients['C-102']}/care?format=json").json()
    _post(
        supervisor,
        f"/clients/{clinic.clients['C-102']}/care/close",
        episode_id=str(care["open_episode"]),
        reason="planned",
    )
    closed = supervisor.get("/caseload?format=json&status=closed").json()["clients"]
    assert [c["code"] for c in closed] == ["C-102"]
    still = supervisor.get("/caseload?format=json&status=open").json()["clients"]
    assert "C-102" not in {c["code"] for c in still}
    html = supervisor.get("/caseload?q=zzz").text
    assert "No client matches." in html and 'data-label="Needs attention"' not in html


def test_a_clients_form_language_and_questionnaires(site: tuple[Any, PagesClinic]) -> None:
    app, clinic = site
    therapist = _client(app, clinic.users["therapist"])
    options = therapist.get("/clients/new?format=json").json()["form_options"]
    assert "en" in options["languages"]
    assert {"sac", "gad7"} <= {i["id"] for i in options["instruments"]}
    bad = therapist.post(
        "/clients/new?format=json",
        data={"code": "C-960", "form_language": "English!", "csrf_token": _csrf(therapist)},
    )
    assert bad.status_code == 422 and bad.json()["error"]["column"] == "form_language"
    added = therapist.post(
        "/clients/new",
        data={
            "code": "C-960",
            "form_language": "en",
            "instrument": ["sac", "gad7"],
            "csrf_token": _csrf(therapist),
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    client_id = int(added.headers["location"].split("/")[2])
    care = therapist.get(f"/clients/{client_id}/care?format=json").json()
    assert care["client"]["default_instruments"] == ["sac", "gad7"]
    link = therapist.post(
        f"/clients/{client_id}/form-link?format=json", data={"csrf_token": _csrf(therapist)}
    )
    assert link.status_code == 201, link.text
    assert link.json()["form"]["instruments"] == ["sac", "gad7"]
    changed = therapist.post(
        f"/clients/{client_id}/care/defaults",
        data={"form_language": "en", "instrument": ["phq9"], "csrf_token": _csrf(therapist)},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    care = therapist.get(f"/clients/{client_id}/care?format=json").json()
    assert care["client"]["default_instruments"] == ["phq9"]
    assert _audit(clinic, "client.set_form_defaults") == 1
    clinician = therapist.post(
        f"/clients/{client_id}/care/defaults?format=json",
        data={"form_language": "en", "instrument": ["wai_sr_t"], "csrf_token": _csrf(therapist)},
    )
    assert clinician.status_code == 422


def test_form_links_use_the_clients_language(site: tuple[Any, PagesClinic]) -> None:
    from bordin.storage import make_engine
    from bordin.storage.models import FormRequest

    app, clinic = site
    therapist = _client(app, clinic.users["therapist"])
    client_id = clinic.clients["C-102"]
    saved = _post(therapist, f"/clients/{client_id}/care/defaults", form_language="pt-BR")
    assert saved.status_code == 303
    link = therapist.post(
        f"/clients/{client_id}/form-link?format=json", data={"csrf_token": _csrf(therapist)}
    )
    assert link.status_code == 201
    engine = make_engine(clinic.url)
    try:
        with engine.connect() as conn:
            language = conn.scalar(
                select(FormRequest.language).where(FormRequest.id == link.json()["form"]["id"])
            )
    finally:
        engine.dispose()
    assert language == "pt-BR"


def test_a_cancelled_or_missed_session_keeps_the_numbering(site: tuple[Any, PagesClinic]) -> None:
    app, clinic = site
    therapist = _client(app, clinic.users["therapist"])
    client_id = clinic.clients["C-102"]
    path = f"/clients/{client_id}/care"
    before = therapist.get(f"{path}?format=json").json()
    done = _post(therapist, f"{path}/missed", missed_date="2026-03-02", kind="did_not_attend")
    assert done.status_code == 303
    _post(therapist, f"{path}/missed", missed_date="2026-03-09", kind="cancelled")
    bad = therapist.post(
        f"{path}/missed?format=json",
        data={"missed_date": "2026-03-16", "kind": "late", "csrf_token": _csrf(therapist)},
    )
    assert bad.status_code == 422 and bad.json()["error"]["column"] == "kind"
    after = therapist.get(f"{path}?format=json").json()
    assert [(m["date"], m["kind"]) for m in after["missed"]] == [
        ("2026-03-02", "did_not_attend"),
        ("2026-03-09", "cancelled"),
    ]
    assert after["sessions"] == before["sessions"]  # attended numbering unchanged
    _post(therapist, f"{path}/session", session_date="2026-03-23")
    numbers = [s["number"] for s in therapist.get(f"{path}?format=json").json()["sessions"]]
    assert numbers[-1] == len(before["sessions"]) + 1
    assert _audit(clinic, "session.missed") == 2


def test_a_client_code_is_corrected(site: tuple[Any, PagesClinic]) -> None:
    app, clinic = site
    therapist = _client(app, clinic.users["therapist"])
    path = f"/clients/{clinic.clients['C-102']}/care"
    taken = therapist.post(
        f"{path}/code?format=json", data={"code": "C-101", "csrf_token": _csrf(therapist)}
    )
    assert taken.status_code == 409
    bad = therapist.post(
        f"{path}/code?format=json", data={"code": "Jo Bloggs", "csrf_token": _csrf(therapist)}
    )
    assert bad.status_code == 422
    assert _post(therapist, f"{path}/code", code="C-102b").status_code == 303
    assert therapist.get(f"{path}?format=json").json()["client"]["code"] == "C-102b"
    assert _audit(clinic, "client.rename") == 1


def test_a_rejected_field_is_named_by_its_label_not_its_column(
    site: tuple[Any, PagesClinic],
) -> None:
    # The error summaries showed the form field's internal name ("column 'opened_on': a
    # date is written YYYY-MM-DD"); staff see the label they filled in.
    app, clinic = site
    therapist = _client(app, clinic.users["therapist"])
    bad_date = therapist.post(
        "/clients/new",
        data={"code": "C-961", "opened_on": "2026-13-45", "csrf_token": _csrf(therapist)},
    )
    assert bad_date.status_code == 422
    assert "Start of care: a date is written YYYY-MM-DD" in bad_date.text
    assert "column" not in bad_date.text.split('class="error-summary"')[1].split("</div>")[0]
    assert "&#39;opened_on&#39;" not in bad_date.text
    short = therapist.post(
        "/account/password?format=json",
        data={
            "current_password": PASSWORD,
            "new_password": "short",
            "csrf_token": _csrf(therapist),
        },
    )
    assert short.status_code == 422
    assert short.json()["error"]["message"].startswith("New password: ")
    assert short.json()["error"]["column"] == "new_password"  # the field is still marked
    admin = _client(app, clinic.users["admin"])
    empty = admin.post(
        "/admin/users?format=json",
        data={
            "username": " ",
            "password": "a long first password",
            "role": "therapist",
            "csrf_token": _csrf(admin),
        },
    )
    assert empty.status_code == 422
    assert empty.json()["error"]["message"] == "Username: the username is empty"


def test_the_form_language_is_chosen_by_name_among_the_forms_languages(
    site: tuple[Any, PagesClinic],
) -> None:
    # The new-client and care pages offered only the languages of content packs, shown as
    # bare codes ("en"); the client page's form link offers English and Deutsch.
    app, clinic = site
    therapist = _client(app, clinic.users["therapist"])
    html = therapist.get("/clients/new").text
    assert '<option value="en" selected>English</option>' in html
    assert '<option value="de">Deutsch</option>' in html
    added = therapist.post(
        "/clients/new",
        data={"code": "C-962", "form_language": "de", "csrf_token": _csrf(therapist)},
        follow_redirects=False,
    )
    assert added.status_code == 303
    client_id = int(added.headers["location"].split("/")[2])
    care = therapist.get(f"/clients/{client_id}/care").text
    assert '<option value="de" selected>Deutsch</option>' in care


def test_a_date_pickers_hint_does_not_contradict_the_picker(
    site: tuple[Any, PagesClinic],
) -> None:
    # a browser's date picker shows the date in the user's locale (e.g. mm/dd/yyyy); the
    # hint says what the date is, never the YYYY-MM-DD the form sends
    app, clinic = site
    therapist = _client(app, clinic.users["therapist"])
    pages = ["/clients/new", f"/clients/{clinic.clients['C-101']}/care"]
    checked = 0
    for path in pages:
        html = therapist.get(path).text
        for field in re.findall(r'<input type="date" id="([^"]+)"', html):
            label = re.search(rf'<label for="{field}"[^>]*>(.*?)</label>', html, re.DOTALL)
            assert label is not None, field
            assert "YYYY" not in label.group(1), (path, label.group(1))
            checked += 1
    assert checked >= 3
    new = therapist.get("/clients/new").text
    assert "The first day of this episode of care; today if left empty." in new
