"""Human review: tasks routed by a model's policy, and reviewers' assignments and answers.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_tasks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("prediction_id", sa.String(200), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("required", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(200), nullable=True),
        sa.Column("agreement", sa.Float, nullable=True),
        sa.UniqueConstraint("model_id", "prediction_id", name="uq_review_tasks_prediction"),
    )
    op.create_index("ix_review_tasks_open", "review_tasks", ["status", "priority", "id"])
    op.create_table(
        "review_assignments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("review_tasks.id"), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(200), nullable=True),
        sa.UniqueConstraint("task_id", "reviewer", name="uq_review_assignments_task_reviewer"),
    )


def downgrade() -> None:
    op.drop_table("review_assignments")
    op.drop_index("ix_review_tasks_open", "review_tasks")
    op.drop_table("review_tasks")
