"""the assistant's own data under the rights: conversation links, exports and their
downloads, marketing suppressions, erased requests

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 22:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_links")),
        sa.UniqueConstraint("conversation_id", "email",
                            name=op.f("uq_conversation_links_conversation_id")),
    )
    op.create_index(op.f("ix_conversation_links_conversation_id"), "conversation_links",
                    ["conversation_id"])
    op.create_index(op.f("ix_conversation_links_email"), "conversation_links", ["email"])
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("email_hash", name=op.f("uq_suppressions_email_hash")),
    )
    op.create_table(
        "exports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("schema_version", sa.String(length=8), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["privacy_requests.id"],
                                name=op.f("fk_exports_request_id_privacy_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )
    op.create_index(op.f("ix_exports_request_id"), "exports", ["request_id"])
    op.create_index(op.f("ix_exports_expires_at"), "exports", ["expires_at"])
    op.create_table(
        "export_downloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("export_id", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["export_id"], ["exports.id"],
                                name=op.f("fk_export_downloads_export_id_exports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_downloads")),
    )
    op.create_index(op.f("ix_export_downloads_export_id"), "export_downloads", ["export_id"])
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    op.drop_table("export_downloads")
    op.drop_table("exports")
    op.drop_table("suppressions")
    op.drop_table("conversation_links")
