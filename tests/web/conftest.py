"""Fixtures of the web-service tests: a fresh database per test, on SQLite and PostgreSQL.

The two-clinic world (``web_service_world``) is built once per run through the storage
actions into a template database; each test gets its own copy (a copied SQLite file, or a
PostgreSQL database created from the template), so tests never share a database.

PostgreSQL tests use the server named by ``BORDIN_TEST_POSTGRES_URL`` (``.ci/run`` sets it)
and are skipped with a visible reason without it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.service_world import POSTGRES_URL, World, build_world

# Tests not parametrised over BACKENDS run on SQLite; BORDIN_TEST_BACKEND=postgres runs
# them all on PostgreSQL instead.
DEFAULT_BACKEND = os.environ.get("BORDIN_TEST_BACKEND", "sqlite")


def _pg_admin():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    assert POSTGRES_URL is not None
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    assert POSTGRES_URL is not None
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def _pg_create(name: str, template: str | None = None) -> str:
    from sqlalchemy import text

    admin = _pg_admin()
    with admin.connect() as conn:
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    admin.dispose()
    return _pg_url(name)


def _pg_drop(name: str) -> None:
    from sqlalchemy import text

    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """argon2id with test-sized parameters, so that the many logins stay fast.

    Production parameters are checked in ``tests/unit/storage/test_storage_credentials.py``;
    the algorithm (argon2id) and every code path stay the same.
    """
    from argon2 import PasswordHasher

    import bordin.storage.credentials as credentials

    production = credentials._HASHER
    credentials._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        yield
    finally:
        credentials._HASHER = production


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, World]:
    """The world built once in a SQLite file."""
    from bordin.storage import upgrade_database

    path = tmp_path_factory.mktemp("template") / "world.sqlite"
    upgrade_database(f"sqlite:///{path}")
    world = build_world(f"sqlite:///{path}")
    world.close()
    return path, world


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, World]]:
    """The world built once in a PostgreSQL template database."""
    from bordin.storage import upgrade_database

    name = f"bordin_tmpl_{secrets.token_hex(4)}"
    url = _pg_create(name)
    try:
        upgrade_database(url)
        world = build_world(url)
        world.close()
        yield name, world
    finally:
        _pg_drop(name)


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database (SQLite by default; parametrise with BACKENDS)."""
    from bordin.storage import upgrade_database

    backend = getattr(request, "param", DEFAULT_BACKEND)
    if backend == "postgres":
        name = f"bordin_test_{secrets.token_hex(6)}"
        url = _pg_create(name)
        try:
            upgrade_database(url)
            yield url
        finally:
            _pg_drop(name)
        return
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    upgrade_database(url)
    yield url


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A private copy of the two-clinic world (SQLite by default; parametrise with BACKENDS)."""
    backend = getattr(request, "param", DEFAULT_BACKEND)
    if backend == "postgres":
        template_name, template = request.getfixturevalue("postgres_template")
        name = f"bordin_test_{secrets.token_hex(6)}"
        copy = template.rebind(_pg_create(name, template=template_name))
        try:
            yield copy
        finally:
            copy.close()
            _pg_drop(name)
        return
    path, template = request.getfixturevalue("sqlite_template")
    target = tmp_path / "world.sqlite"
    shutil.copyfile(path, target)
    copy = template.rebind(f"sqlite:///{target}")
    try:
        yield copy
    finally:
        copy.close()
