"""marketing preferences and their change history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "marketing_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("global_opt_out", sa.Boolean(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_preferences")),
        sa.UniqueConstraint("email", name=op.f("uq_marketing_preferences_email")),
    )

    op.create_table(
        "preference_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("preference_id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "chat",
                "unsubscribe_link",
                "agent",
                "slack",
                "api",
                name="preference_source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("idempotency_fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["preference_id"],
            ["marketing_preferences.id"],
            name=op.f("fk_preference_changes_preference_id_marketing_preferences"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preference_changes")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_preference_changes_idempotency_key")
        ),
    )
    with op.batch_alter_table("preference_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_preference_changes_preference_id"), ["preference_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("preference_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_preference_changes_preference_id"))

    op.drop_table("preference_changes")
    op.drop_table("marketing_preferences")
