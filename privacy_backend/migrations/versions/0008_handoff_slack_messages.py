"""handoffs remember their message in the privacy team's Slack channel

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slack_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("slack_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("slack_lease_until", sa.DateTime(timezone=True),
                                      nullable=True))
        # The sweep looks for recent handoffs whose Slack message is behind.
        batch_op.create_index(batch_op.f("ix_handoffs_created_at"), ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoffs_created_at"))
        batch_op.drop_column("slack_lease_until")
        batch_op.drop_column("slack_state")
        batch_op.drop_column("slack_ts")
