"""delivery: client contact details (encrypted), booked sessions, delivery schedules, form
deliveries and the email outbox

Revision ID: 0006_delivery
Revises: 0005_kiosk_risk
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_delivery"
down_revision = "0005_kiosk_risk"
branch_labels = None
depends_on = None


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "client_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("email_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=False),
        _time("updated_at"),
        _fk("client_contacts", "client_id", "clients.id", ondelete="CASCADE"),
        _fk("client_contacts", "updated_by", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_contacts")),
        sa.UniqueConstraint("client_id", name=op.f("uq_client_contacts_client_id")),
    )
    op.create_table(
        "booked_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        _time("starts_at"),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("form_request_id", sa.Integer(), nullable=True),
        _time("cancelled_at", nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        _time("created_at"),
        _fk("booked_sessions", "client_id", "clients.id"),
        _fk("booked_sessions", "episode_id", "episodes.id"),
        _fk("booked_sessions", "session_id", "sessions.id"),
        _fk("booked_sessions", "form_request_id", "form_requests.id"),
        _fk("booked_sessions", "created_by", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booked_sessions")),
    )
    for column in ("client_id", "episode_id", "starts_at"):
        op.create_index(op.f(f"ix_booked_sessions_{column}"), "booked_sessions", [column])
    op.create_table(
        "delivery_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("hours_before", sa.Integer(), nullable=False),
        sa.Column("instruments", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        _time("next_due_at", nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=False),
        _time("updated_at"),
        _fk("delivery_schedules", "episode_id", "episodes.id"),
        _fk("delivery_schedules", "updated_by", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_schedules")),
        sa.UniqueConstraint("episode_id", name=op.f("uq_delivery_schedules_episode_id")),
    )
    op.create_table(
        "form_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("form_request_id", sa.Integer(), nullable=False),
        sa.Column("token_enc", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        _time("due_at"),
        sa.Column("not_emailed", sa.String(length=16), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        _time("last_sent_at", nullable=True),
        _time("paper_at", nullable=True),
        sa.Column("replaced_by", sa.Integer(), nullable=True),
        _time("created_at"),
        _fk("form_deliveries", "clinic_id", "clinics.id"),
        _fk("form_deliveries", "client_id", "clients.id"),
        _fk("form_deliveries", "form_request_id", "form_requests.id"),
        _fk("form_deliveries", "replaced_by", "form_deliveries.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_deliveries")),
        sa.UniqueConstraint("form_request_id", name=op.f("uq_form_deliveries_form_request_id")),
    )
    for column in ("clinic_id", "client_id"):
        op.create_index(op.f(f"ix_form_deliveries_{column}"), "form_deliveries", [column])
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("form_delivery_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        _time("lease_until", nullable=True),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        _time("sent_at", nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        _time("created_at"),
        _fk("outbox_messages", "clinic_id", "clinics.id"),
        _fk("outbox_messages", "client_id", "clients.id", ondelete="SET NULL"),
        _fk("outbox_messages", "user_id", "users.id"),
        _fk("outbox_messages", "form_delivery_id", "form_deliveries.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_messages_idempotency_key")),
    )
    op.create_index(op.f("ix_outbox_messages_clinic_id"), "outbox_messages", ["clinic_id"])
    op.create_index("ix_outbox_messages_due", "outbox_messages", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_due", table_name="outbox_messages")
    op.drop_index(op.f("ix_outbox_messages_clinic_id"), table_name="outbox_messages")
    op.drop_table("outbox_messages")
    for column in ("clinic_id", "client_id"):
        op.drop_index(op.f(f"ix_form_deliveries_{column}"), table_name="form_deliveries")
    op.drop_table("form_deliveries")
    op.drop_table("delivery_schedules")
    for column in ("client_id", "episode_id", "starts_at"):
        op.drop_index(op.f(f"ix_booked_sessions_{column}"), table_name="booked_sessions")
    op.drop_table("booked_sessions")
    op.drop_table("client_contacts")
