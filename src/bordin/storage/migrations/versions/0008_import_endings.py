"""import endings: an upload on the admin's import page may carry a second file, how the
treatments of the history ended

Revision ID: 0008_import_endings
Revises: 0007_hardening
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_import_endings"
down_revision = "0007_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("endings_filename", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("endings", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_uploads", schema=None) as batch_op:
        batch_op.drop_column("endings")
        batch_op.drop_column("endings_filename")
