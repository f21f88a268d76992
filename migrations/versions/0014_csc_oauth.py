"""CSC v2 OAuth 2.0: the grants a citizen gives portals (codes, access tokens, sealed SADs).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "csc_grant",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=True),
        sa.Column("hashes", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("sealed_sad", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("csc_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_csc_grant_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_csc_grant_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("csc_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_csc_grant_user_id"))
        batch_op.drop_index(batch_op.f("ix_csc_grant_client_id"))
    op.drop_table("csc_grant")
