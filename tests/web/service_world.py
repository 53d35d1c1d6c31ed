"""A small two-clinic world for the web-service tests, built through the storage actions."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bordin.settings import Settings
from bordin.storage import actions, make_engine, make_session_factory, transaction
from bordin.storage.credentials import hash_password
from bordin.storage.models import Alert, User
from bordin.web import create_app
from bordin.web.security import CSRF_HEADER

POSTGRES_URL = os.environ.get("BORDIN_TEST_POSTGRES_URL")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not POSTGRES_URL,
                reason="BORDIN_TEST_POSTGRES_URL is not set (.ci/run sets it to the local server)",
            ),
        ],
    ),
]

PASSWORD = "correct horse battery staple"

# A session with a risk answer (PHQ-9 item 9) and a weak alliance: it raises alerts.
PHQ9_RISK = {str(i): 2 for i in range(1, 9)} | {"9": 2}
SAC_WEAK = {"1": 2, "2": 2, "3": 2, "4": 2, "5": 2, "6": 2, "7": 3, "8": 1, "9": 3, "10": 3}
SAC_OK = {"1": 4, "2": 5, "3": 4, "4": 4, "5": 5, "6": 4, "7": 0, "9": 0, "10": 0}
PHQ9_MILD = {str(i): 1 for i in range(1, 9)} | {"9": 0}


@dataclass
class World:
    """Ids of everything built, by short name, and a way to get logged-in HTTP clients."""

    database_url: str
    settings: Settings
    users: dict[str, int] = field(default_factory=dict)
    clinics: dict[str, int] = field(default_factory=dict)
    clients: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    episodes: dict[str, int] = field(default_factory=dict)
    open_tokens: dict[str, str] = field(default_factory=dict)
    used_tokens: dict[str, str] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    _clients: list[TestClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = create_app(self.settings)
        self.sessions_factory = self.app.state.bordin.sessions

    def anonymous(self) -> TestClient:
        """An HTTP client with no cookies (a client's phone, or an attacker)."""
        client = TestClient(self.app, raise_server_exceptions=True)
        client.__enter__()
        self._clients.append(client)
        return client

    def login(self, user: str) -> TestClient:
        """An HTTP client logged in as ``user``, sending the CSRF header on every request."""
        client = self.anonymous()
        response = client.post(
            "/api/v1/auth/login", json={"username": f"{user}@test", "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        client.headers[CSRF_HEADER] = response.json()["csrf_token"]
        return client

    def rebind(self, database_url: str) -> World:
        """The same world on a copy of its database at ``database_url`` (a new app)."""
        settings = self.settings.model_copy(update={"database_url": database_url})
        return World(
            database_url=database_url,
            settings=settings,
            users=dict(self.users),
            clinics=dict(self.clinics),
            clients=dict(self.clients),
            sessions=dict(self.sessions),
            episodes=dict(self.episodes),
            open_tokens=dict(self.open_tokens),
            used_tokens=dict(self.used_tokens),
            alerts=dict(self.alerts),
        )

    def close(self) -> None:
        for client in self._clients:
            client.__exit__(None, None, None)
        self.app.state.bordin.engine.dispose()


# Staff: name -> (clinic, team, role)
STAFF = {
    "ta1": ("A", "north", "therapist"),
    "ta2": ("A", "north", "therapist"),
    "ta3": ("A", "south", "therapist"),
    "sa_north": ("A", "north", "supervisor"),
    "sa_south": ("A", "south", "supervisor"),
    "s_none": ("A", None, "supervisor"),  # a supervisor without a team: scope is nothing
    "aa": ("A", None, "admin"),
    "tb1": ("B", "east", "therapist"),
    "sb": ("B", "east", "supervisor"),
    "ab": ("B", None, "admin"),
}
THERAPISTS = [n for n, (_, _, role) in STAFF.items() if role == "therapist"]


def build_world(database_url: str, *, with_submissions: bool = True) -> World:
    """Build the world in a migrated database at ``database_url``."""
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        base_url="http://testserver",
        login_rate_limit=1000,
        token_rate_limit=1000,
    )
    world = World(database_url=database_url, settings=settings)
    factory = world.sessions_factory
    digest = hash_password(PASSWORD)  # hashed once: every test user shares the password
    with transaction(factory) as db:
        teams: dict[tuple[str, str], int] = {}
        for clinic in ("A", "B"):
            world.clinics[clinic] = actions.create_clinic(
                db, actor=None, name=f"Clinic {clinic}"
            ).id
        for name, (clinic, team, role) in STAFF.items():
            team_id = None
            if team is not None:
                if (clinic, team) not in teams:
                    teams[(clinic, team)] = actions.create_team(
                        db, actor=None, clinic_id=world.clinics[clinic], name=team
                    ).id
                team_id = teams[(clinic, team)]
            user = actions.create_user(
                db,
                actor=None,
                clinic_id=world.clinics[clinic],
                username=f"{name}@test",
                password=None,
                password_hash=digest,
                role=role,
                team_id=team_id,
            )
            world.users[name] = user.id
        for name in THERAPISTS:
            therapist = db.get(User, world.users[name])
            assert therapist is not None
            client = actions.create_client(
                db, actor=therapist, code=f"{name}-c1", opened_on=date(2026, 1, 5)
            )
            world.clients[name] = client.id
            first = actions.create_session(
                db, actor=therapist, client_id=client.id, session_date=date(2026, 1, 5)
            )
            second = actions.create_session(
                db, actor=therapist, client_id=client.id, session_date=date(2026, 1, 12)
            )
            world.sessions[name] = first.id
            world.sessions[f"{name}-2"] = second.id
            _, used = actions.create_form_request(
                db, actor=therapist, session_id=first.id, instruments=["phq9", "sac"]
            )
            world.used_tokens[name] = used
            _, token = actions.create_form_request(
                db,
                actor=therapist,
                session_id=second.id,
                instruments=["phq9", "sac"],
                lifetime=timedelta(days=7),
            )
            world.open_tokens[name] = token
    if with_submissions:
        for name in THERAPISTS:
            with transaction(factory) as db:
                actions.record_submission(
                    db, token=world.used_tokens[name], answers={"phq9": PHQ9_RISK, "sac": SAC_WEAK}
                )
        with transaction(factory) as db:
            for name in THERAPISTS:
                alert = db.scalar(
                    select(Alert)
                    .where(Alert.client_id == world.clients[name])
                    .order_by(Alert.priority.desc())
                )
                assert alert is not None, f"no alert raised for {name}"
                world.alerts[name] = alert.id
    return world


def engine_for(world: World):  # type: ignore[no-untyped-def]
    """A separate engine on the world's database, for checks outside the app."""
    engine = make_engine(world.database_url)
    return engine, make_session_factory(engine)
