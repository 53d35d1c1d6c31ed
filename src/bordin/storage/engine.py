"""Engines and sessions: SQLite (file, WAL, foreign keys on) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bordin.errors import InputError

SQLITE_QUEUE_TIMEOUT = 120.0  # seconds a request may wait for the SQLite connection
POSTGRES_POOL_SIZE = 10  # connections per process


def pool_capacity(engine: Engine) -> int:
    """How many connections the engine's pool hands out at once."""
    return 1 if engine.dialect.name == "sqlite" else POSTGRES_POOL_SIZE


__all__ = [
    "make_engine",
    "make_session_factory",
    "normalise_url",
    "pool_capacity",
    "transaction",
]


def normalise_url(url: str) -> str:
    """Accept the usual spellings of a database URL and return SQLAlchemy's.

    ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://`` (psycopg 3); a bare
    file path becomes ``sqlite:///path``.
    """
    if "://" not in url:
        return f"sqlite:///{url}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Build an engine for ``url``.

    SQLite connections turn on foreign keys and WAL on every connect (so readers in other
    processes never block the writer) and wait up to 30 s for a lock. Transactions on SQLite
    begin with ``BEGIN IMMEDIATE`` so that two writers serialise instead of failing on lock
    upgrade, and the engine holds a single connection: SQLite is the one-clinic,
    one-machine setup; PostgreSQL is the path for concurrency (DESIGN.md).

    Raises
    ------
    InputError
        The URL names an unsupported backend.
    """
    sa_url = make_url(normalise_url(url))
    backend = sa_url.get_backend_name()
    if backend == "sqlite":
        if sa_url.database in (None, "", ":memory:"):
            raise InputError("an in-memory SQLite database cannot be shared; use a file")
        # One connection per engine: SQLite has one writer at a time, so requests queue
        # for the connection in-process (first come, first served) instead of spinning on
        # the file lock; other processes (the CLI) still wait up to 30 s for the lock.
        engine = create_engine(
            sa_url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=SQLITE_QUEUE_TIMEOUT,
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling is turned off; we emit BEGIN ourselves.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if backend == "postgresql":
        return create_engine(
            sa_url,
            echo=echo,
            pool_pre_ping=True,
            pool_size=POSTGRES_POOL_SIZE,
            max_overflow=0,
            pool_timeout=60,
        )
    raise InputError(f"unsupported database backend {backend!r}; use sqlite or postgresql")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit, and whose audit events
    join the tamper-evident chain at commit (:mod:`bordin.storage.audit_chain`)."""
    from bordin.storage.audit_chain import install_audit_chain

    factory = sessionmaker(engine, expire_on_commit=False)
    install_audit_chain(factory)
    return factory


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    with factory() as session, session.begin():
        yield session
