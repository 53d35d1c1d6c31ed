"""Fixtures of the delivery tests: a real SMTP server, a clinic with contact details, and
a clock the test moves."""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bordin.mail import OutboxSender
from bordin.settings import Settings
from bordin.storage import actions, make_engine, make_session_factory, transaction
from bordin.storage.contact_cipher import make_cipher, new_contact_key
from bordin.storage.migrate import upgrade_database
from bordin.storage.models import Episode, User, utcnow
from support.smtp import SmtpSink

CLINIC_NAME = "Riverside Counselling"


class Clock:
    """A clock that moves only when told; starts an hour ahead of real time, so rows
    stamped with the real time are never in its future."""

    def __init__(self) -> None:
        self.now = utcnow().replace(microsecond=0) + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Clinic:
    """A clinic with a team: two therapists, their supervisor, and clients."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: Clock
    smtp: SmtpSink
    users: dict[str, int] = field(default_factory=dict)
    clients: dict[str, int] = field(default_factory=dict)
    episodes: dict[str, int] = field(default_factory=dict)

    @property
    def cipher(self):  # type: ignore[no-untyped-def]
        return make_cipher(self.settings.contact_key)

    def user(self, db: Session, name: str) -> User:
        user = db.get(User, self.users[name])
        assert user is not None
        return user

    def sender(self, **overrides: object) -> OutboxSender:
        settings = self.settings.model_copy(update=overrides)
        return OutboxSender(settings, self.sessions, clock=self.clock)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


def make_settings(database_url: str, smtp_port: int, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": secrets.token_urlsafe(32),
        "base_url": "http://clinic.test",
        "contact_key": new_contact_key(),
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_tls": "none",
        "smtp_from": "forms@clinic.test",
        "smtp_timeout": 10.0,
        "outbox_backoff_seconds": 60.0,
        "outbox_max_attempts": 4,
        "reminder_after_hours": 48.0,
        "max_reminders": 2,
        "outbox_in_process": False,
        "norms_check_seconds": 0.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def build_clinic(database_url: str, smtp: SmtpSink, clock: Clock) -> Clinic:
    settings = make_settings(database_url, smtp.port)
    engine = make_engine(database_url)
    world = Clinic(settings, make_session_factory(engine), clock, smtp)
    cipher = make_cipher(settings.contact_key)
    digest = _password_hash()
    with transaction(world.sessions) as db:
        clinic = actions.create_clinic(db, actor=None, name=CLINIC_NAME)
        team = actions.create_team(db, actor=None, clinic_id=clinic.id, name="north")
        other = actions.create_team(db, actor=None, clinic_id=clinic.id, name="south")
        for name, role, team_id in (
            ("t1", "therapist", team.id),
            ("t2", "therapist", other.id),
            ("sup", "supervisor", team.id),
        ):
            world.users[name] = actions.create_user(
                db,
                actor=None,
                clinic_id=clinic.id,
                username=f"{name}@clinic.test",
                password=None,
                password_hash=digest,
                role=role,
                team_id=team_id,
                code=name,
            ).id
        t1, t2 = world.user(db, "t1"), world.user(db, "t2")
        for code, therapist, email in (
            ("C-01", t1, "ada@example.org"),
            ("C-02", t1, None),
            ("C-03", t2, "bea@example.org"),
        ):
            client = actions.create_client(db, actor=therapist, code=code)
            world.clients[code] = client.id
            if email:
                actions.set_client_contact(
                    db, actor=therapist, cipher=cipher, client_id=client.id, email=email
                )
    with transaction(world.sessions) as db:
        for code, client_id in world.clients.items():
            world.episodes[code] = int(
                db.scalar(select(Episode.id).where(Episode.client_id == client_id)) or 0
            )
    return world


@functools.cache
def _password_hash() -> str:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("unused pass")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clinic(tmp_path: Path, smtp: SmtpSink, clock: Clock) -> Iterator[Clinic]:
    url = f"sqlite:///{tmp_path / 'delivery.sqlite'}"
    upgrade_database(url)
    world = build_clinic(url, smtp, clock)
    try:
        yield world
    finally:
        world.sessions.kw["bind"].dispose()


POSTGRES_URL = os.environ.get("BORDIN_TEST_POSTGRES_URL")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="BORDIN_TEST_POSTGRES_URL is not set"),
        ],
    ),
]


@pytest.fixture
def any_clinic(
    request: pytest.FixtureRequest, tmp_path: Path, smtp: SmtpSink, clock: Clock
) -> Iterator[Clinic]:
    """The clinic on SQLite or on a fresh PostgreSQL database (parametrise with BACKENDS)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'delivery.sqlite'}"
        upgrade_database(url)
        world = build_clinic(url, smtp, clock)
        try:
            yield world
        finally:
            world.sessions.kw["bind"].dispose()
        return
    assert POSTGRES_URL is not None
    name = f"bordin_mail_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        world = build_clinic(url, smtp, clock)
        try:
            yield world
        finally:
            world.sessions.kw["bind"].dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
