"""What every repository of the job store shares: the database's sessions, one short
transaction per change (so the API, the workers and the reconciler share the store from many
processes)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker


class Repository:
    """One kind of record over the sessions of a :class:`shared.platform.db.database.Database`."""

    def __init__(self, session: sessionmaker[Session]) -> None:
        self.session = session

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Session]:
        with self.session.begin() as session:
            yield session

    def _oldest_ids(
        self, stamp: InstrumentedAttribute[Any], when: float, limit: int, *where: Any
    ) -> list[str]:
        """Ids of the rows (of ``stamp``'s table) whose ``stamp`` is before ``when`` and that
        match ``where``, oldest first: what retention removes."""
        table = stamp.class_
        with self.session() as session:
            query = select(table.id).where(*where, stamp < when).order_by(stamp).limit(limit)
            return list(session.scalars(query))
