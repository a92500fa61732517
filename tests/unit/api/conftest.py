"""Fixtures of the API's unit tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from litestar.testing import TestClient

from services.api.app import create_app
from shared.platform.artifacts import ArtifactStore
from shared.platform.db.database import Database
from shared.platform.queue import MemoryQueue
from shared.platform.settings import Settings


@pytest.fixture
def database(tmp_path) -> Iterator[Database]:
    """An embedded job store of the test's own."""
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield db
    db.close()


@pytest.fixture
def queue() -> MemoryQueue:
    return MemoryQueue()


@pytest.fixture
def make_api(tmp_path, queue, database) -> Callable[..., AbstractContextManager[TestClient]]:
    """A test client of an app over ``queue``, ``database`` and a fresh artifact store;
    keyword arguments replace settings."""

    @contextmanager
    def make(**changes: Any) -> Iterator[TestClient]:
        changes = {
            "artifacts_dir": tmp_path / "artifacts",
            "auth": "off",
            "ready_cache_seconds": 0.0,
            **changes,
        }
        settings = dataclasses.replace(Settings.from_env(), **changes)
        store = ArtifactStore(settings.artifacts_dir)
        app = create_app(settings=settings, store=store, queue=queue, database=database)
        with TestClient(app=app) as client:
            yield client

    return make


@pytest.fixture
def api(make_api) -> Iterator[TestClient]:
    with make_api() as client:
        yield client
