"""A tamper-evident audit trail: every event carries the hash of the one before it.

When a transaction that wrote audit events commits, its events are appended to one chain:
the chain's head row (:class:`~bordin.storage.models.AuditChainHead`) is locked, and each
new event gets the next position ``chain_seq``, the previous event's hash ``prev_hash`` and
its own ``hash``, the SHA-256 of a canonical JSON of its content, position and
``prev_hash``. The head row then holds the last position and hash. Concurrent transactions
chain one after the other (the head row's lock); a rolled-back transaction leaves no trace.

:func:`verify_audit_chain` (``bordin db verify-audit``) recomputes every hash in order. An
event changed, deleted or inserted in the database afterwards breaks the chain at that
position; events cut from the end no longer match the head row.

What it does not do: someone with write access to the database can recompute the whole
chain after an edit. Keep the head hash that ``verify-audit`` prints somewhere else (a
ticket, a printed log, another system) and compare it with ``--expect-head`` later; the
chain then proves nothing before that point was changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from bordin.storage.models import AuditChainHead, AuditEvent

__all__ = [
    "GENESIS_HASH",
    "AuditChainReport",
    "event_hash",
    "install_audit_chain",
    "note_new_event",
    "row_hash",
    "verify_audit_chain",
]

#: ``prev_hash`` of the first event.
GENESIS_HASH = "0" * 64
_PENDING_KEY = "bordin.audit_chain.pending"
_FORMAT = 1  # the canonical form's version, hashed with every event


def event_hash(
    *,
    seq: int,
    prev_hash: str,
    at: Any,
    clinic_id: int | None,
    actor_kind: str,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    client_id: int | None,
    detail: dict[str, Any] | None,
) -> str:
    """The SHA-256 (hex) of one event's canonical JSON form."""
    content = {
        "v": _FORMAT,
        "seq": seq,
        "prev": prev_hash,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "clinic_id": clinic_id,
        "actor_kind": actor_kind,
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "client_id": client_id,
        # as stored and read back: tuples become lists, keys become strings
        "detail": json.loads(json.dumps(detail or {})),
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def row_hash(row: Any, seq: int, prev_hash: str) -> str:
    """:func:`event_hash` of a stored event: an ``AuditEvent`` or a row of the
    ``audit_events`` table (a migration reads the table without the models)."""
    return event_hash(
        seq=seq,
        prev_hash=prev_hash,
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


def _locked_head(session: Session) -> AuditChainHead:
    head = session.scalar(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update())
    if head is None:  # a database made without the migrations (create_all)
        head = AuditChainHead(id=1, seq=0, hash=GENESIS_HASH)
        session.add(head)
    return head


def _chain_pending(session: Session) -> None:
    """``before_commit``: append this transaction's new audit events to the chain.

    SQLAlchemy calls this for a savepoint's release too; the events wait for the outermost
    commit (a batch of submissions, each in a savepoint, locks the chain's head once).
    """
    if session.in_nested_transaction():
        return
    pending: list[AuditEvent] = session.info.pop(_PENDING_KEY, [])
    if not pending:
        return
    session.flush()
    kept = [e for e in pending if inspect(e).persistent and e.chain_seq is None]
    if not kept:
        return
    head = _locked_head(session)
    seq, prev = head.seq, head.hash
    links = []
    for row in sorted(kept, key=lambda e: e.id):
        seq += 1
        digest = row_hash(row, seq, prev)
        links.append({"event_id": row.id, "new_seq": seq, "new_prev": prev, "new_hash": digest})
        # the loaded object shows what the row now holds, without another UPDATE of its own
        set_committed_value(row, "chain_seq", seq)
        set_committed_value(row, "prev_hash", prev)
        set_committed_value(row, "hash", digest)
        prev = digest
    # one executemany for the transaction's events (a batch of submissions writes dozens)
    events = cast(Table, AuditEvent.__table__)
    session.execute(
        update(events)
        .where(events.c.id == bindparam("event_id"))
        .values(
            chain_seq=bindparam("new_seq"),
            prev_hash=bindparam("new_prev"),
            hash=bindparam("new_hash"),
        ),
        links,
    )
    head.seq, head.hash = seq, prev
    session.flush()


def _forget_pending(session: Session, transaction: Any) -> None:
    """``after_transaction_end`` of the outermost transaction: nothing is pending any more
    (committed events were chained; rolled-back ones were never stored)."""
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


def note_new_event(session: Session, row: AuditEvent) -> None:
    """Remember ``row`` for chaining when the transaction commits (``record_event``)."""
    session.info.setdefault(_PENDING_KEY, []).append(row)


def install_audit_chain(factory: sessionmaker[Session]) -> None:
    """Chain the audit events of every session ``factory`` makes."""
    event.listen(factory, "before_commit", _chain_pending)
    event.listen(factory, "after_transaction_end", _forget_pending)


@dataclass(frozen=True)
class AuditChainReport:
    """What :func:`verify_audit_chain` found.

    Attributes
    ----------
    events
        Audit events in the database.
    chained
        Events with a chain position.
    head_seq, head_hash
        The head row's last position and hash (0 and :data:`GENESIS_HASH` when empty).
    problems
        One sentence per break, naming the position and event id; empty when intact.
    """

    events: int
    chained: int
    head_seq: int
    head_hash: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether the chain is intact."""
        return not self.problems

    def summary(self) -> str:
        """A few lines for the terminal."""
        state = "intact" if self.ok else f"BROKEN ({len(self.problems)} problems)"
        lines = [
            f"audit chain {state}: {self.chained} of {self.events} events chained",
            f"head: {self.head_seq} {self.head_hash}",
        ]
        return "\n".join(lines + [f"  {p}" for p in self.problems[:20]])


def verify_audit_chain(db: Session, *, expect_head: str | None = None) -> AuditChainReport:
    """Recompute the audit chain in order and report every break.

    ``expect_head`` is a head hash recorded earlier (``seq:hash`` or just the hash): the
    chain must still contain it at that position.
    """
    problems: list[str] = []
    head = db.get(AuditChainHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    total = 0
    chained = 0
    prev, expected_seq = GENESIS_HASH, 0
    seen: dict[int, str] = {}
    rows = db.scalars(select(AuditEvent).order_by(AuditEvent.chain_seq, AuditEvent.id))
    for row in rows:
        total += 1
        if row.chain_seq is None:
            problems.append(f"event {row.id} ({row.action}) is not in the chain")
            continue
        chained += 1
        expected_seq += 1
        if row.chain_seq != expected_seq:
            problems.append(f"position {expected_seq} is missing (next is {row.chain_seq})")
            expected_seq = row.chain_seq
        if row.prev_hash != prev:
            problems.append(f"position {row.chain_seq} (event {row.id}) does not follow on")
        recomputed = row_hash(row, row.chain_seq, row.prev_hash or "")
        if recomputed != row.hash:
            problems.append(f"position {row.chain_seq} (event {row.id}) was changed")
        prev = row.hash or ""
        seen[row.chain_seq] = prev
    if (expected_seq, prev) != (head_seq, head_hash):
        problems.append(
            f"the chain ends at position {expected_seq} but the head says {head_seq}: "
            "events were removed from the end, or the head was changed"
        )
    if expect_head:
        seq_text, _, wanted = expect_head.rpartition(":")
        positions = [int(seq_text)] if seq_text.isdigit() else list(seen)
        if not any(seen.get(p) == wanted for p in positions):
            problems.append(f"the recorded head {expect_head} is not in the chain")
    return AuditChainReport(
        events=total,
        chained=chained,
        head_seq=head_seq,
        head_hash=head_hash,
        problems=tuple(problems),
    )
