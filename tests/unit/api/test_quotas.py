"""Issue 12: quotas, deletion and retention. Three 19 MB uploads stored 72 MB, each model
version added 109 MB, and nothing could be deleted."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from services.api.app import create_app
from services.api.domain.retention import DAY, Retention
from shared.platform.artifacts import ArtifactStore
from shared.platform.auth import Scope
from shared.platform.queue import MemoryQueue
from shared.platform.registry import ModelRegistry
from shared.platform.settings import Settings
from tests.conftest import assert_problem, make_key
from tests.unit.api.test_auth import ITEM


@pytest.fixture
def store(tmp_path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def api(tmp_path, database, store) -> Iterator[TestClient]:
    settings = dataclasses.replace(
        Settings.from_env(), artifacts_dir=store.root, auth="required", max_dataset_rows=5
    )
    with TestClient(app=create_app(settings, store, MemoryQueue(), database)) as client:
        yield client


def test_datasets_and_inline_jobs_have_a_row_quota(api, database):
    admin = make_key(database, Scope.ADMIN)
    six = [{**ITEM, "id": f"i{n}"} for n in range(6)]
    assert_problem(
        api.post("/v1/datasets", json={"instances": six}, headers=admin), 413, "instances"
    )
    assert_problem(
        api.post("/v1/mjd-jobs", json={"instances": six}, headers=admin), 413, "instances"
    )
    lines = "".join(f'{{"premise": "P{n}.", "hypothesis": "H."}}\n' for n in range(6))
    upload = api.post(
        "/v1/datasets/upload", files={"file": ("six.jsonl", lines.encode())}, headers=admin
    )
    assert_problem(upload, 413, "file")
    assert api.post("/v1/datasets", json={"instances": six[:5]}, headers=admin).status_code == 201


def test_a_dataset_is_deleted_by_its_owner_or_an_admin(api, database, store):
    alice, bob = make_key(database, Scope.SUBMIT), make_key(database, Scope.SUBMIT)
    dataset = api.post("/v1/datasets", json={"instances": [ITEM]}, headers=alice).json()["id"]
    assert store.folder("datasets", dataset).is_dir()
    assert_problem(api.delete(f"/v1/datasets/{dataset}", headers=bob), 404)
    assert api.delete(f"/v1/datasets/{dataset}", headers=alice).status_code == 204
    assert_problem(api.get(f"/v1/datasets/{dataset}", headers=alice), 404)
    assert not store.folder("datasets", dataset).exists()


def test_a_finished_job_is_purged_an_unfinished_one_is_not(api, database, store):
    alice = make_key(database, Scope.SUBMIT)
    job = api.post("/v1/mjd-jobs", json={"instances": [ITEM]}, headers=alice).json()["id"]
    assert_problem(api.delete(f"/v1/jobs/{job}?purge=true", headers=alice), 409, "job_id")
    database.jobs.start(job)
    database.jobs.succeed(job, {"artifacts": []})
    assert api.delete(f"/v1/jobs/{job}?purge=true", headers=alice).status_code == 204
    assert_problem(api.get(f"/v1/jobs/{job}", headers=alice), 404)
    assert not store.folder("jobs", job).exists()


def test_a_model_version_is_deleted_unless_it_is_served(api, database, store):
    registry = ModelRegistry(store, database)
    for _ in range(2):
        registry.publish(registry.claim_version(), {"base_model": "test"})
    registry.promote("v1")
    admin, submit = make_key(database, Scope.ADMIN), make_key(database, Scope.SUBMIT)
    assert_problem(api.delete("/v1/models/v2", headers=submit), 403)
    assert_problem(api.delete("/v1/models/v1", headers=admin), 409, "version")
    assert_problem(api.delete("/v1/models/v9", headers=admin), 404)
    assert api.delete("/v1/models/v2", headers=admin).status_code == 204
    assert [m["version"] for m in registry.versions()] == ["v1"]
    assert not store.folder("models", "v2").exists()


def test_retention_deletes_old_finished_jobs_and_datasets_and_reports_the_size(database, store):
    from services.api.observability import ARTIFACTS_BYTES
    from shared.platform.db.datasets import Dataset

    for job_id in ("done", "running"):
        database.jobs.create_job(job_id, "mjd", {})
        store.write_bytes("jobs", job_id, "input.jsonl", b"x" * 100)
        database.jobs.start(job_id)
    database.jobs.succeed("done", {})
    database.datasets.add_dataset(Dataset("d1", None, 1, 0, 0, time.time()))
    store.write_bytes("datasets", "d1", "instances.jsonl", b"y" * 10)
    retention = Retention(store, database, days=30)
    assert retention.run() == {"jobs": 0, "datasets": 0}  # nothing is 30 days old yet
    assert retention.run(now=time.time() + 31 * DAY) == {"jobs": 1, "datasets": 1}
    assert database.jobs.get_job("done") is None and database.jobs.get_job("running") is not None
    assert not store.folder("jobs", "done").exists() and store.folder("jobs", "running").is_dir()
    assert ARTIFACTS_BYTES._value.get() == store.size() == 100
    assert Retention(store, database, days=0).run(now=time.time() + 999 * DAY) == {
        "jobs": 0, "datasets": 0
    }  # fmt: skip
