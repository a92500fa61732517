"""Jobs: state, progress, attempts, error text and times of every job.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("started", sa.Float()),
        sa.Column("finished", sa.Float()),
        sa.Column("done", sa.Integer()),
        sa.Column("total", sa.Integer()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requeued", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("summary", sa.JSON()),
    )
    op.create_index("ix_jobs_created", "jobs", ["created"])
    op.create_index("ix_jobs_kind_created", "jobs", ["kind", "created"])
    op.create_index("ix_jobs_state_created", "jobs", ["state", "created"])


def downgrade() -> None:
    op.drop_table("jobs")
