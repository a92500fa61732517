"""What every repository of the job store shares: the database's sessions, one short
transaction per change (so the API, the workers and the reconciler share the store from many
processes)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.orm import Session, sessionmaker


class Repository:
    """One kind of record over the sessions of a :class:`shared.platform.db.database.Database`."""

    def __init__(self, session: sessionmaker[Session]) -> None:
        self.session = session

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Session]:
        with self.session.begin() as session:
            yield session
