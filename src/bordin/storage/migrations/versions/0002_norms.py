"""clinic norms snapshots, feedback history, norms on signals and alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "norms_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("sessions_at_fit", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_norms_snapshots_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_norms_snapshots_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_norms_snapshots")),
    )
    with op.batch_alter_table("norms_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_norms_snapshots_clinic_id"), ["clinic_id"], unique=False
        )

    op.create_table(
        "feedback_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("session", sa.Integer(), nullable=False),
        sa.Column("norms_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("alerts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_feedback_history_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["norms_id"],
            ["norms_snapshots.id"],
            name=op.f("fk_feedback_history_norms_id_norms_snapshots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_history")),
    )
    with op.batch_alter_table("feedback_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_history_client_id"), ["client_id"], unique=False
        )

    for table in ("signals", "alerts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("norms_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_norms_id_norms_snapshots"),
                "norms_snapshots",
                ["norms_id"],
                ["id"],
            )


def downgrade() -> None:
    for table in ("alerts", "signals"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_norms_id_norms_snapshots"), type_="foreignkey"
            )
            batch_op.drop_column("norms_id")
    with op.batch_alter_table("feedback_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_history_client_id"))
    op.drop_table("feedback_history")
    with op.batch_alter_table("norms_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_norms_snapshots_clinic_id"))
    op.drop_table("norms_snapshots")
