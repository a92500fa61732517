"""Job priority (background jobs give way to normal ones), the bootstrap record (one
student bootstrap at a time, resumed across restarts) and the model versions.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(
            sa.Column("priority", sa.String(16), nullable=False, server_default="normal")
        )
    op.create_index("ix_jobs_kind_state_priority", "jobs", ["kind", "state", "priority"])
    op.create_table(
        "bootstraps",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.String(64)),
        sa.Column("mjd_job_id", sa.String(64)),
        sa.Column("training_job_id", sa.String(64)),
    )
    op.create_table(
        "models",
        sa.Column("version", sa.String(16), primary_key=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("job_id", sa.String(64)),
        sa.Column("promoted", sa.Float()),
        sa.Column("record", sa.JSON(), nullable=False),
    )
    op.create_index("ix_models_number", "models", ["number"])
    op.create_index("ix_models_promoted", "models", ["promoted"])


def downgrade() -> None:
    op.drop_table("models")
    op.drop_table("bootstraps")
    op.drop_index("ix_jobs_kind_state_priority", "jobs")
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("priority")
