"""PIN reset requests: a citizen without a second factor, approved by a registration officer;
an unproofed account's CCCD is claimed, not held (only a proofed account holds one).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_cccd", sa.String(length=12), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_app_user_claimed_cccd"), ["claimed_cccd"], unique=False
        )
    op.execute(
        "UPDATE app_user SET claimed_cccd = cccd, cccd = NULL "
        "WHERE identity_level < 2 AND cccd IS NOT NULL"
    )
    op.create_table(
        "pin_reset_request",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("officer_id", sa.String(length=36), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["credential_id"], ["credential.id"]),
        sa.ForeignKeyConstraint(["officer_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pin_reset_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pin_reset_request_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.execute("UPDATE app_user SET cccd = claimed_cccd WHERE cccd IS NULL")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_user_claimed_cccd"))
        batch_op.drop_column("claimed_cccd")
    with op.batch_alter_table("pin_reset_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pin_reset_request_user_id"))
    op.drop_table("pin_reset_request")
