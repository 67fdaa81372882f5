"""the request lifecycle the state laws require: authorized agents, duplicates, receipt
confirmations, response times and denial reasons for the yearly metrics, and appeals

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD_STATUSES = ("pending_verification", "verified", "in_progress", "completed", "rejected",
                "closed_unverified")
NEW_STATUSES = (*OLD_STATUSES, "duplicate")
FINAL = ("completed", "rejected", "closed_unverified")


def _status(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="request_status", native_enum=False, create_constraint=True,
                   length=32)


def upgrade() -> None:
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=_status(OLD_STATUSES),
                              type_=_status(NEW_STATUSES), existing_nullable=False)
        batch_op.add_column(sa.Column("agent_email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("agent_verified_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("consumer_confirmed_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("agent_permission", sa.Enum(
            "consumer_confirmed", "signed_permission", name="agent_permission",
            native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("receipt_confirmed_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("denial_reason", sa.Enum(
            "identity_not_verified", "agent_not_authorized", "exemption", "unfounded", "other",
            name="denial_reason", native_enum=False, create_constraint=True, length=32),
            nullable=True))
        batch_op.add_column(sa.Column("partial", sa.Boolean(), server_default="0",
                                      nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_privacy_requests_duplicate_of_id_privacy_requests"),
            "privacy_requests", ["duplicate_of_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_privacy_requests_agent_email"), ["agent_email"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_privacy_requests_closed_at"), ["closed_at"],
                              unique=False)
    # Requests answered before this revision: their last change is their response, and a
    # denial before reasons were recorded counts as `other` (`closed_unverified` needs none:
    # the metrics count it as not verified).
    requests = sa.table("privacy_requests", sa.column("status", sa.String),
                        sa.column("updated_at", sa.DateTime(timezone=True)),
                        sa.column("closed_at", sa.DateTime(timezone=True)),
                        sa.column("denial_reason", sa.String),
                        sa.column("verified_at", sa.DateTime(timezone=True)),
                        sa.column("receipt_confirmed_at", sa.DateTime(timezone=True)))
    op.execute(requests.update().where(requests.c.status.in_(FINAL))
               .values(closed_at=requests.c.updated_at))
    op.execute(requests.update().where(requests.c.status == "rejected")
               .values(denial_reason="other"))
    # Until now the confirmation of receipt went out when the request was verified.
    op.execute(requests.update().where(requests.c.verified_at.is_not(None))
               .values(receipt_confirmed_at=requests.c.verified_at))

    op.create_table(
        "privacy_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("open", "granted", "denied", name="appeal_status",
                                    native_enum=False, create_constraint=True, length=32),
                  nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("channel", sa.Enum("web", "slack", "rest", "agent", name="channel",
                                     native_enum=False, create_constraint=True, length=32),
                  nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["privacy_requests.id"],
                                name=op.f("fk_privacy_appeals_request_id_privacy_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_appeals")),
        sa.UniqueConstraint("reference", name=op.f("uq_privacy_appeals_reference")),
        sa.UniqueConstraint("request_id", name=op.f("uq_privacy_appeals_request_id")),
    )
    op.create_index(op.f("ix_privacy_appeals_status"), "privacy_appeals", ["status"])
    op.create_index(op.f("ix_privacy_appeals_received_at"), "privacy_appeals", ["received_at"])
    op.create_index(op.f("ix_privacy_appeals_due_at"), "privacy_appeals", ["due_at"])


def downgrade() -> None:
    op.drop_table("privacy_appeals")
    op.execute(sa.text("UPDATE privacy_requests SET status = 'rejected' "
                       "WHERE status = 'duplicate'"))
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_requests_closed_at"))
        batch_op.drop_index(batch_op.f("ix_privacy_requests_agent_email"))
        batch_op.drop_constraint(
            batch_op.f("fk_privacy_requests_duplicate_of_id_privacy_requests"),
            type_="foreignkey")
        for check in ("denial_reason", "agent_permission"):
            batch_op.drop_constraint(batch_op.f(f"ck_privacy_requests_{check}"), type_="check")
        for column in ("partial", "denial_reason", "closed_at", "receipt_confirmed_at",
                       "duplicate_of_id", "agent_permission", "consumer_confirmed_at",
                       "agent_verified_at", "agent_email"):
            batch_op.drop_column(column)
        batch_op.alter_column("status", existing_type=_status(NEW_STATUSES),
                              type_=_status(OLD_STATUSES), existing_nullable=False)
