"""CA key requests: an issuing CA whose certificate a parent (national) root issues.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-06 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ca_key_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=128), nullable=False),
        sa.Column("csr", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ca_key_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ca_key_request_role"), ["role"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ca_key_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ca_key_request_role"))
    op.drop_table("ca_key_request")
