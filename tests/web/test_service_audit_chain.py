"""The audit trail is a hash chain, and ``bordin db verify-audit`` finds any edit
(issue 21, item 6)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select, update

from bordin.storage import make_engine, make_session_factory, transaction
from bordin.storage.audit import record_event
from bordin.storage.audit_chain import verify_audit_chain
from bordin.storage.models import AuditChainHead, AuditEvent, User
from support.cli import run_cli
from web.service_world import BACKENDS, PHQ9_MILD, SAC_OK, World

API = "/api/v1"


def _report(world: World, expect_head: str | None = None):  # type: ignore[no-untyped-def]
    with world.sessions_factory() as db:
        return verify_audit_chain(db, expect_head=expect_head)


def _middle_event(world: World) -> int:
    with world.sessions_factory() as db:
        ids = db.scalars(select(AuditEvent.id).order_by(AuditEvent.chain_seq)).all()
    return int(ids[len(ids) // 2])


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_every_event_is_chained_and_the_chain_is_intact(world: World) -> None:
    therapist = world.login("ta1")
    assert therapist.get(f"{API}/clients/{world.clients['ta1']}/scores").status_code == 200
    answers = {"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}}
    sent = world.anonymous().post(f"{API}/forms/{world.open_tokens['ta1']}", json=answers)
    assert sent.status_code == 201, sent.text
    report = _report(world)
    assert report.ok, report.problems
    with world.sessions_factory() as db:
        total = db.scalar(select(func.count()).select_from(AuditEvent))
        last = db.scalar(select(func.max(AuditEvent.chain_seq)))
    assert report.events == report.chained == total == last == report.head_seq > 20


def test_a_rolled_back_transaction_leaves_no_gap(world: World) -> None:
    with pytest.raises(RuntimeError), transaction(world.sessions_factory) as db:
        record_event(db, actor=None, action="test.rolled_back", object_type="test")
        raise RuntimeError("abandon the transaction")
    with transaction(world.sessions_factory) as db:
        with db.begin_nested() as nested:
            record_event(db, actor=None, action="test.savepoint_undone", object_type="test")
            nested.rollback()
        record_event(db, actor=None, action="test.kept", object_type="test")
    report = _report(world)
    assert report.ok, report.problems
    with world.sessions_factory() as db:
        actions = set(db.scalars(select(AuditEvent.action)).all())
    assert "test.kept" in actions and not actions & {"test.rolled_back", "test.savepoint_undone"}


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("change", "was changed"),
        ("delete", "is missing"),
        ("truncate", "removed from the end"),
        ("insert", "is not in the chain"),
    ],
)
def test_any_edit_breaks_the_chain(
    world: World, tamper: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["db", "verify-audit", "--db", world.database_url], capsys)
    assert code == 0 and "intact" in out
    head = out.strip().rsplit(" ", 1)[-1]
    engine = make_engine(world.database_url)
    try:
        with transaction(make_session_factory(engine)) as db:
            target = _middle_event(world)
            if tamper == "change":
                db.execute(
                    update(AuditEvent).where(AuditEvent.id == target).values(detail={"x": 1})
                )
            elif tamper == "delete":
                db.execute(delete(AuditEvent).where(AuditEvent.id == target))
            elif tamper == "truncate":
                last = db.scalar(select(func.max(AuditEvent.id)))
                db.execute(delete(AuditEvent).where(AuditEvent.id == last))
            else:
                db.execute(
                    AuditEvent.__table__.insert().values(
                        actor_kind="system", action="forged", object_type="x", detail={}
                    )
                )
    finally:
        engine.dispose()
    code, out, _ = run_cli(["db", "verify-audit", "--db", world.database_url], capsys)
    assert code == 1 and "BROKEN" in out and message in out, out
    # A head recorded before the edit is still checked against the chain.
    code, out, _ = run_cli(
        ["db", "verify-audit", "--db", world.database_url, "--expect-head", head], capsys
    )
    assert code == 1


def test_a_recomputed_chain_does_not_match_a_recorded_head(world: World) -> None:
    before = _report(world)
    recorded = f"{before.head_seq}:{before.head_hash}"
    assert _report(world, expect_head=recorded).ok
    with transaction(world.sessions_factory) as db:  # rewrite history, then the whole chain
        db.execute(update(AuditEvent).where(AuditEvent.chain_seq == 1).values(action="forged"))
        db.execute(update(AuditEvent).values(chain_seq=None, prev_hash=None, hash=None))
        db.execute(delete(AuditChainHead))
    with transaction(world.sessions_factory) as db:
        from bordin.storage.audit_chain import GENESIS_HASH, event_hash

        prev, seq = GENESIS_HASH, 0
        for row in db.scalars(select(AuditEvent).order_by(AuditEvent.id)):
            seq += 1
            row.chain_seq, row.prev_hash = seq, prev
            row.hash = prev = event_hash(
                seq=seq,
                prev_hash=row.prev_hash,
                at=row.at,
                clinic_id=row.clinic_id,
                actor_kind=row.actor_kind,
                actor_id=row.actor_id,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                client_id=row.client_id,
                detail=row.detail,
            )
        db.add(AuditChainHead(id=1, seq=seq, hash=prev))
    assert _report(world).ok  # self-consistent again ...
    assert not _report(world, expect_head=recorded).ok  # ... but not the chain recorded


@pytest.mark.postgres
@pytest.mark.parametrize("world", BACKENDS[1:], indirect=True)
def test_concurrent_writers_chain_one_after_the_other(world: World) -> None:
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                with transaction(world.sessions_factory) as db:
                    actor = db.get(User, world.users["aa"])
                    for j in range(3):
                        record_event(db, actor=actor, action=f"t{n}.{i}.{j}", object_type="t")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = _report(world)
    assert report.ok, report.problems
