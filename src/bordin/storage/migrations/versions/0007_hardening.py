"""hardening: a tamper-evident audit chain (existing events chained in id order), login
lockouts with exponential backoff, TOTP two-factor login for staff

Revision ID: 0007_hardening
Revises: 0006_delivery
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bordin.storage.models._base import UTCDateTime

revision = "0007_hardening"
down_revision = "0006_delivery"
branch_labels = None
depends_on = None

_BATCH = 1000


def _chain_existing_events() -> None:
    """Give every event already stored its chain position and hashes, in id order."""
    from bordin.storage.audit_chain import GENESIS_HASH, event_hash

    events = sa.table(
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
    bind = op.get_bind()
    seq, prev, last_id = 0, GENESIS_HASH, 0
    while True:
        rows = bind.execute(
            sa.select(events).where(events.c.id > last_id).order_by(events.c.id).limit(_BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            seq += 1
            digest = event_hash(
                seq=seq,
                prev_hash=prev,
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
            bind.execute(
                sa.update(events)
                .where(events.c.id == row.id)
                .values(chain_seq=seq, prev_hash=prev, hash=digest)
            )
            prev, last_id = digest, row.id
    head = sa.table(
        "audit_chain_head",
        sa.column("id", sa.Integer()),
        sa.column("seq", sa.BigInteger()),
        sa.column("hash", sa.String()),
    )
    bind.execute(sa.insert(head).values(id=1, seq=seq, hash=prev))


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_chain_seq"), ["chain_seq"])
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    _chain_existing_events()
    op.create_table(
        "login_lockouts",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "address", name=op.f("pk_login_lockouts")),
    )
    # Plain ADD COLUMN (no batch): rebuilding users or clinics, which other tables
    # reference, fails on SQLite's foreign keys once rows exist.
    op.add_column("users", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.add_column("users", sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.add_column(
        "clinics",
        sa.Column("admin_two_factor", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+, PostgreSQL): rebuilding clinics
    # or users, which other tables reference, fails on SQLite's foreign keys once rows exist.
    for table, column in (
        ("clinics", "admin_two_factor"),
        ("users", "totp_last_step"),
        ("users", "totp_enabled_at"),
        ("users", "totp_secret"),
    ):
        op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    op.drop_table("login_lockouts")
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_chain_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("chain_seq")
