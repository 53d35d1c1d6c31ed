"""The therapist's session check from the client page: stored like any instrument,
audited, in the exports, and paired with the client's check on the page."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
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


def _login(app: Any, username: str) -> TestClient:
    client = TestClient(app)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303
    return client


def _csrf(client: TestClient) -> str:
    return str(client.cookies.get("bordin_csrf"))


def _check(client: TestClient, client_id: int, session_id: int, answers: dict[int, int]) -> Any:
    data = {f"item-{n}": str(v) for n, v in answers.items()}
    data.update({"session_id": str(session_id), "csrf_token": _csrf(client)})
    return client.post(f"/clients/{client_id}/therapist-check", data=data, follow_redirects=False)


def _session_ids(page: dict[str, Any]) -> dict[int, int]:
    return {s["number"]: s["id"] for s in page["therapist_check"]["sessions"]}


# bond 1-2, goal 3-4, task 5-6, noticed tension (7), addressed (8), adherence (9)
CALM = {1: 5, 2: 5, 3: 4, 4: 4, 5: 4, 6: 4, 7: 0, 9: 4}


def test_the_therapist_rates_sessions_and_sees_the_pair(site: tuple[Any, PagesClinic]) -> None:
    app, clinic = site
    client_id = clinic.clients["C-101"]
    therapist = _login(app, clinic.users["therapist"])
    page = therapist.get(f"/clients/{client_id}?format=json").json()
    form = page["therapist_check"]
    assert [i["number"] for i in form["items"]] == list(range(1, 10))
    assert form["items"][0]["text"] == "I understood the client today."
    assert form["validated"] is False
    sessions = _session_ids(page)
    assert sorted(sessions) == [1, 2, 3, 4, 5]
    assert page["pair"]["sessions"] == []
    html = therapist.get(f"/clients/{client_id}").text
    assert f'action="/clients/{client_id}/therapist-check"' in html
    assert 'name="item-7"' in html and 'data-asked-if="item-7"' in html

    # item 8 ("if so, addressed?") is dropped by the page when nothing was noticed
    for number in (3, 4):
        saved = _check(therapist, client_id, sessions[number], {**CALM, 8: 3})
        assert saved.status_code == 303
        assert saved.headers["location"].endswith(f"?checked={number}#therapist-check")
    page = therapist.get(f"/clients/{client_id}?format=json").json()
    assert sorted(_session_ids(page)) == [1, 2, 5]
    pair = page["pair"]
    assert [p["session"] for p in pair["sessions"]] == [3, 4]
    # client at session 4: bond (2, 2), goal (2, 2), task (3, 3) -> total 7/3; therapist 13/3
    last = pair["sessions"][-1]
    assert last["therapist_total"] == pytest.approx(26 / 6)
    assert last["gap_total"] == pytest.approx(last["client_total"] - 26 / 6)
    # the client's drop and tension at session 4, unnoticed by the therapist
    assert {"session": 4, "side": "client_only"} in pair["ruptures"]
    kinds = [a["kind"] for a in pair["alerts"]]
    assert "rupture_client_only" in kinds
    alert = pair["alerts"][kinds.index("rupture_client_only")]
    assert alert["suggestions"] and any("Chen" in r for r in alert["references"])
    assert f"{alert['title']} (session 4)." in page["summary"]

    admin = _login(app, clinic.users["admin"])
    exported = admin.get("/api/v1/exports/session-scores.csv")
    assert exported.status_code == 200
    scores = pd.read_csv(io.StringIO(exported.text))
    row = scores[(scores["client_id"] == "C-101") & (scores["session"] == 4)].iloc[0]
    assert row["tsc_total"] == pytest.approx(26 / 6) and row["tsc_rupture"] == 0
    assert pd.isna(row.get("tsc_addressed")) and row["tsc_adherence"] == 4
    items = pd.read_csv(io.StringIO(admin.get("/api/v1/exports/item-responses.csv").text))
    mine = items[(items["instrument"] == "tsc") & (items["client_id"] == "C-101")]
    assert sorted(mine["item"].unique()) == [1, 2, 3, 4, 5, 6, 7, 9]


def test_a_second_check_bad_answers_and_other_users_are_refused(
    site: tuple[Any, PagesClinic],
) -> None:
    from bordin.storage import make_engine
    from bordin.storage.models import AuditEvent, ItemResponse

    app, clinic = site
    client_id = clinic.clients["C-101"]
    therapist = _login(app, clinic.users["therapist"])
    sessions = _session_ids(therapist.get(f"/clients/{client_id}?format=json").json())
    bad = therapist.post(
        f"/clients/{client_id}/therapist-check?format=json",
        data={
            **{f"item-{n}": str(v) for n, v in CALM.items() if n != 2},
            "session_id": str(sessions[1]),
            "csrf_token": _csrf(therapist),
        },
    )
    assert bad.status_code == 422
    assert bad.json()["message"] == (
        'Item 2, "The client felt respected and cared for.": this item is required'
    )
    assert _check(therapist, client_id, sessions[1], {**CALM, 7: 2, 8: 3}).status_code == 303
    again = _check(therapist, client_id, sessions[1], CALM)
    assert again.status_code == 409

    supervisor = _login(app, clinic.users["supervisor"])
    seen = supervisor.get(f"/clients/{client_id}?format=json").json()
    assert seen["therapist_check"] is None and "pair" in seen
    assert _check(supervisor, client_id, sessions[2], CALM).status_code == 403
    other = _login(app, clinic.users["therapist2"])
    assert _check(other, client_id, sessions[2], CALM).status_code == 404

    engine = make_engine(clinic.url)
    try:
        with engine.connect() as conn:
            audits = conn.execute(
                select(AuditEvent.detail).where(AuditEvent.action == "therapist_check.record")
            ).all()
            stored = conn.execute(
                select(ItemResponse.item, ItemResponse.value).where(
                    ItemResponse.instrument == "tsc"
                )
            ).all()
    finally:
        engine.dispose()
    assert len(audits) == 1 and audits[0][0]["session"] == 1
    assert dict(stored)[7] == 2 and dict(stored)[8] == 3 and len(stored) == 9


def test_off_track_client_gets_the_support_check_and_the_therapist_sees_flags(
    site: tuple[Any, PagesClinic],
) -> None:
    app, clinic = site
    therapist = _login(app, clinic.users["therapist"])
    colours = {}
    for code in ("C-101", "C-102"):
        page = therapist.get(f"/clients/{clinic.clients[code]}?format=json").json()
        phq9 = next(c for c in page["symptoms"] if c["instrument"] == "phq9")
        colours[code] = [s["colour"] for s in phq9["sessions"] if s["colour"]][-1]
    assert colours["C-101"] == "red" and colours["C-102"] in ("green", "white")

    def link(code: str) -> dict[str, Any]:
        response = therapist.post(
            f"/clients/{clinic.clients[code]}/form-link?format=json",
            data={"instrument": ["sac", "phq9"], "csrf_token": _csrf(therapist)},
        )
        assert response.status_code == 201
        return dict(response.json()["form"])

    off = link("C-101")
    assert off["instruments"] == ["sac", "phq9", "csc"]
    assert link("C-102")["instruments"] == ["sac", "phq9"]

    from sqlalchemy.orm import Session as OrmSession

    from bordin.storage import make_engine
    from bordin.storage.actions import record_submission
    from bordin.storage.models import FormRequest

    token = off["url"].rsplit("/", 1)[-1]
    engine = make_engine(clinic.url)
    try:
        with OrmSession(engine) as db, db.begin():
            assert db.get(FormRequest, off["id"]) is not None
            record_submission(
                db,
                token=token,
                answers={
                    "sac": {str(i): 4 for i in range(1, 7)} | {"7": 0, "9": 0, "10": 0},
                    "phq9": {str(i): 2 for i in range(1, 10)} | {"9": 0},
                    # alliance 4.5, motivation 2 (flag), support 4, life events 3 (flag), wish 1
                    "csc": {"1": 4, "2": 5, "3": 2, "4": 2, "5": 4, "6": 4, "7": 3, "8": 3, "9": 1},
                },
            )
    finally:
        engine.dispose()
    page = therapist.get(f"/clients/{clinic.clients['C-101']}?format=json").json()
    support = page["support"]
    assert support["session"] == 5
    assert [d["domain"] for d in support["flagged"]] == ["motivation", "life_events"]
    assert all(d["considerations"] and d["references"] for d in support["flagged"])
    assert (
        "Support check (session 5): to talk about: motivation and readiness for change, "
        "recent life events and strain." in page["summary"]
    )
    html = therapist.get(f"/clients/{clinic.clients['C-101']}").text
    assert "Clinical support check (session 5)" in html and "Shimokawa" in html
    # the support check is not carried over to later links by itself
    assert "csc" not in [c["id"] for c in page["form_choices"] if c["checked"]]


def test_a_therapist_check_first_does_not_move_the_next_form_to_a_new_session(
    site: tuple[Any, PagesClinic],
) -> None:
    app, clinic = site
    client_id = clinic.clients["C-101"]
    therapist = _login(app, clinic.users["therapist"])
    sessions = _session_ids(therapist.get(f"/clients/{client_id}?format=json").json())
    latest = max(sessions)  # session 5: recorded, the client has not answered it yet
    assert latest == 5
    assert _check(therapist, client_id, sessions[latest], CALM).status_code == 303
    response = therapist.post(
        f"/clients/{client_id}/form-link?format=json",
        data={"instrument": ["sac"], "csrf_token": _csrf(therapist)},
    )
    assert response.status_code == 201
    assert response.json()["form"]["session"] == latest


def test_a_refused_check_names_the_item_by_the_number_shown(
    site: tuple[Any, PagesClinic],
) -> None:
    """With nothing noticed at item 7, item 8 is hidden and item 9 is shown as 8: the
    refusal says "Item 8" and quotes the item, not the stored "tsc:9"."""
    app, clinic = site
    client_id = clinic.clients["C-101"]
    therapist = _login(app, clinic.users["therapist"])
    sessions = _session_ids(therapist.get(f"/clients/{client_id}?format=json").json())
    calm_without_9 = {n: v for n, v in CALM.items() if n != 9}
    refused = _check(therapist, client_id, sessions[1], calm_without_9)
    assert refused.status_code == 422
    text = refused.text.replace("&#34;", '"').replace("&quot;", '"')
    assert 'Item 8, "I followed the approach we had planned.": this item is required' in text
    assert "tsc:9" not in text
    # with tension noticed, item 8 is shown and item 9 keeps its number
    tense = _check(therapist, client_id, sessions[1], {**calm_without_9, 7: 2, 8: 1})
    assert 'Item 9, "I followed the approach we had planned."' in tense.text.replace(
        "&#34;", '"'
    ).replace("&quot;", '"')
