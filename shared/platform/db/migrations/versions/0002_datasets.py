"""Datasets: what each stored dataset holds (its instances stay in the artifact store).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("instances", sa.Integer(), nullable=False),
        sa.Column("with_human", sa.Integer(), nullable=False),
        sa.Column("with_explanations", sa.Integer(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
    )
    op.create_index("ix_datasets_created", "datasets", ["created"])


def downgrade() -> None:
    op.drop_table("datasets")
