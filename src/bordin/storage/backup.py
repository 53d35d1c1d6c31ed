"""Backups and restores of a SQLite database, with SQLite's online backup API.

The online backup copies a consistent snapshot page by page while the server keeps
running (readers and the writer are not stopped; a write during the copy restarts the
pages it touched). The copy is written next to the target under a temporary name, checked
(``PRAGMA integrity_check``, a Bordin schema) and renamed into place, so a backup file is
either complete or absent.

PostgreSQL is backed up with its own tools (``pg_dump -Fc`` and ``pg_restore``; see
docs/web-service.md): these functions refuse a PostgreSQL URL with that advice.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bordin.errors import InputError
from bordin.storage.engine import normalise_url

__all__ = ["BackupResult", "backup_sqlite", "restore_sqlite", "sqlite_path"]

_PAGES_PER_STEP = 1024


@dataclass(frozen=True)
class BackupResult:
    """One backup or restore.

    Attributes
    ----------
    source, target
        The files copied from and to.
    revision
        The schema revision (Alembic) of the copied database.
    tables
        Rows per table in the copy, by table name.
    """

    source: str
    target: str
    revision: str | None
    tables: dict[str, int]

    def summary(self) -> str:
        """One line for the terminal."""
        rows = sum(self.tables.values())
        return (
            f"{self.source} -> {self.target}: revision {self.revision or 'none'}, "
            f"{len(self.tables)} tables, {rows} rows"
        )


def sqlite_path(url: str) -> Path:
    """The file behind a SQLite URL.

    Raises
    ------
    InputError
        The URL is not a SQLite file (PostgreSQL: use ``pg_dump``).
    """
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "postgresql":
        raise InputError(
            "back up PostgreSQL with pg_dump -Fc and restore with pg_restore "
            "(docs/web-service.md, Backups)"
        )
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        raise InputError(f"not a SQLite database file: {url}")
    return Path(str(parsed.database))


def _check_copy(connection: sqlite3.Connection, where: str) -> tuple[str | None, dict[str, int]]:
    """The copy's revision and row counts; InputError unless it is an intact Bordin DB."""
    try:
        return _inspect_copy(connection, where)
    except sqlite3.DatabaseError as exc:
        raise InputError(f"not a readable SQLite database ({exc})", file=where) from None


def _inspect_copy(connection: sqlite3.Connection, where: str) -> tuple[str | None, dict[str, int]]:
    verdict = connection.execute("PRAGMA integrity_check").fetchone()
    if verdict is None or verdict[0] != "ok":
        raise InputError(f"the database fails SQLite's integrity check: {verdict}", file=where)
    names = [
        str(r[0])
        for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    if "alembic_version" not in names or "audit_events" not in names:
        raise InputError("not a Bordin database (no schema revision)", file=where)
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    tables = {
        n: int(connection.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names
    }
    return (str(row[0]) if row else None), tables


@contextmanager
def _staged(target: Path) -> Iterator[Path]:
    """A temporary file beside ``target``, renamed over it when the block succeeds."""
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("the folder does not exist", file=str(target))
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    staged = Path(name)
    try:
        yield staged
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)


def _copy(source: Path, target: Path) -> None:
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst, pages=_PAGES_PER_STEP)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file


def backup_sqlite(url: str, target: str | os.PathLike[str]) -> BackupResult:
    """Copy the live SQLite database at ``url`` into the new file ``target``.

    Raises
    ------
    InputError
        PostgreSQL or not a SQLite file; the database does not exist; ``target`` exists;
        the copy fails its integrity check.
    """
    source = sqlite_path(url)
    out = Path(target)
    if not source.is_file():
        raise InputError("no database at this path", file=str(source))
    if out.exists():
        raise InputError("the backup file exists already; choose a new name", file=str(out))
    with _staged(out) as staged:
        _copy(source, staged)
        with closing(sqlite3.connect(staged)) as check:
            revision, tables = _check_copy(check, str(out))
    return BackupResult(str(source), str(out), revision, tables)


def restore_sqlite(
    backup: str | os.PathLike[str], url: str, *, replace: bool = False
) -> BackupResult:
    """Restore the backup file ``backup`` into the SQLite database at ``url``.

    The backup is checked first; the database file is replaced in one rename. An existing
    database is only replaced with ``replace=True`` (stop the server first: open
    connections would keep the old file).

    Raises
    ------
    InputError
        The backup is missing, damaged or not a Bordin database; the target exists and
        ``replace`` is false; PostgreSQL (use ``pg_restore``).
    """
    source = Path(backup)
    target = sqlite_path(url)
    if not source.is_file():
        raise InputError("no backup at this path", file=str(source))
    if target.exists() and target.stat().st_size > 0 and not replace:
        raise InputError(
            "a database exists at the target; restore into a new file, or pass --replace "
            "after stopping the server",
            file=str(target),
        )
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as check:
        _check_copy(check, str(source))
    with _staged(target) as staged:
        _copy(source, staged)
        with closing(sqlite3.connect(staged)) as check:
            revision, tables = _check_copy(check, str(target))
        for suffix in ("-wal", "-shm"):  # the old file's journal must not replay onto the new
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    return BackupResult(str(source), str(target), revision, tables)
