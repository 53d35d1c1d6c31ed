"""clinic pages: import uploads, password reset links, episode close reason, clinic time
zone, staff-entered responses, a client's form language and default questionnaires,
missed (cancelled, did-not-attend) sessions

Revision ID: 0004
Revises: 0003_rate_limits
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003_rate_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_import_uploads_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_import_uploads_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_uploads")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_import_uploads_token_hash")),
    )
    with op.batch_alter_table("import_uploads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_uploads_clinic_id"), ["clinic_id"], unique=False
        )
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_password_resets_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_password_resets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_password_resets_user_id"), ["user_id"], unique=False)
    op.create_table(
        "missed_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_missed_sessions_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_missed_sessions_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episodes.id"], name=op.f("fk_missed_sessions_episode_id_episodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_missed_sessions")),
    )
    with op.batch_alter_table("missed_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_missed_sessions_client_id"), ["client_id"], unique=False
        )
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("close_reason", sa.String(length=16), nullable=True))
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("form_language", sa.String(length=16), server_default="en", nullable=False)
        )
        batch_op.add_column(sa.Column("default_instruments", sa.JSON(), nullable=True))
    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False)
        )
    with op.batch_alter_table("item_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entered_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_item_responses_entered_by_users"), "users", ["entered_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("item_responses", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_item_responses_entered_by_users"), type_="foreignkey"
        )
        batch_op.drop_column("entered_by")
    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.drop_column("timezone")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("default_instruments")
        batch_op.drop_column("form_language")
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        batch_op.drop_column("close_reason")
    with op.batch_alter_table("missed_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_missed_sessions_client_id"))
    op.drop_table("missed_sessions")
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_resets_user_id"))
    op.drop_table("password_resets")
    with op.batch_alter_table("import_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_uploads_clinic_id"))
    op.drop_table("import_uploads")
