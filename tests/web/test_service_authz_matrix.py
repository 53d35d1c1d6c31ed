"""Authorisation matrix: each role, an anonymous caller and a form token against every
endpoint, on own and foreign records.

Foreign records (another therapist's, another team's, another clinic's) answer 404, exactly
like records that do not exist; role-restricted operations answer 403; no login is 401.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bordin.storage.models import Episode
from web.service_world import PHQ9_MILD, SAC_OK, World

API = "/api/v1"
FHIR = "/fhir/R4"
ACTORS = [
    "ta1",
    "ta2",
    "ta3",
    "sa_north",
    "sa_south",
    "s_none",
    "aa",
    "tb1",
    "sb",
    "ab",
    "anonymous",
]
# Who may see ta1's client (therapist ta1, the north supervisor, clinic A's admin).
SEES_TA1 = {"ta1", "sa_north", "aa"}
ROLE = {
    "ta1": "therapist",
    "ta2": "therapist",
    "ta3": "therapist",
    "tb1": "therapist",
    "sa_north": "supervisor",
    "sa_south": "supervisor",
    "s_none": "supervisor",
    "sb": "supervisor",
    "aa": "admin",
    "ab": "admin",
}


@dataclass(frozen=True)
class Call:
    """One endpoint call on ta1's records, and the status when the caller may do it."""

    name: str
    make: Callable[[TestClient, World, dict[str, int]], object]
    allowed_status: int


def _episode_id(world: World) -> int:
    with world.sessions_factory() as db:
        return int(
            db.scalar(select(Episode.id).where(Episode.client_id == world.clients["ta1"])) or 0
        )


CLIENT_SCOPED = [
    Call("get client", lambda c, w, x: c.get(f"{API}/clients/{w.clients['ta1']}"), 200),
    Call("list episodes", lambda c, w, x: c.get(f"{API}/clients/{w.clients['ta1']}/episodes"), 200),
    Call("list sessions", lambda c, w, x: c.get(f"{API}/clients/{w.clients['ta1']}/sessions"), 200),
    Call("get session", lambda c, w, x: c.get(f"{API}/sessions/{w.sessions['ta1']}"), 200),
    Call(
        "list form requests",
        lambda c, w, x: c.get(f"{API}/clients/{w.clients['ta1']}/form-requests"),
        200,
    ),
    Call("scores", lambda c, w, x: c.get(f"{API}/clients/{w.clients['ta1']}/scores"), 200),
    Call("signals", lambda c, w, x: c.get(f"{API}/clients/{w.clients['ta1']}/signals"), 200),
    Call("alerts", lambda c, w, x: c.get(f"{API}/clients/{w.clients['ta1']}/alerts"), 200),
    Call(
        "FHIR QuestionnaireResponse search",
        lambda c, w, x: c.get(f"{FHIR}/QuestionnaireResponse", params={"subject": "ta1-c1"}),
        200,
    ),
    Call(
        "FHIR Observation search",
        lambda c, w, x: c.get(
            f"{FHIR}/Observation", params={"subject": "ta1-c1", "code": "44261-6"}
        ),
        200,
    ),
    Call(
        "acknowledge alert",
        lambda c, w, x: c.post(f"{API}/alerts/{w.alerts['ta1']}/acknowledge", json={"note": "n"}),
        200,
    ),
    Call(
        "create session",
        lambda c, w, x: c.post(f"{API}/clients/{w.clients['ta1']}/sessions", json={}),
        201,
    ),
    Call(
        "create form request",
        lambda c, w, x: c.post(
            f"{API}/sessions/{w.sessions['ta1-2']}/form-requests", json={"instruments": ["gad7"]}
        ),
        201,
    ),
    Call(
        "open episode (one is open: 409 once past authorisation)",
        lambda c, w, x: c.post(f"{API}/clients/{w.clients['ta1']}/episodes", json={}),
        409,
    ),
    Call(
        "close episode",
        lambda c, w, x: c.post(f"{API}/episodes/{x['episode']}/close", json={}),
        200,
    ),
]


def _client_for(world: World, actor: str) -> TestClient:
    return world.anonymous() if actor == "anonymous" else world.login(actor)


@pytest.mark.parametrize("actor", ACTORS)
def test_client_records_visible_only_in_scope(world: World, actor: str) -> None:
    client = _client_for(world, actor)
    extra = {"episode": _episode_id(world)}
    for call in CLIENT_SCOPED:
        response = call.make(client, world, extra)
        status = response.status_code  # type: ignore[attr-defined]
        if actor == "anonymous":
            expected = 401
        elif actor in SEES_TA1:
            expected = call.allowed_status
        else:
            expected = 404
        assert status == expected, f"{actor} {call.name}: {status} {response.text}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("actor", ACTORS)
