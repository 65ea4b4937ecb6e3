"""Explanations and inference times with captured predictions, monitoring baselines and runs, contests (a task may now review a contested decision), the receipts' key.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("predictions", sa.Column("explanation", sa.JSON, nullable=True))
    op.add_column("predictions", sa.Column("inference_time", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("review_tasks") as b:  # a contested prediction gets a second task: one task per prediction no longer holds
        b.drop_constraint("uq_review_tasks_prediction", type_="unique")
        b.add_column(sa.Column("contest_id", sa.Integer, nullable=True))
        b.create_index("ix_review_tasks_prediction", ["model_id", "prediction_id"])
    # the queue: open tasks in the order they are handed out (the scan stops at the first one a reviewer may take), and a reviewer's own
    op.create_index("ix_review_tasks_queue", "review_tasks", ["status", sa.text("priority DESC"), "id"])
    op.create_index("ix_review_assignments_reviewer", "review_assignments", ["reviewer", "task_id"])
    op.create_table(
        "baselines",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("statistics", sa.JSON, nullable=False),
        sa.Column("constraints", sa.JSON, nullable=False),
        sa.Column("model", sa.JSON, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "monitoring_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(200), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("violations", sa.Integer, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("alerts", sa.JSON, nullable=True),
    )
    op.create_index("ix_monitoring_runs_model_window", "monitoring_runs", ["model_id", "window_start"])
    op.create_table(
        "contests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("prediction_id", sa.String(200), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("on_behalf_of", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(200), nullable=True),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_by", sa.String(200), nullable=True),
    )
    op.create_table("service_secrets", sa.Column("name", sa.String(100), primary_key=True), sa.Column("value", sa.String(200), nullable=False))


def downgrade() -> None:
    op.drop_table("service_secrets")
    op.drop_table("contests")
    op.drop_index("ix_monitoring_runs_model_window", "monitoring_runs")
    op.drop_table("monitoring_runs")
    op.drop_table("baselines")
    op.drop_index("ix_review_assignments_reviewer", "review_assignments")
    op.drop_index("ix_review_tasks_queue", "review_tasks")
    with op.batch_alter_table("review_tasks") as b:
        b.drop_index("ix_review_tasks_prediction")
        b.drop_column("contest_id")
        b.create_unique_constraint("uq_review_tasks_prediction", ["model_id", "prediction_id"])
    op.drop_column("predictions", "inference_time")
    op.drop_column("predictions", "explanation")
