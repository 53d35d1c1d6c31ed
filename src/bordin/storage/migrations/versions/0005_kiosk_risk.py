"""kiosk sessions and the risk pathway: risk events, staff notifications, their e-mails,
the risk log, and the clinic's crisis text and escalation delay

Revision ID: 0005_kiosk_risk
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_kiosk_risk"
down_revision = "0004"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _index(table: str, column: str, *, unique: bool = False) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=unique)


def upgrade() -> None:
    # Plain ADD COLUMN (no batch): rebuilding clinics, which other tables reference, fails
    # on SQLite's foreign keys once rows exist.
    op.add_column("clinics", sa.Column("crisis_text", sa.Text(), nullable=True))
    op.add_column(
        "clinics",
        sa.Column("risk_escalate_minutes", sa.Integer(), server_default="60", nullable=False),
    )
    op.create_table(
        "kiosk_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("form_request_id", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lock_reason", sa.String(length=16), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.Integer(), nullable=True),
        _fk("kiosk_sessions", "client_id", "clients"),
        _fk("kiosk_sessions", "clinic_id", "clinics"),
        _fk("kiosk_sessions", "ended_by", "users"),
        _fk("kiosk_sessions", "form_request_id", "form_requests"),
        _fk("kiosk_sessions", "started_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_kiosk_sessions_token_hash")),
    )
    _index("kiosk_sessions", "client_id")
    _index("kiosk_sessions", "clinic_id")
    op.create_table(
        "risk_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("form_request_id", sa.Integer(), nullable=True),
        sa.Column("entered_by", sa.Integer(), nullable=True),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        _fk("risk_events", "acknowledged_by", "users"),
        _fk("risk_events", "client_id", "clients"),
        _fk("risk_events", "clinic_id", "clinics"),
        _fk("risk_events", "entered_by", "users"),
        _fk("risk_events", "form_request_id", "form_requests"),
        _fk("risk_events", "session_id", "sessions"),
        _fk("risk_events", "therapist_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_events")),
        sa.UniqueConstraint(
            "session_id",
            "instrument",
            "item",
            name=op.f("uq_risk_events_session_id_instrument_item"),
        ),
    )
    _index("risk_events", "client_id")
    _index("risk_events", "clinic_id")
    _index("risk_events", "escalated_at")
    op.create_table(
        "staff_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("risk_event_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        _fk("staff_notifications", "clinic_id", "clinics"),
        _fk("staff_notifications", "risk_event_id", "risk_events"),
        _fk("staff_notifications", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notifications")),
        sa.UniqueConstraint(
            "user_id",
            "risk_event_id",
            "reason",
            name=op.f("uq_staff_notifications_user_id_risk_event_id_reason"),
        ),
    )
    _index("staff_notifications", "clinic_id")
    _index("staff_notifications", "risk_event_id")
    _index("staff_notifications", "user_id")
    op.create_table(
        "risk_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("link_path", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True),
        _fk("risk_emails", "clinic_id", "clinics"),
        _fk("risk_emails", "notification_id", "staff_notifications"),
        _fk("risk_emails", "recipient_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_emails")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_risk_emails_idempotency_key")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_risk_emails_notification_id")),
    )
    _index("risk_emails", "clinic_id")
    _index("risk_emails", "handed_over_at")
    op.create_table(
        "risk_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("risk_event_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        _fk("risk_log", "actor_id", "users"),
        _fk("risk_log", "clinic_id", "clinics"),
        _fk("risk_log", "recipient_id", "users"),
        _fk("risk_log", "risk_event_id", "risk_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_log")),
    )
    _index("risk_log", "clinic_id")
    _index("risk_log", "risk_event_id")


def downgrade() -> None:
    for table in (
        "risk_log",
        "risk_emails",
        "staff_notifications",
        "risk_events",
        "kiosk_sessions",
    ):
        op.drop_table(table)
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+, PostgreSQL), as in the upgrade
    for column in ("risk_escalate_minutes", "crisis_text"):
        op.execute(sa.text(f"ALTER TABLE clinics DROP COLUMN {column}"))
