"""Portal signing requests: a portal asks a citizen to sign PDFs on kyso's page; the portal
columns of an OpenID Connect client (signing-request right, payer organisation, webhooks).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_client", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("signing_requests", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("payer_organisation_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("webhook_urls", sa.Text(), nullable=True))
    op.create_table(
        "signing_request",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=300), nullable=False),
        sa.Column("return_url", sa.String(length=2000), nullable=False),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("payer", sa.String(length=10), nullable=False),
        sa.Column("sponsor_organisation_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=True),
        sa.Column("documents", sa.Text(), nullable=False),
        sa.Column("signature_ids", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_attempts", sa.Integer(), nullable=False),
        sa.Column("webhook_delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["oidc_client.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["sponsor_organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("signing_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_request_client_id"), ["client_id"])
        batch_op.create_index(batch_op.f("ix_signing_request_user_id"), ["user_id"])
        batch_op.create_index(batch_op.f("ix_signing_request_state"), ["state"])


def downgrade() -> None:
    with op.batch_alter_table("signing_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_request_state"))
        batch_op.drop_index(batch_op.f("ix_signing_request_user_id"))
        batch_op.drop_index(batch_op.f("ix_signing_request_client_id"))
    op.drop_table("signing_request")
    with op.batch_alter_table("oidc_client", schema=None) as batch_op:
        batch_op.drop_column("webhook_urls")
        batch_op.drop_column("payer_organisation_id")
        batch_op.drop_column("signing_requests")