def test_lists_exports_and_admin_operations(world: World, actor: str) -> None:
    client = _client_for(world, actor)
    listing = client.get(f"{API}/clients")
    caseload = client.get(f"{API}/caseload")
    exports = [
        client.get(f"{API}/exports/item-responses.csv"),
        client.get(f"{API}/exports/session-scores.csv"),
    ]
    instruments = client.get(f"{API}/instruments")
    packs = client.get(f"{API}/content-packs")
    upload = client.put(f"{API}/content-packs/phq9/xx", json={"title": "x"})
    users = client.get(f"{API}/users")
    teams = client.get(f"{API}/teams")
    audit = client.get(f"{API}/audit-events", params={"client_id": world.clients["ta1"]})
    new_team = client.post(f"{API}/teams", json={"name": f"team-{actor}"})
    new_client = client.post(
        f"{API}/clients", json={"code": f"new-{actor}", "therapist_id": world.users["ta1"]}
    )
    questionnaire = client.get(f"{FHIR}/Questionnaire/phq9")
    metadata = client.get(f"{FHIR}/metadata")
    fhir_import = client.post(
        f"{FHIR}/Bundle", json={"resourceType": "Bundle", "type": "collection"}
    )
    assert metadata.status_code == 200  # the CapabilityStatement holds no data
    if actor == "anonymous":
        assert questionnaire.status_code == 401 and fhir_import.status_code == 401
        for response in (
            listing,
            caseload,
            *exports,
            instruments,
            packs,
            upload,
            new_client,
            users,
            teams,
            audit,
            new_team,
        ):
            assert response.status_code == 401
        return
    visible = {c["code"] for c in listing.json()}
    expected = {
        "ta1": {"ta1-c1"},
        "ta2": {"ta2-c1"},
        "ta3": {"ta3-c1"},
        "tb1": {"tb1-c1"},
        "sa_north": {"ta1-c1", "ta2-c1"},
        "sa_south": {"ta3-c1"},
        "s_none": set(),
        "sb": {"tb1-c1"},
        "aa": {"ta1-c1", "ta2-c1", "ta3-c1"},
        "ab": {"tb1-c1"},
    }[actor]
    assert visible == expected
    assert {e["code"] for e in caseload.json()} == expected
    if actor == "s_none":  # nothing in scope: the exports are a header line only
        assert [len(r.text.strip().splitlines()) for r in exports] == [1, 1]
    for response in exports:
        assert response.status_code == (403 if ROLE[actor] == "therapist" else 200)
    assert instruments.status_code == 200 and packs.status_code == 200
    assert questionnaire.status_code == 200
    assert fhir_import.status_code == (200 if ROLE[actor] == "admin" else 403)
    # An admin's upload reaches validation (422 for this incomplete pack); others are refused.
    assert upload.status_code == (422 if ROLE[actor] == "admin" else 403)
    # Assigning a client to ta1: ta1 itself, ta1's supervisor and clinic A's admin may.
    assert new_client.status_code == (201 if actor in SEES_TA1 else 404)
    role = ROLE[actor]
    assert users.status_code == (403 if role == "therapist" else 200)
    if role != "therapist":
        # A supervisor sees their team's staff; without a team, nobody (not the admins).
        listed = {u["username"] for u in users.json()}
        staff = {
            "sa_north": {"ta1@test", "ta2@test", "sa_north@test"},
            "sa_south": {"ta3@test", "sa_south@test"},
            "s_none": set(),
            "sb": {"tb1@test", "sb@test"},
        }
        if role == "supervisor":
            assert listed == staff[actor]
        else:  # an admin lists their own clinic's staff, teamless ones included
            own, other = ("A", "B") if actor == "aa" else ("B", "A")
            assert {"s_none@test", "aa@test"} <= listed if own == "A" else "ab@test" in listed
            assert not any(u.startswith(f"t{other.lower()}") for u in listed)
    assert teams.status_code == (403 if role == "therapist" else 200)
    assert new_team.status_code == (201 if role == "admin" else 403)
    assert audit.status_code == (200 if role == "admin" else 403)
    if role == "admin":
        # Another clinic's client has no events in this clinic's trail.
        assert bool(audit.json()) == (actor == "aa")


@pytest.mark.parametrize("holder", ["anonymous", "ta2", "tb1"])
def test_a_token_reaches_one_form_once(world: World, holder: str) -> None:
    """Whoever holds the link (no login needed) reaches that one form, once."""
    client = _client_for(world, holder)
    token = world.open_tokens["ta1"]
    assert client.get(f"{API}/forms/{token}").status_code == 200
    answers = {"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}}
    assert client.post(f"{API}/forms/{token}", json=answers).status_code == 201
    assert client.post(f"{API}/forms/{token}", json=answers).status_code == 409
    # The token is not a login: staff endpoints stay closed to an anonymous holder.
    if holder == "anonymous":
        assert client.get(f"{API}/clients/{world.clients['ta1']}").status_code == 401
    # A token never opens another form: a near miss is simply unknown.
    assert client.get(f"{API}/forms/{token[:-1]}x").status_code == 404
