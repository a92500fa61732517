"""Finding 3 of issue 11, the policy of ``mjd up``'s supervisor, with real processes that exit
at once and the clock passed in: a worker that exits is started again after a doubling
backoff, the API exiting stops the stack, and only a crash loop (MAX_DEATHS exits of one
worker within DEATH_WINDOW seconds) stops it because of a worker."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from services.cli.launcher import DEATH_WINDOW, MAX_DEATHS, Child, Stack

EXITING = [sys.executable, "-c", "raise SystemExit(3)"]


def _restarts() -> float:
    value = REGISTRY.get_sample_value("mjd_worker_restarts_total", {"queue": "metrics"})
    return value or 0.0


@pytest.fixture
def stack() -> Iterator[Stack]:
    stack = Stack()
    yield stack
    stack.stop()


def _exited(child: Child) -> Child:
    assert child.process is not None
    child.process.wait(60)
    return child


def test_finding_3_a_worker_that_exits_is_restarted_until_a_crash_loop(stack):
    worker = Child("worker:metrics", EXITING, dict(os.environ), "metrics")
    worker.spawn()
    stack.children.append(_exited(worker))
    before = _restarts()
    now, delays = 0.0, []
    for _ in range(MAX_DEATHS - 1):
        assert stack.check(now) is None
        assert worker.restart_at is not None
        delays.append(worker.restart_at - now)
        now = worker.restart_at
        assert stack.check(now) is None  # due: started again
        assert worker.restart_at is None
        _exited(worker)
    assert delays == [1.0, 2.0, 4.0, 8.0]
    assert _restarts() - before == MAX_DEATHS - 1
    assert now < DEATH_WINDOW
    assert stack.check(now) == f"worker:metrics exited {MAX_DEATHS} times within 60 s"


def test_finding_3_exits_far_apart_are_not_a_crash_loop(stack):
    worker = Child("worker:metrics", EXITING, dict(os.environ), "metrics")
    worker.spawn()
    stack.children.append(_exited(worker))
    now = 0.0
    for _ in range(MAX_DEATHS + 2):
        assert stack.check(now) is None
        assert worker.restart_at == now + 1.0  # the backoff starts over
        now += 1.0
        stack.check(now)
        _exited(worker)
        now += DEATH_WINDOW + 1


def test_finding_3_the_api_exiting_stops_the_stack(stack):
    api = Child("api", EXITING, dict(os.environ))
    api.spawn()
    stack.children.append(_exited(api))
    assert stack.check(0.0) == "api exited (status 3)"
