"""Form links do not outlive their context (issue 21, item 4).

A closed episode's links are cancelled at closing; a deactivated therapist's pending links
take answers only once the client has been transferred, and the new therapist sees them.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from bordin.storage import actions, transaction
from bordin.storage.models import AuditEvent, Episode, ItemResponse, User
from web.service_world import PHQ9_MILD, SAC_OK, World

API = "/api/v1"
ANSWERS = {"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}}


def _responses(world: World, client: str) -> int:
    with world.sessions_factory() as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(ItemResponse)
                .where(ItemResponse.client_id == world.clients[client])
            )
            or 0
        )


def _episode(world: World, client: str) -> int:
    with world.sessions_factory() as db:
        return int(
            db.scalar(select(Episode.id).where(Episode.client_id == world.clients[client])) or 0
        )


def _deactivate(world: World, name: str) -> None:
    with transaction(world.sessions_factory) as db:
        admin = db.get(User, world.users["aa"])
        actions.set_user_active(db, actor=admin, user_id=world.users[name], active=False)


def test_closing_an_episode_cancels_its_links(world: World) -> None:
    therapist = world.login("ta1")
    token = world.open_tokens["ta1"]
    before = _responses(world, "ta1")
    closed = therapist.post(f"{API}/episodes/{_episode(world, 'ta1')}/close", json={})
    assert closed.status_code == 200, closed.text
    phone = world.anonymous()
    assert phone.get(f"{API}/forms/{token}").status_code == 410
    refused = phone.post(f"{API}/forms/{token}", json=ANSWERS)
    assert refused.status_code == 410 and _responses(world, "ta1") == before
    with world.sessions_factory() as db:
        cancels = db.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.action == "form_request.cancel",
                AuditEvent.client_id == world.clients["ta1"],
            )
        ).all()
    assert [d["reason"] for d in cancels] == ["episode_closed"]
    # No new link for a session of the closed episode either.
    again = therapist.post(
        f"{API}/sessions/{world.sessions['ta1-2']}/form-requests", json={"instruments": ["gad7"]}
    )
    assert again.status_code == 409, again.text


def test_a_link_of_an_episode_closed_before_this_rule_is_refused(world: World) -> None:
    with transaction(world.sessions_factory) as db:  # closed without cancelling, as before
        db.execute(
            update(Episode)
            .where(Episode.id == _episode(world, "ta2"))
            .values(closed_on=Episode.opened_on)
        )
    response = world.anonymous().post(f"{API}/forms/{world.open_tokens['ta2']}", json=ANSWERS)
    assert response.status_code == 410


def test_a_deactivated_therapists_link_waits_for_a_transfer(world: World) -> None:
    token = world.open_tokens["ta1"]
    before = _responses(world, "ta1")
    _deactivate(world, "ta1")
    phone = world.anonymous()
    assert phone.get(f"{API}/forms/{token}").status_code == 410
    assert phone.post(f"{API}/forms/{token}", json=ANSWERS).status_code == 410
    assert _responses(world, "ta1") == before
    supervisor = world.login("sa_north")
    moved = supervisor.post(
        "/clients/{}/care/transfer".format(world.clients["ta1"]),
        data={
            "therapist_id": str(world.users["ta2"]),
            "csrf_token": supervisor.cookies.get("bordin_csrf") or "",
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text
    accepted = phone.post(f"{API}/forms/{token}", json=ANSWERS)
    assert accepted.status_code == 201, accepted.text
    assert _responses(world, "ta1") > before
    # The new therapist sees the answers.
    scores = world.login("ta2").get(f"{API}/clients/{world.clients['ta1']}/scores")
    assert scores.status_code == 200
    assert len(scores.json()) == 2, scores.text
