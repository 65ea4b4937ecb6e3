"""Bias bounties: a holdout and a current model, submissions of a group and a model, and what was decided.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bounties",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("holdout", sa.LargeBinary, nullable=False),
        sa.Column("model", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "bounty_submissions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bounty_id", sa.Integer, sa.ForeignKey("bounties.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("submitted_at", TIME, nullable=False),
        sa.Column("conditions", sa.JSON, nullable=False),
        sa.Column("model", sa.LargeBinary, nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("decision", sa.JSON, nullable=True),
        sa.UniqueConstraint("bounty_id", "number", name="uq_bounty_submissions_number"),
    )


def downgrade() -> None:
    op.drop_table("bounty_submissions")
    op.drop_table("bounties")
