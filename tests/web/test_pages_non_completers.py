"""Delivery over HTTP: contact details, sending a form by email, the non-completer page
(with its JSON twin and API route), resend and "filled on paper", each in scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bordin.storage.contact_cipher import new_contact_key
from bordin.storage.models import AuditEvent, OutboxMessage
from bordin.web.security import CSRF_HEADER
from web.service_world import World


@pytest.fixture
def delivering(world: World) -> Iterator[World]:
    """The world with a contact key (the sender is not started: nothing leaves)."""
    settings = world.settings.model_copy(
        update={"contact_key": new_contact_key(), "outbox_in_process": False}
    )
    copy = World(
        database_url=world.database_url,
        settings=settings,
        users=dict(world.users),
        clinics=dict(world.clinics),
        clients=dict(world.clients),
        sessions=dict(world.sessions),
        episodes=dict(world.episodes),
    )
    try:
        yield copy
    finally:
        copy.close()


def _send_form(http, client_id: int) -> dict:  # type: ignore[no-untyped-def]
    session = http.post(f"/api/v1/clients/{client_id}/sessions", json={})
    assert session.status_code == 201, session.text
    sent = http.post(
        f"/api/v1/sessions/{session.json()['id']}/send-form", json={"instruments": ["phq9"]}
    )
    assert sent.status_code == 201, sent.text
    return dict(sent.json())


def test_contact_details_over_the_api_are_scoped_audited_and_deletable(
    delivering: World,
) -> None:
    ta1, ta3 = delivering.login("ta1"), delivering.login("ta3")
    client = delivering.clients["ta1"]
    path = f"/api/v1/clients/{client}/contact"
    assert ta1.put(path, json={"email": "nope"}).status_code == 422
    assert ta1.put(path, json={"email": "ada@example.org"}).status_code == 204
    assert ta1.get(path).json()["email"] == "ada@example.org"
    assert ta3.get(path).status_code == 404
    assert ta3.put(path, json={"email": "x@example.org"}).status_code == 404
    with delivering.sessions_factory() as db:
        reads = db.scalars(
            select(AuditEvent.actor_id).where(
                AuditEvent.action == "contact.read", AuditEvent.client_id == client
            )
        ).all()
    assert reads == [delivering.users["ta1"]]
    assert ta1.delete(path).status_code == 204
    assert ta1.get(path).json()["email"] is None


def test_non_completers_page_json_twin_and_api_with_resend_and_paper(
    delivering: World,
) -> None:
    ta1 = delivering.login("ta1")
    client = delivering.clients["ta1"]
    ta1.put(f"/api/v1/clients/{client}/contact", json={"email": "ada@example.org"})
    first = _send_form(ta1, client)
    assert first["not_emailed"] is None
    with delivering.sessions_factory() as db:
        assert db.scalars(select(OutboxMessage.status)).all() == ["queued"]

    listed = ta1.get("/api/v1/non-completers").json()
    assert [(n["delivery_id"], n["client_code"], n["emailed"]) for n in listed] == [
        (first["id"], "ta1-c1", True)
    ]
    page = ta1.get("/non-completers?format=json").json()
    assert page["total"] == 1
    [group] = page["therapists"]
    assert group["therapist_id"] == delivering.users["ta1"]
    [row] = group["clients"]
    assert row["resend_action"] == f"/non-completers/{first['id']}/resend"
    html = ta1.get("/non-completers")
    assert html.status_code == 200 and "ta1-c1" in html.text and "Filled on paper" in html.text

    # in scope: the team's supervisor sees it; another team's therapist and supervisor do not
    assert len(delivering.login("sa_north").get("/api/v1/non-completers").json()) == 1
    assert delivering.login("sa_south").get("/api/v1/non-completers").json() == []
    ta3 = delivering.login("ta3")
    assert ta3.get("/non-completers?format=json").json()["total"] == 0
    assert ta3.post(f"/api/v1/form-deliveries/{first['id']}/resend").status_code == 404

    resent = ta1.post(f"/api/v1/form-deliveries/{first['id']}/resend")
    assert resent.status_code == 201
    assert ta1.post(f"/api/v1/form-deliveries/{first['id']}/resend").status_code == 409
    second = resent.json()["id"]
    done = ta1.post(
        f"/non-completers/{second}/paper",
        data={"csrf_token": ta1.headers[CSRF_HEADER]},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/non-completers?done=paper"
    assert ta1.get("/api/v1/non-completers").json() == []
    refused = ta1.post(f"/non-completers/{second}/paper", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    with delivering.sessions_factory() as db:
        statuses = db.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all()
    assert statuses == ["queued", "cancelled"]  # the paper form's email is not sent


def test_bookings_and_schedules_over_the_api(delivering: World) -> None:
    ta1 = delivering.login("ta1")
    client = delivering.clients["ta1"]
    episode = ta1.get(f"/api/v1/clients/{client}/episodes").json()[0]["id"]
    naive = ta1.post(f"/api/v1/clients/{client}/bookings", json={"starts_at": "2030-01-07T09:00"})
    assert naive.status_code == 422
    booked = ta1.post(
        f"/api/v1/clients/{client}/bookings", json={"starts_at": "2030-01-07T09:00:00+01:00"}
    )
    assert booked.status_code == 201
    when = datetime.fromisoformat(booked.json()["starts_at"])
    assert when == datetime(2030, 1, 7, 8, tzinfo=UTC)
    schedule = ta1.put(
        f"/api/v1/episodes/{episode}/schedule",
        json={"mode": "before_session", "instruments": ["phq9", "sac"], "hours_before": 48},
    )
    assert schedule.status_code == 200, schedule.text
    assert schedule.json()["hours_before"] == 48
    [listed] = ta1.get(f"/api/v1/clients/{client}/bookings").json()
    assert datetime.fromisoformat(listed["starts_at"]) == when
    cancelled = ta1.post(f"/api/v1/bookings/{booked.json()['id']}/cancel")
    assert cancelled.status_code == 200
    assert ta1.get(f"/api/v1/clients/{client}/bookings").json() == []
    other = delivering.login("ta3")
    assert (
        other.put(
            f"/api/v1/episodes/{episode}/schedule", json={"mode": "manual", "instruments": ["phq9"]}
        ).status_code
        == 404
    )


def test_client_delivery_page_sets_contact_schedule_booking_and_sends(
    delivering: World,
) -> None:
    ta1 = delivering.login("ta1")
    client = delivering.clients["ta1"]
    base = f"/clients/{client}/delivery"
    csrf = {"csrf_token": ta1.headers[CSRF_HEADER]}

    def post(what: str, **data: str):  # type: ignore[no-untyped-def]
        return ta1.post(f"{base}/{what}", data={**csrf, **data}, follow_redirects=False)

    assert post("contact", email="not-an-address").status_code == 422
    done = post("contact", email="ada@example.org")
    assert done.status_code == 303 and done.headers["location"] == f"{base}?done=contact"
    page = ta1.get(f"{base}?format=json").json()
    assert page["contact"] == {"email": "ada@example.org", "phone": None}
    assert (
        post(
            "schedule",
            episode_id=str(page["open_episode"]),
            mode="before_session",
            instrument_list="phq9,gad7",
            hours_before="36",
            language="en",
        ).status_code
        == 303
    )
    assert post("book", starts_at="2031-03-04T10:00").status_code == 303
    page = ta1.get(f"{base}?format=json").json()
    assert page["schedule"]["instruments"] == ["phq9", "gad7"]
    assert page["schedule"]["hours_before"] == 36
    [booking] = page["bookings"]
    assert datetime.fromisoformat(booking["starts_at"]) == datetime(2031, 3, 4, 10, tzinfo=UTC)
    sent = post("send", session_id=str(page["latest_session"]["id"]), instrument_list="gad7")
    assert sent.status_code == 303
    with delivering.sessions_factory() as db:
        assert db.scalars(select(OutboxMessage.kind)).all() == ["form"]
    html = ta1.get(base)
    assert html.status_code == 200 and "ada@example.org" in html.text
    # another team's therapist cannot open or change it
    other = delivering.login("ta3")
    assert other.get(base).status_code == 404
    assert (
        other.post(
            f"{base}/forget",
            data={"csrf_token": other.headers[CSRF_HEADER]},
            follow_redirects=False,
        ).status_code
        == 404
    )
    assert post("forget").status_code == 303
    assert ta1.get(f"{base}?format=json").json()["contact"] is None
