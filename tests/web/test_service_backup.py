"""Backups, restores and upgrades keep every row (issue 21, item 7).

The restore drill backs a clinic up while its app is open, restores it into an empty
database and checks every table's count, every row and every audit hash. The upgrade test
takes a database at the previous release's schema (0004) and upgrades it with no loss.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, inspect, select

from bordin.storage import make_engine, make_session_factory
from bordin.storage.audit_chain import verify_audit_chain
from support.cli import run_cli
from web.service_world import PHQ9_MILD, SAC_OK, World

PREVIOUS_RELEASE = "0004"


def _snapshot(url: str, *, columns: dict[str, set[str]] | None = None) -> dict[str, list[Any]]:
    """Every row of every table (restricted to ``columns`` when given), in key order."""
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        out: dict[str, list[Any]] = {}
        with engine.connect() as conn:
            for name, table in sorted(meta.tables.items()):
                if columns is not None and name not in columns:
                    continue
                cols = [c for c in table.columns if columns is None or c.name in columns[name]]
                order = list(table.primary_key.columns) or cols
                out[name] = [tuple(r) for r in conn.execute(select(*cols).order_by(*order))]
        return out
    finally:
        engine.dispose()


def test_restore_drill(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = {"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}}
    sent = world.anonymous().post(f"/api/v1/forms/{world.open_tokens['ta1']}", json=answers)
    assert sent.status_code == 201
    world.login("aa").get("/api/v1/audit-events")  # the app stays open during the backup
    backup = tmp_path / "clinic.bordin-backup"
    code, out, err = run_cli(["db", "backup", str(backup), "--db", world.database_url], capsys)
    assert code == 0, err
    assert "revision" in out and backup.is_file()
    restored = f"sqlite:///{tmp_path / 'restored.sqlite'}"
    code, out, err = run_cli(["db", "restore", str(backup), "--db", restored], capsys)
    assert code == 0, err + out
    assert "audit chain intact" in out
    original, copy = _snapshot(world.database_url), _snapshot(restored)
    assert {t: len(r) for t, r in copy.items()} == {t: len(r) for t, r in original.items()}
    assert copy == original  # every row, audit hashes included
    assert len(copy["audit_events"]) > 20 and all(r[-1] for r in copy["audit_events"])
    # The restored database serves: the same logins work against it.
    again = world.rebind(restored)
    try:
        assert again.login("aa").get("/api/v1/clients").status_code == 200
    finally:
        again.close()


def test_backup_and_restore_refuse_what_they_should(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tmp_path / "b.sqlite"
    assert run_cli(["db", "backup", str(backup), "--db", world.database_url], capsys)[0] == 0
    code, _, err = run_cli(["db", "backup", str(backup), "--db", world.database_url], capsys)
    assert code != 0 and "exists already" in err
    code, _, err = run_cli(["db", "restore", str(backup), "--db", world.database_url], capsys)
    assert code != 0 and "--replace" in err  # a live database is not overwritten silently
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(backup.read_bytes()[:4096])
    code, _, err = run_cli(
        ["db", "restore", str(damaged), "--db", f"sqlite:///{tmp_path / 'x.sqlite'}"], capsys
    )
    assert code != 0 and not (tmp_path / "x.sqlite").exists()
    code, _, err = run_cli(
        ["db", "backup", str(tmp_path / "pg"), "--db", "postgresql://u@h/db"], capsys
    )
    assert code != 0 and "pg_dump" in err


def test_upgrade_from_the_previous_release_keeps_every_row(world: World) -> None:
    from alembic import command

    from bordin.storage import current_revision, upgrade_database
    from bordin.storage.migrate import alembic_config

    world.close()  # the app's engine lets go of the file
    command.downgrade(alembic_config(world.database_url), PREVIOUS_RELEASE)
    engine = create_engine(world.database_url)
    try:
        tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
        old_columns = {t: {c["name"] for c in inspect(engine).get_columns(t)} for t in tables}
    finally:
        engine.dispose()
    assert "audit_chain_head" not in old_columns and "hash" not in old_columns["audit_events"]
    before = _snapshot(world.database_url, columns=old_columns)
    assert sum(len(r) for r in before.values()) > 100
    upgrade_database(world.database_url)
    after = _snapshot(world.database_url, columns=old_columns)
    assert after == before
    engine = make_engine(world.database_url)
    try:
        assert current_revision(engine) != PREVIOUS_RELEASE
        with make_session_factory(engine)() as db:
            report = verify_audit_chain(db)
        assert report.ok and report.chained == len(before["audit_events"])
    finally:
        engine.dispose()
