"""certificate authority

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ca_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=128), nullable=False),
        sa.Column("serial", sa.String(length=48), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ca_certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ca_certificate_role"), ["role"], unique=False)

    op.create_table(
        "issued_certificate",
        sa.Column("serial", sa.String(length=48), nullable=False),
        sa.Column("issuer", sa.String(length=16), nullable=False),
        sa.Column("profile", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("subject_uid", sa.String(length=64), nullable=True),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("serial"),
    )
    with op.batch_alter_table("issued_certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issued_certificate_issuer"), ["issuer"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_issued_certificate_subject_uid"), ["subject_uid"], unique=False
        )

    op.create_table(
        "revocation_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("this_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "number"),
    )
    with op.batch_alter_table("revocation_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revocation_list_issuer"), ["issuer"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("revocation_list", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revocation_list_issuer"))

    op.drop_table("revocation_list")
    with op.batch_alter_table("issued_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_certificate_subject_uid"))
        batch_op.drop_index(batch_op.f("ix_issued_certificate_issuer"))

    op.drop_table("issued_certificate")
    with op.batch_alter_table("ca_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ca_certificate_role"))

    op.drop_table("ca_certificate")
