"""agent roles, and a record of every transcript read in the console

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "role", sa.Enum("agent", "privacy_admin", name="agent_role", native_enum=False,
                            create_constraint=True, length=32),
            nullable=False, server_default="agent"))
    op.create_table(
        "transcript_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"],
                                name=op.f("fk_transcript_reads_agent_id_agents")),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"],
                                name=op.f("fk_transcript_reads_handoff_id_handoffs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_reads")),
    )
    with op.batch_alter_table("transcript_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transcript_reads_agent_id"), ["agent_id"])
        batch_op.create_index(batch_op.f("ix_transcript_reads_handoff_id"), ["handoff_id"])


def downgrade() -> None:
    with op.batch_alter_table("transcript_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transcript_reads_handoff_id"))
        batch_op.drop_index(batch_op.f("ix_transcript_reads_agent_id"))
    op.drop_table("transcript_reads")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("role")
