"""The console's "verify now" checks of the ledger, run in the background: who started each, its anchor, what it found.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ledger_checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("started_by", sa.String(200), nullable=False),
        sa.Column("anchor", sa.JSON, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("ledger_checks")
