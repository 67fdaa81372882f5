"""indexes for the code limits: verifications by address and by conversation

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 02:05:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verifications_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_verifications_conversation_id"),
                              ["conversation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verifications_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_verifications_email"))
