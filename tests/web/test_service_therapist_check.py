"""The therapist's session check over the JSON API: only the client's therapist records it,
once per session; foreign sessions answer 404 like missing ones."""

from __future__ import annotations

import pytest

from web.service_world import BACKENDS, World

API = "/api/v1"
ANSWERS = {"1": 4, "2": 4, "3": 3, "4": 3, "5": 4, "6": 4, "7": 1, "8": 2, "9": 5}
EXPECTED = {
    "ta1": 201,  # the client's therapist
    "sa_north": 403,  # sees the client, but it is not their rating to give
    "aa": 403,
    "ta2": 404,
    "ta3": 404,
    "sa_south": 404,
    "tb1": 404,
    "sb": 404,
    "ab": 404,
    "anonymous": 401,
}


@pytest.mark.parametrize("actor", sorted(EXPECTED))
def test_only_the_clients_therapist_records_the_check(world: World, actor: str) -> None:
    client = world.anonymous() if actor == "anonymous" else world.login(actor)
    response = client.post(
        f"{API}/sessions/{world.sessions['ta1-2']}/therapist-check", json={"answers": ANSWERS}
    )
    assert response.status_code == EXPECTED[actor], response.text
    if response.status_code == 201:
        assert response.json() == {
            "session_id": world.sessions["ta1-2"],
            "instrument": "tsc",
            "items": 9,
        }
        scores = client.get(f"{API}/clients/{world.clients['ta1']}/scores").json()
        second = next(row for row in scores if row["session"] == 2)
        assert second["scores"]["tsc_total"] == pytest.approx(22 / 6)
        assert second["scores"]["tsc_addressed"] == 2
        again = client.post(
            f"{API}/sessions/{world.sessions['ta1-2']}/therapist-check",
            json={"answers": ANSWERS},
        )
        assert again.status_code == 409


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_bad_answers_name_the_item_and_store_nothing(world: World) -> None:
    client = world.login("ta1")
    url = f"{API}/sessions/{world.sessions['ta1']}/therapist-check"
    missing = client.post(url, json={"answers": {k: v for k, v in ANSWERS.items() if k != "5"}})
    assert missing.status_code == 422 and missing.json()["error"]["item"] == "tsc:5"
    unasked = client.post(url, json={"answers": {**ANSWERS, "7": 0}})
    assert unasked.status_code == 422 and unasked.json()["error"]["item"] == "tsc:8"
    assert client.post(url, json={"answers": ANSWERS}).status_code == 201


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_a_form_request_may_ask_for_the_support_check(world: World) -> None:
    from bordin.storage.models import Signal

    client = world.login("ta1")
    url = f"{API}/sessions/{world.sessions['ta1-2']}/form-requests"
    # one session: no colour yet, so nothing is added even when asked
    quiet = client.post(url, json={"instruments": ["gad7"], "support_check": True})
    assert quiet.status_code == 201 and quiet.json()["instruments"] == ["gad7"]
    with world.sessions_factory() as db, db.begin():  # the client's latest colour is red
        db.add(
            Signal(
                client_id=world.clients["ta1"],
                kind="session",
                session=1,
                data={"phq9_colour": "red", "gad7_colour": None},
            )
        )
    plain = client.post(url, json={"instruments": ["gad7"]})
    assert plain.status_code == 201 and plain.json()["instruments"] == ["gad7"]
    asked = client.post(url, json={"instruments": ["gad7"], "support_check": True})
    assert asked.status_code == 201 and asked.json()["instruments"] == ["gad7", "csc"]
