"""pins in flight

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pins_in_flight", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("pin_flight_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.drop_column("pin_flight_at")
        batch_op.drop_column("pins_in_flight")
