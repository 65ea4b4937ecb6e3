"""A model version's audits and card store (versions and review log), the approvers' signing keys, ground truth counted by group
(filled from the rows already labelled); indexes for the ledger's search and a window's rows.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False, index=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("analysis", sa.JSON, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "card_versions",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_table(
        "card_log",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("entry", sa.JSON, nullable=False),
    )
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, index=True),
        sa.Column("key_id", sa.String(16), nullable=False, unique=True),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("private_key", sa.Text, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("retired_at", TIME, nullable=True),
    )
    op.create_table(
        "truth_counts",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
        sa.Column("facet", sa.String(200), primary_key=True),
        sa.Column("value", sa.String(200), primary_key=True),
        sa.Column("label", sa.String(200), primary_key=True),
        sa.Column("truth", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(50), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    from assay.service._truth import backfill

    backfill(op.get_bind())
    for column in ("action", "actor", "subject"):
        op.create_index(f"ix_ledger_{column}", "ledger", [column, "seq"])
    op.create_index("ix_ledger_at", "ledger", ["at"])
    op.create_index("ix_predictions_model_seq", "predictions", ["model_id", "seq"])
    op.create_index("ix_predictions_model_when", "predictions", ["model_id", sa.text("coalesce(inference_time, captured_at)")])  # windows


def downgrade() -> None:
    for index in ("ix_ledger_action", "ix_ledger_actor", "ix_ledger_subject", "ix_ledger_at"):
        op.drop_index(index, "ledger")
    op.drop_index("ix_predictions_model_seq", "predictions")
    op.drop_index("ix_predictions_model_when", "predictions")
    for table in ("truth_counts", "signing_keys", "card_log", "card_versions", "audits"):
        op.drop_table(table)
