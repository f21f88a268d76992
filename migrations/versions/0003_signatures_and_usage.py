"""signatures and usage

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("product", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.String(length=36), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("signature_id"),
    )
    with op.batch_alter_table("usage_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_event_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_usage_event_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_usage_event_product"), ["product"], unique=False)
        batch_op.create_index(batch_op.f("ix_usage_event_user_id"), ["user_id"], unique=False)

    op.create_table(
        "signature",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("certified", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credential.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "idempotency_key"),
    )
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signature_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_signature_retain_until"), ["retain_until"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_signature_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signature_user_id"))
        batch_op.drop_index(batch_op.f("ix_signature_retain_until"))
        batch_op.drop_index(batch_op.f("ix_signature_created_at"))

    op.drop_table("signature")
    with op.batch_alter_table("usage_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_event_user_id"))
        batch_op.drop_index(batch_op.f("ix_usage_event_product"))
        batch_op.drop_index(batch_op.f("ix_usage_event_created_at"))
        batch_op.drop_index(batch_op.f("ix_usage_event_account_id"))

    op.drop_table("usage_event")
