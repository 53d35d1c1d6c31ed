"""Migration 0009: admins and supervisors with the old therapist-style default code t<id>
get a<id> or s<id>, only where the code never stood for a therapist and the new one is free."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url

from bordin.storage import actions, make_engine, make_session_factory, transaction
from bordin.storage.audit_chain import verify_audit_chain
from bordin.storage.migrate import alembic_config
from bordin.storage.models import AuditEvent, User

POSTGRES_URL = os.environ.get("BORDIN_TEST_POSTGRES_URL")


@pytest.fixture(
    params=[
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
)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on SQLite, or a fresh one on PostgreSQL (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite'}"
        return
    assert POSTGRES_URL is not None
    name = f"bordin_codes_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_old_staff_codes_are_renamed_where_safe(empty_url: str) -> None:
    url = empty_url
    command.upgrade(alembic_config(url), "0008_import_endings")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as db:
            clinic = actions.create_clinic(db, actor=None, name="Old")

            def make(name: str, role: str) -> User:
                return actions.create_user(
                    db,
                    actor=None,
                    clinic_id=clinic.id,
                    username=f"{name}@old",
                    password="correct horse battery",
                    role=role,
                )

            admin = make("admin", "admin")
            supervisor = make("supervisor", "supervisor")
            promoted = make("promoted", "therapist")  # a therapist once: t-code in exports
            chosen = make("chosen", "admin")  # a code someone chose, not the default
            blocked = make("blocked", "supervisor")  # its new code is taken
            therapist = make("therapist", "therapist")
            ids = {
                u.username.split("@")[0]: u.id
                for u in (admin, supervisor, promoted, chosen, blocked, therapist)
            }
            actions.update_user(
                db, actor=admin, user_id=promoted.id, role="supervisor", team_id=None
            )
        # the codes the old create-admin gave: t<id> for everyone
        with transaction(factory) as db:
            for name, uid in ids.items():
                code = "t7" if name == "chosen" else f"t{uid:03d}"
                db.execute(update(User).where(User.id == uid).values(code=code))
            db.execute(
                update(User)
                .where(User.id == ids["therapist"])
                .values(code=f"s{ids['blocked']:03d}")
            )
        engine.dispose()

        command.upgrade(alembic_config(url), "head")

        with transaction(factory) as db:
            codes = {n: c for n, c in db.execute(select(User.username, User.code))}
            renames = db.execute(
                select(AuditEvent.object_id, AuditEvent.actor_kind, AuditEvent.detail).where(
                    AuditEvent.action == "user.code"
                )
            ).all()
            report = verify_audit_chain(db)
        assert codes == {
            "admin@old": f"a{ids['admin']:03d}",
            "supervisor@old": f"s{ids['supervisor']:03d}",
            "promoted@old": f"t{ids['promoted']:03d}",
            "chosen@old": "t7",
            "blocked@old": f"t{ids['blocked']:03d}",
            "therapist@old": f"s{ids['blocked']:03d}",
        }
        assert sorted((r.object_id, r.actor_kind) for r in renames) == [
            (ids["admin"], "system"),
            (ids["supervisor"], "system"),
        ]
        assert {r.detail["before"] for r in renames} == {
            f"t{ids['admin']:03d}",
            f"t{ids['supervisor']:03d}",
        }
        assert report.ok, report.summary()
        # downgrading keeps the new codes; upgrading again changes nothing
        command.downgrade(alembic_config(url), "0008_import_endings")
        command.upgrade(alembic_config(url), "head")
        with transaction(factory) as db:
            assert {n: c for n, c in db.execute(select(User.username, User.code))} == codes
            assert (
                len(db.scalars(select(AuditEvent.id).where(AuditEvent.action == "user.code")).all())
                == 2
            )
    finally:
        engine.dispose()
