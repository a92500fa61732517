"""A store written by mjd 0.1.0 (tests/fixtures/make_store_0_1_0.py, main at d272b19) opens
with today's code, on SQLite and PostgreSQL, and every record in it reads as it did then."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import create_engine

from services.api.domain.jobs import job_view
from services.api.model_schemas import ModelView
from services.api.schemas import convert
from shared.contracts import KINDS, decode_spec
from shared.platform.db.database import Database, current_revision
from shared.platform.db.jobs import JobState
from shared.tasks import NLI
from tests.conftest import POSTGRES_ADMIN_URL
from tests.databases import scratch_database

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store_0_1_0"
SUMMARIES = {str(kind): row.summary for kind, row in KINDS.items()}


def _load_dump(url: str) -> None:
    """Run the plain SQL dump on the empty database at ``url``."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql((FIXTURE / "postgres.sql").read_text())
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def old_store(request, tmp_path) -> Iterator[tuple[Database, dict[str, Any]]]:
    """Today's store over a copy of the 0.1.0 one, and what 0.1.0 read from it."""
    expected = json.loads((FIXTURE / f"expected_{request.param}.json").read_text())
    if request.param == "sqlite":
        shutil.copy(FIXTURE / "mjd.db", tmp_path / "mjd.db")
        store = Database(f"sqlite:///{tmp_path / 'mjd.db'}")
        yield store, expected
        store.close()
        return
    with scratch_database(POSTGRES_ADMIN_URL, "mjd_store_0_1_0") as url:
        _load_dump(url)
        store = Database(url)
        try:
            yield store, expected
        finally:
            store.close()


def _plain(value: Any) -> Any:
    """A record as its JSON (tuples become lists), to compare with the expected file; the
    ``task`` that 0.1.0 had not (every record of it is NLI's) is checked, then left out."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)  # type: ignore[arg-type]
        if "task" in value:
            assert value.pop("task") == "nli@1"
    return json.loads(json.dumps(value))


def test_the_schema_is_at_the_revision_0_1_0_left(old_store):
    store, _ = old_store
    assert current_revision(store.engine) == "0005"


def test_every_job_reads_as_it_did_with_its_typed_summary(old_store):
    store, expected = old_store
    total, jobs = store.jobs.list_jobs(None, None, 1000, 0)
    assert total == 21 and [_plain(job) for job in jobs] == expected["jobs"]
    assert [_plain(store.jobs.get_job(job.id)) for job in jobs] == expected["jobs"]
    states = Counter((job.kind, job.state) for job in jobs)
    for kind in SUMMARIES:
        for state in JobState:
            assert states[(kind, state)] == (2 if (kind, state) == ("mjd", "QUEUED") else 1)
    for job in jobs:
        # as a worker reads it: every stored spec decodes through its kind's spec type
        spec = decode_spec(job.kind, job.spec)
        assert isinstance(spec, KINDS[job.kind].spec) and spec.task == NLI
        view = job_view(job)  # as GET /v1/jobs/{id} shows it
        assert view.task == "nli@1"
        if job.state == JobState.SUCCEEDED:
            assert isinstance(view.summary, SUMMARIES[job.kind]) and view.summary.items == 2
            assert view.progress is not None and view.progress.done == 2
        else:
            assert view.summary is None
        if job.state == JobState.FAILED:
            assert job.error == f"{job.kind} worker: ValueError: no such thing"
    training = next(j for j in jobs if j.kind == "training" and j.state == JobState.SUCCEEDED)
    summary = job_view(training).summary
    assert summary.version == "v1" and summary.warnings == ["a dev set of 2 items"]
    assert summary.dev.dcorr == 0.5
    assert store.jobs.waiting("mjd", "background") == 1 and store.jobs.waiting("metrics") == 1


def test_every_dataset_and_the_bootstrap_read_as_they_did(old_store):
    store, expected = old_store
    ids = store.datasets.datasets_before(float("inf"))
    datasets = [store.datasets.get_dataset(i) for i in ids]
    assert [_plain(d) for d in datasets] == expected["datasets"]
    assert sorted((d.name, d.instances, d.with_human, d.with_explanations) for d in datasets) == [
        ("bootstrap", 8, 8, 8),
        ("explained", 341, 341, 341),
        ("inline", 1, 0, 1),
    ]
    bootstrap = store.bootstraps.latest_bootstrap()
    assert _plain(bootstrap) == expected["bootstrap"] and bootstrap.items == 8
    assert store.jobs.get_job(bootstrap.mjd_job_id).priority == "background"


def test_every_model_and_key_read_as_they_did(old_store):
    store, expected = old_store
    models = store.models.list_models()
    assert models == expected["models"] and [m["version"] for m in models] == ["v2", "v1"]
    assert store.models.get_model("v1") == models[1]
    assert [convert(m, ModelView).version for m in models] == ["v2", "v1"]
    assert list(store.models.promoted_model()) == expected["promoted"]
    assert store.models.promoted_model()[0] == "v1"
    keys = store.keys.list_keys()
    assert [_plain(key) for key in keys] == expected["keys"]
    assert [(k.name, k.scopes, k.revoked is None) for k in keys] == [
        ("admin", ("admin",), True),
        ("client", ("read", "submit"), True),
        ("gone", ("read",), False),
    ]
    assert store.keys.get_key(keys[0].id) == keys[0] and store.keys.active_keys() == 2
    assert msgspec.json.decode(msgspec.json.encode(models[0]))["files"]
