"""the outbox: mail is delivered after the transaction that wrote it, and retried

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbound_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.Enum("queued", "sent", "dropped", name="mail_status",
                                    native_enum=False, create_constraint=True, length=32),
                  nullable=False),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("verification_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["verification_id"], ["verifications.id"],
                                name=op.f("fk_outbound_mail_verification_id_verifications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_mail")),
    )
    with op.batch_alter_table("outbound_mail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_mail_status"), ["status"])
        batch_op.create_index(batch_op.f("ix_outbound_mail_verification_id"),
                              ["verification_id"])
        batch_op.create_index(batch_op.f("ix_outbound_mail_next_attempt_at"),
                              ["next_attempt_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbound_mail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_mail_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_outbound_mail_verification_id"))
        batch_op.drop_index(batch_op.f("ix_outbound_mail_status"))
    op.drop_table("outbound_mail")
