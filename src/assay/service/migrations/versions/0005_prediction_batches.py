"""Each captured prediction names the ledger entry of its capture batch, so the ledger's digest of the batch can be checked.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.add_column("predictions", sa.Column("ledger_seq", BIG, nullable=True))  # null: captured before this revision (counted, not digested)
    op.create_index("ix_predictions_ledger_seq", "predictions", ["ledger_seq"])


def downgrade() -> None:
    op.drop_index("ix_predictions_ledger_seq", "predictions")
    op.drop_column("predictions", "ledger_seq")
