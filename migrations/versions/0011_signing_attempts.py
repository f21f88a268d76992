"""Signing attempts claimed before any work, and holds that carry everything they reserved.

- ``signing_attempt``: one row per (user, Idempotency-Key), in the states reserved → signed →
  charged, or failed / expired; every signature already made gets its charged attempt, so a
  retry of an old request still replays it.
- ``charge_hold`` carries the unit it holds as it was priced (product, tier, funding, plan
  version, the usage counter or pack unit) and its owner; its new columns are nullable so that
  a process of the previous version may still run beside this one while they are rolled out.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_attempt",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("wallet_amount", sa.BigInteger(), nullable=False),
        sa.Column("allowance_units", sa.Integer(), nullable=False),
        sa.Column("pack_units", sa.Integer(), nullable=False),
        sa.Column("quota_units", sa.Integer(), nullable=False),
        sa.Column("lease", sa.String(length=32), nullable=False),
        sa.Column("signature_id", sa.String(length=36), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("failure", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "idempotency_key"),
    )
    with op.batch_alter_table("signing_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_attempt_account_id"), ["account_id"])
        batch_op.create_index(batch_op.f("ix_signing_attempt_state"), ["state"])

    # Every signature made before: a charged attempt, so that its key replays it.
    op.execute(
        """
        INSERT INTO signing_attempt (
            id, user_id, account_id, idempotency_key, request_sha256, kind, state, units,
            wallet_amount, allowance_units, pack_units, quota_units, lease, signature_id,
            created_at, updated_at, expires_at)
        SELECT s.id, s.user_id, COALESCE(e.account_id, s.user_id), s.idempotency_key,
               s.request_sha256, 'document', 'charged', 1, COALESCE(e.amount, 0),
               CASE WHEN e.funding = 'allowance' THEN 1 ELSE 0 END,
               CASE WHEN e.funding LIKE 'pack:%' THEN 1 ELSE 0 END,
               CASE WHEN e.funding = 'quota' THEN 1 ELSE 0 END,
               'migrated', s.id, s.created_at, s.created_at, s.created_at
        FROM signature s LEFT JOIN usage_event e ON e.signature_id = s.id
        """
    )

    with op.batch_alter_table("charge_hold", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("product", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("purpose", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("tier", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("funding", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("plan_code", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("plan_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("counter", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("pack_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_charge_hold_owner"), ["owner"])


def downgrade() -> None:
    with op.batch_alter_table("charge_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charge_hold_owner"))
        for column in ("created_at", "pack_id", "counter", "plan_version", "plan_code",
                       "funding", "tier", "purpose", "product", "owner"):  # fmt: skip
            batch_op.drop_column(column)
    with op.batch_alter_table("signing_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_attempt_state"))
        batch_op.drop_index(batch_op.f("ix_signing_attempt_account_id"))
    op.drop_table("signing_attempt")
