"""preference changes by conversation, for the limits on code-free marketing opt-outs

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 01:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("preference_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_preference_changes_conversation_id"),
                              ["conversation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("preference_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_preference_changes_conversation_id"))
