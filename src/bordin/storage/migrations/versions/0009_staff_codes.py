"""staff codes: admins and supervisors still holding the therapist-style default code
t<id> (from before a<id> and s<id>) get a<id> or s<id>, where that is safe

An admin made by ``bordin db create-admin`` before the change was ``t001``; a history
imported later with a therapist ``t001`` was refused ("the therapist code 't001' belongs to
the admin account"). A code is renamed only when all of these hold, and kept otherwise:

- it is exactly the default the old code gave (``t`` and the user id, at least three
  digits), not a code someone chose;
- the account was never a therapist: created as an admin or supervisor and never changed
  from therapist (by its audit events; an account without its creation event is kept),
  holds no client and is named on no risk event as a client's therapist, so the code never
  stood for a therapist in an export, report or history file;
- the new code is free in the clinic.

Each rename is an audit event (``user.code``, actor ``system``) appended to the audit
chain. The downgrade keeps the new codes: renaming back could take a code that a
therapist imported since holds.

Revision ID: 0009_staff_codes
Revises: 0008_import_endings
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from bordin.storage.models._base import UTCDateTime

revision = "0009_staff_codes"
down_revision = "0008_import_endings"
branch_labels = None
depends_on = None

_PREFIX = {"admin": "a", "supervisor": "s"}

_users = sa.table(
    "users",
    sa.column("id", sa.Integer()),
    sa.column("clinic_id", sa.Integer()),
    sa.column("code", sa.String()),
    sa.column("role", sa.String()),
)
_clients = sa.table("clients", sa.column("therapist_id", sa.Integer()))
_risk_events = sa.table("risk_events", sa.column("therapist_id", sa.Integer()))
_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("at", UTCDateTime()),
    sa.column("clinic_id", sa.Integer()),
    sa.column("actor_kind", sa.String()),
    sa.column("actor_id", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.Integer()),
    sa.column("client_id", sa.Integer()),
    sa.column("detail", sa.JSON()),
    sa.column("chain_seq", sa.BigInteger()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
_head = sa.table(
    "audit_chain_head",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.BigInteger()),
    sa.column("hash", sa.String()),
)


def _never_a_therapist(bind: Any, user_id: int) -> bool:
    """Created as an admin or supervisor, never changed from therapist, no client held."""
    rows = bind.execute(
        sa.select(_events.c.action, _events.c.detail).where(
            _events.c.object_type == "user",
            _events.c.object_id == user_id,
            _events.c.action.in_(("user.create", "user.update")),
        )
    ).all()
    created = [detail or {} for action, detail in rows if action == "user.create"]
    if len(created) != 1 or created[0].get("role") not in _PREFIX:
        return False
    for action, detail in rows:
        before = (detail or {}).get("before") or {}
        if action == "user.update" and before.get("role") not in _PREFIX:
            return False
    for table in (_clients, _risk_events):
        held = bind.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.therapist_id == user_id)
        ).scalar_one()
        if held:
            return False
    return True


def _append_event(bind: Any, *, clinic_id: int, user_id: int, before: str, after: str) -> None:
    """An audit event for one rename, chained after the chain's head."""
    from bordin.storage.audit_chain import GENESIS_HASH, row_hash

    bind.execute(
        sa.insert(_events).values(
            at=datetime.now(UTC),
            clinic_id=clinic_id,
            actor_kind="system",
            actor_id=None,
            action="user.code",
            object_type="user",
            object_id=user_id,
            client_id=None,
            detail={"before": before, "after": after, "by": "migration 0009_staff_codes"},
        )
    )
    row = bind.execute(
        sa.select(_events).where(_events.c.chain_seq.is_(None)).order_by(_events.c.id.desc())
    ).first()
    head = bind.execute(sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).first()
    seq, prev = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
    seq += 1
    digest = row_hash(row, seq, prev)
    bind.execute(
        sa.update(_events)
        .where(_events.c.id == row.id)
        .values(chain_seq=seq, prev_hash=prev, hash=digest)
    )
    if head is None:
        bind.execute(sa.insert(_head).values(id=1, seq=seq, hash=digest))
    else:
        bind.execute(sa.update(_head).where(_head.c.id == 1).values(seq=seq, hash=digest))


def upgrade() -> None:
    bind = op.get_bind()
    staff = bind.execute(
        sa.select(_users.c.id, _users.c.clinic_id, _users.c.code, _users.c.role)
        .where(_users.c.role.in_(tuple(_PREFIX)))
        .order_by(_users.c.id)
    ).all()
    for user_id, clinic_id, code, role in staff:
        if code != f"t{user_id:03d}" or not _never_a_therapist(bind, user_id):
            continue
        new = f"{_PREFIX[role]}{user_id:03d}"
        taken = bind.execute(
            sa.select(_users.c.id).where(_users.c.clinic_id == clinic_id, _users.c.code == new)
        ).first()
        if taken is not None:
            continue
        bind.execute(sa.update(_users).where(_users.c.id == user_id).values(code=new))
        _append_event(bind, clinic_id=clinic_id, user_id=user_id, before=code, after=new)


def downgrade() -> None:
    """Keep the new codes: a therapist imported since may hold the old one."""
