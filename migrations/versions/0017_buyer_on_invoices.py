"""An organisation's tax code and address, printed as the buyer's on its invoices.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-06 16:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tax_code", sa.String(length=14), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("tax_code")
