"""Issue 12: what the API gives away and what a burst of probes costs. Errors carry no
broker address or host names and repeat at most a few dozen characters of a request's own
values; 200 concurrent /readyz make one readiness check, and other routes keep answering
while it runs."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import httpx
import pytest

from services.api.app import create_app
from shared.platform.artifacts import ArtifactStore
from shared.platform.db.database import Database
from shared.platform.queue import CeleryQueue, MemoryQueue, QueueUnavailable
from shared.platform.settings import Settings

HUGE = "a" * 60_000


def settings_for(tmp_path, **changes) -> Settings:
    return dataclasses.replace(
        Settings.from_env(), artifacts_dir=tmp_path / "artifacts", auth="off", **changes
    )


def app_for(tmp_path, queue, **changes):
    settings = settings_for(tmp_path, **changes)
    database = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    return create_app(settings, ArtifactStore(settings.artifacts_dir), queue, database)


def test_an_unreachable_broker_is_not_named(tmp_path):
    queue = CeleryQueue(settings_for(tmp_path, redis_url="redis://127.0.0.1:9/0"))
    for attempt in (queue.ping, lambda: queue.submit("mjd", "job1"), queue.pending):
        with pytest.raises(QueueUnavailable) as raised:
            attempt()
        assert "127.0.0.1" not in str(raised.value) and ":9" not in str(raised.value)


@pytest.mark.parametrize(
    "path", ["/v1/jobs/", "/v1/datasets/", "/v1/models/", "/v1/jobs/x/artifacts/"]
)
def test_a_60_kb_value_is_not_echoed_back(tmp_path, path):
    from litestar.testing import TestClient

    with TestClient(app_for(tmp_path, MemoryQueue())) as api:
        answer = api.get(path + HUGE)
        assert answer.status_code in (400, 404), answer.text[:200]
        assert len(answer.text) < 400


def test_readiness_names_no_hosts(tmp_path):
    from litestar.testing import TestClient

    queue = MemoryQueue(consumers={"mjd@secret-host-7": {"mjd", "metrics", "training"}})
    with TestClient(app_for(tmp_path, queue)) as api:
        ready = api.get("/readyz")
        assert ready.json()["workers"] == {"mjd": 1, "metrics": 1, "training": 1}
        assert "secret-host" not in ready.text


class SlowQueue(MemoryQueue):
    """Its workers() (a Celery inspect, about a second on a real broker) waits for a test
    to release it, and counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def workers(self) -> dict[str, set[str]]:
        self.calls += 1
        self.entered.set()
        self.release.wait(30)
        return super().workers()


def test_200_concurrent_readyz_make_one_check_and_other_routes_answer(tmp_path):
    """Each probe used to hold a worker thread through its own inspect: 200 of them
    starved the thread pool and GET /v1/models took 33 s."""
    queue = SlowQueue()
    app = app_for(tmp_path, queue)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mjd") as http:
            probes = [asyncio.create_task(http.get("/readyz")) for _ in range(200)]
            assert await asyncio.to_thread(queue.entered.wait, 30)
            models = await asyncio.wait_for(http.get("/v1/models"), 30)
            assert models.status_code == 200 and not queue.release.is_set()
            queue.release.set()
            return await asyncio.gather(*probes)

    answers = asyncio.run(burst())
    assert {a.status_code for a in answers} == {200} and queue.calls == 1


@pytest.mark.parametrize("base", ["/etc", "../../../../root", "artifacts/models/v1", "gpt2"])
def test_a_base_model_is_a_name_from_the_allow_list_never_a_path(tmp_path, base):
    """train.base_model used to take any server path: a filesystem probe, and any folder
    with a config.json was loaded."""
    from litestar.testing import TestClient

    from shared.training import BASE_MODELS

    queue = MemoryQueue()
    with TestClient(app_for(tmp_path, queue)) as api:
        body = {"data": {"vendored": "explained"}, "train": {"base_model": base}}
        answer = api.post("/v1/training-jobs", json=body)
        assert answer.status_code == 422 and answer.json()["field"] == "train.base_model"
        assert base not in answer.text
        assert queue.submitted == []
        body["train"]["base_model"] = next(iter(BASE_MODELS))
        assert api.post("/v1/training-jobs", json=body).status_code == 202
