"""The job store's database: one engine and its sessions, the schema's migrations (one
migrating process at a time) and a repository for each kind of record. Jobs, datasets, the
student bootstrap, model versions and API keys live here; their files stay in the artifact
store."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from shared.platform.db.bootstraps import BootstrapRepository
from shared.platform.db.datasets import DatasetRepository
from shared.platform.db.jobs import JobRepository
from shared.platform.db.keys import KeyRepository
from shared.platform.db.model_versions import ModelRepository
from shared.platform.db.models import JobRow
from shared.platform.db.tasks import TaskRepository

MIGRATIONS = Path(__file__).with_name("migrations")


def _engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(  # an unreachable server is an error in seconds, not a hang
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            connect_args={"connect_timeout": 5},
        )
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _: Any) -> None:  # many processes share one file
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """One migrating process at a time (the API and every worker upgrade at start)."""
    if engine.dialect.name == "sqlite":
        database = make_url(str(engine.url)).database
        if not database or database == ":memory:":  # one process owns it
            yield
            return
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        with open(f"{database}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(727274)"))
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(727274)"))


def migrate(engine: Engine, revision: str = "head", *, down: bool = False) -> None:
    """Upgrade (or downgrade) the schema to ``revision``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _migration_lock(engine), engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class Database:
    """The job store over one database, a repository for each kind of record; safe to share
    between threads."""

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        self.url = url
        self.engine = _engine(url)
        if upgrade:
            migrate(self.engine)
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        self.jobs = JobRepository(self.session)
        self.datasets = DatasetRepository(self.session)
        self.bootstraps = BootstrapRepository(self.session)
        self.models = ModelRepository(self.session)
        self.keys = KeyRepository(self.session)
        self.tasks = TaskRepository(self.session)

    def close(self) -> None:
        self.engine.dispose()

    def writable(self) -> bool:
        """Whether a write goes through (for readiness)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(update(JobRow).where(JobRow.id == "").values(attempts=0))
        except Exception:  # any driver or file error means not ready
            return False
        return True
