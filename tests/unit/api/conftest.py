"""Fixtures of the API's unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.db.store import JobStore


@pytest.fixture
def database(tmp_path) -> Iterator[JobStore]:
    """An embedded job store of the test's own."""
    db = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield db
    db.close()
