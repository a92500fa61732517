"""Tasks: user-defined tasks (each version kept whole, immutable) and the task of every
dataset, job and model version (rows from before are NLI's).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

#: what rows written before tasks existed were made for
BEFORE = "nli@1"


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("owner", sa.String(16)),
    )
    for table in ("jobs", "datasets", "models"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("task", sa.String(64), nullable=False, server_default=BEFORE)
            )
    op.create_index("ix_models_task_promoted", "models", ["task", "promoted"])


def downgrade() -> None:
    op.drop_index("ix_models_task_promoted", "models")
    for table in ("jobs", "datasets", "models"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("task")
    op.drop_table("tasks")
