"""Migrations, models and engines: the schema the migrations build is the models' schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from bordin.errors import InputError
from bordin.storage import (
    current_revision,
    head_revision,
    make_engine,
    normalise_url,
    upgrade_database,
)
from bordin.storage.migrate import alembic_config
from bordin.storage.models import Base


def test_migrations_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    upgrade_database(url)
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        tables = set(inspect(engine).get_table_names())
        assert {
            "clinics",
            "teams",
            "users",
            "clients",
            "episodes",
            "sessions",
            "form_requests",
            "item_responses",
            "scores",
            "signals",
            "alerts",
            "content_packs",
            "audit_events",
        } <= tables
    finally:
        engine.dispose()


def test_upgrade_is_idempotent_and_downgrade_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.sqlite'}"
    upgrade_database(url)
    upgrade_database(url)
    command.downgrade(alembic_config(url), "base")
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_sqlite_engine_turns_on_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    url = f"sqlite:///{tmp_path / 'f.sqlite'}"
    upgrade_database(url)
    engine = make_engine(url)
    try:
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text("INSERT INTO teams (clinic_id, name) VALUES (999, 'x')"))
    finally:
        engine.dispose()


def test_urls() -> None:
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("clinic.sqlite") == "sqlite:///clinic.sqlite"
    with pytest.raises(InputError, match="unsupported database backend"):
        make_engine("mysql://u@h/db")
    with pytest.raises(InputError, match="in-memory"):
        make_engine("sqlite://")
