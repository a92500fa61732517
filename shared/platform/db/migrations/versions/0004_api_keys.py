"""API keys (a hash of each, never the key) and the owner of every job and dataset.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("revoked", sa.Float()),
    )
    for table in ("jobs", "datasets"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("owner", sa.String(16)))
    op.create_index("ix_jobs_owner_created", "jobs", ["owner", "created"])


def downgrade() -> None:
    op.drop_index("ix_jobs_owner_created", "jobs")
    for table in ("jobs", "datasets"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("owner")
    op.drop_table("api_keys")
