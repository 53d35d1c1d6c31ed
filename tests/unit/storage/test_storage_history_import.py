"""Importing a clinic's history: preview, idempotence, named bad rows, nothing half-stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bordin.errors import InputError
from bordin.interop import read_csv_bytes
from bordin.simulate import SimulationConfig, simulate_clinic
from bordin.storage import actions, make_engine, make_session_factory, transaction
from bordin.storage.migrate import upgrade_database
from bordin.storage.models import (
    AuditEvent,
    Client,
    ItemResponse,
    NormsSnapshot,
    Score,
    TherapySession,
    User,
)

CLINIC = simulate_clinic(SimulationConfig(n_clients=12), seed=5)


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[object, int, int]]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade_database(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with transaction(factory) as db:
        clinic = actions.create_clinic(db, actor=None, name="Imports")
        admin = actions.create_user(
            db,
            actor=None,
            clinic_id=clinic.id,
            username="admin@imports",
            password="correct horse battery",
            role="admin",
            code="admin",
        )
        ids = (clinic.id, admin.id)
    yield factory, *ids
    engine.dispose()


def _import(factory, clinic_id, admin_id, data: bytes, *, kind="responses", preview=False):  # type: ignore[no-untyped-def]
    with transaction(factory) as db:
        admin = db.get(User, admin_id)
        return actions.import_history(
            db,
            actor=admin,
            clinic_id=clinic_id,
            frame=read_csv_bytes(data, name="history.csv"),
            kind=kind,
            source="history.csv",
            preview=preview,
        )


def _count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_preview_stores_nothing_then_import_then_again_adds_nothing(world) -> None:  # type: ignore[no-untyped-def]
    factory, clinic_id, admin_id = world
    data = _csv(CLINIC.responses)
    n_sessions = len(CLINIC.responses[["client_id", "session"]].drop_duplicates())
    preview = _import(factory, clinic_id, admin_id, data, preview=True)
    assert not preview.committed
    assert preview.clients == 12 and preview.sessions == n_sessions
    assert preview.therapists == CLINIC.responses["therapist_id"].nunique()
    with factory() as db:
        assert _count(db, Client) == 0 and _count(db, TherapySession) == 0
    done = _import(factory, clinic_id, admin_id, data)
    assert done.committed
    assert (done.clients, done.sessions, done.administrations) == (
        preview.clients,
        preview.sessions,
        preview.administrations,
    )
    with factory() as db:
        assert _count(db, Client) == 12
        assert _count(db, TherapySession) == n_sessions
        assert _count(db, ItemResponse) == int(CLINIC.responses["value"].notna().sum())
        snapshots = db.scalars(select(NormsSnapshot.reason)).all()
        assert snapshots.count("import") == 1  # feedback recomputed once, at the end
        imported = db.scalars(select(User).where(User.role == "therapist")).all()
        assert imported and not any(u.active for u in imported)
        scores_before = _count(db, Score)
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "clinic.import"))
    again = _import(factory, clinic_id, admin_id, data)
    assert (again.clients, again.therapists, again.sessions, again.administrations) == (0, 0, 0, 0)
    assert again.skipped == done.administrations
    with factory() as db:
        assert _count(db, ItemResponse) == int(CLINIC.responses["value"].notna().sum())
        assert _count(db, Score) == scores_before


def test_a_later_file_adds_only_new_sessions(world) -> None:  # type: ignore[no-untyped-def]
    factory, clinic_id, admin_id = world
    responses = CLINIC.responses
    early = responses[responses["session"] <= 3]
    _import(factory, clinic_id, admin_id, _csv(early))
    result = _import(factory, clinic_id, admin_id, _csv(responses))
    later = responses[responses["session"] > 3][["client_id", "session"]].drop_duplicates()
    assert result.clients == 0 and result.sessions == len(later)
    with factory() as db:
        assert _count(db, ItemResponse) == int(responses["value"].notna().sum())


def test_a_bad_row_is_named_and_nothing_is_stored(world) -> None:  # type: ignore[no-untyped-def]
    factory, clinic_id, admin_id = world
    bad = CLINIC.responses.copy()
    bad["value"] = bad["value"].astype(object)
    bad.iloc[40, bad.columns.get_loc("value")] = 99
    with pytest.raises(InputError) as caught:
        _import(factory, clinic_id, admin_id, _csv(bad))
    assert caught.value.file == "history.csv" and caught.value.row == 42
    assert caught.value.column == "value"
    with factory() as db:
        assert _count(db, Client) == 0 and _count(db, ItemResponse) == 0
        assert _count(db, User) == 1


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("client_id", "Ann Smith", "a code is"),
        ("session", "0", "whole number from 1"),
        ("date", "31/01/2024", "YYYY-MM-DD"),
    ],
)
def test_bad_ids_name_the_row_and_column(world, column: str, value: str, message: str) -> None:  # type: ignore[no-untyped-def]
    factory, clinic_id, admin_id = world
    bad = CLINIC.responses.astype({column: object})
    bad.iloc[7, bad.columns.get_loc(column)] = value
    with pytest.raises(InputError, match=message) as caught:
        _import(factory, clinic_id, admin_id, _csv(bad))
    assert (caught.value.row, caught.value.column) == (9, column)


def test_the_wide_scores_file_imports_idempotently(world) -> None:  # type: ignore[no-untyped-def]
    factory, clinic_id, admin_id = world
    wide = CLINIC.scores.drop(columns=["adherence"])
    first = _import(factory, clinic_id, admin_id, _csv(wide), kind="scores")
    assert first.clients == 12 and first.sessions == len(wide)
    with factory() as db:
        stored = _count(db, Score)
        assert stored > 0 and _count(db, ItemResponse) == 0
    again = _import(factory, clinic_id, admin_id, _csv(wide), kind="scores")
    assert again.administrations == 0 and again.skipped == first.administrations
    with factory() as db:
        assert _count(db, Score) == stored


def test_an_unknown_score_column_is_named(world) -> None:  # type: ignore[no-untyped-def]
    factory, clinic_id, admin_id = world
    with pytest.raises(InputError) as caught:
        _import(factory, clinic_id, admin_id, _csv(CLINIC.scores), kind="scores")
    assert caught.value.column == "adherence"


def test_a_code_of_another_role_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    factory, clinic_id, admin_id = world
    data = CLINIC.responses.assign(therapist_id="admin")
    with pytest.raises(InputError, match="belongs to the admin account") as caught:
        _import(factory, clinic_id, admin_id, _csv(data))
    assert caught.value.row == 2


def test_the_service_closes_episodes_with_the_endings_an_endings_file_records() -> None:
    """One vocabulary of endings: the reasons an episode is closed with are the values the
    endings reader accepts (bordin report and bordin import --endings), not a copy."""
    from bordin.interop import ENDINGS
    from bordin.storage.actions import CLOSE_REASONS

    assert CLOSE_REASONS is ENDINGS
