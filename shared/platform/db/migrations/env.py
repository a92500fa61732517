"""Alembic's environment: migrations run on the connection
:func:`shared.platform.db.database.migrate` hands over (``config.attributes["connection"]``);
no alembic.ini."""

from __future__ import annotations

from alembic import context

from shared.platform.db.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
