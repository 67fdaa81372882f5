"""privacy opt-outs that need no proof: of sale and sharing, and of uses of sensitive
information (CCPA regs §7025-7027), from the chat or a browser's Global Privacy Control

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.Enum("sale_sharing", "limit_sensitive", name="opt_out_kind",
                                  native_enum=False, create_constraint=True, length=32),
                  nullable=False),
        sa.Column("source", sa.Enum("chat", "gpc", name="opt_out_source", native_enum=False,
                                    create_constraint=True, length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_opt_outs")),
        sa.UniqueConstraint("reference", name=op.f("uq_privacy_opt_outs_reference")),
    )
    op.create_index(op.f("ix_privacy_opt_outs_conversation_id"), "privacy_opt_outs",
                    ["conversation_id"])
    op.create_index(op.f("ix_privacy_opt_outs_email"), "privacy_opt_outs", ["email"])
    op.create_index(op.f("ix_privacy_opt_outs_received_at"), "privacy_opt_outs",
                    ["received_at"])


def downgrade() -> None:
    op.drop_table("privacy_opt_outs")
