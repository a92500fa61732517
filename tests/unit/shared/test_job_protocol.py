"""The job protocol around every task body, run by a real Celery app in eager mode over a
real (SQLite) job store: failures of any kind end the job, not the worker; deliveries past
MJD_MAX_ATTEMPTS give up; a finished job is left alone; cancellation stops the work."""

from __future__ import annotations

import pytest

from shared.contracts import JobKind
from shared.platform import jobs
from shared.platform.celery_app import create_celery


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    jobs.settings.cache_clear()
    jobs.store.cache_clear()
    celery = create_celery("protocol-test", jobs.settings(), "memory://")
    celery.conf.update(task_always_eager=True, result_backend="cache+memory://")
    yield celery
    jobs.settings.cache_clear()
    jobs.store.cache_clear()


def _recorder(app, ran: list[str]):
    """A task whose body notes each job it runs and succeeds."""

    def record(task, job_id, spec):
        ran.append(job_id)
        return {"artifacts": []}

    return _task(app, record)


def _task(app, body):
    return jobs.job_task(app, JobKind.METRICS)(body)


def _deep(depth: int) -> int:
    return _deep(depth + 1)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (lambda: bytearray(1 << 62), "MemoryError"),
        (lambda: _deep(0), "RecursionError"),
        (lambda: {}["missing"], "KeyError: 'missing'"),
    ],
)
def test_finding_1_every_exception_of_a_body_fails_the_job_with_its_text(app, error, expected):
    def explode(task, job_id, spec):
        error()

    task = _task(app, explode)
    jobs.database().jobs.create_job("j1", "metrics", {})
    task.delay("j1")  # returns: the exception never reaches Celery (nor kills a worker)
    job = jobs.database().jobs.get_job("j1")
    assert job.state == "FAILED" and job.error.startswith(expected), job.error
    assert job.attempts == 1 and job.finished is not None


def test_a_job_delivered_more_than_max_attempts_gives_up(app):
    ran: list[str] = []
    task = _recorder(app, ran)
    database = jobs.database()
    database.jobs.create_job("j2", "metrics", {})
    for _ in range(jobs.settings().max_attempts):  # three deliveries whose worker died
        database.jobs.start("j2")
    task.delay("j2")
    job = database.jobs.get_job("j2")
    assert job.state == "FAILED" and "gave up after 3 attempts" in job.error and not ran


def test_a_finished_or_cancelled_job_is_left_alone(app):
    ran: list[str] = []
    task = _recorder(app, ran)
    database = jobs.database()
    database.jobs.create_job("done", "metrics", {})
    task.delay("done")
    assert database.jobs.get_job("done").state == "SUCCEEDED" and ran == ["done"]
    task.delay("done")  # a redelivered copy
    database.jobs.create_job("gone", "metrics", {})
    database.jobs.cancel("gone")
    task.delay("gone")
    assert ran == ["done"] and database.jobs.get_job("done").attempts == 1


def test_cancelling_a_running_job_stops_it_at_its_next_progress_report(app):
    def work(task, job_id, spec):
        report = jobs.progress_reporter(job_id, every=0)
        report(1, 10)
        jobs.database().jobs.cancel(job_id)  # as the API does, while the task runs
        report(2, 10)
        raise AssertionError("the task went on after its job was cancelled")

    task = _task(app, work)
    jobs.database().jobs.create_job("j3", "metrics", {})
    task.delay("j3")
    job = jobs.database().jobs.get_job("j3")
    assert job.state == "CANCELLED" and (job.done, job.total) == (1, 10)


def test_a_malformed_or_unknown_stored_spec_fails_its_job_naming_the_field(app):
    """Before: workers read specs as dicts, so a bad one was a KeyError or a TypeError deep
    inside the body."""
    ran: list[str] = []
    task = _recorder(app, ran)
    database = jobs.database()
    database.jobs.create_job("bad", "metrics", {"bootstrap": "many"})
    database.jobs.create_job("odd", "shapes", {})
    for job_id in ("bad", "odd"):
        task.delay(job_id)
    bad, odd = database.jobs.get_job("bad"), database.jobs.get_job("odd")
    assert bad.state == odd.state == "FAILED" and not ran
    assert "field 'bootstrap'" in bad.error and "Expected `int`, got `str`" in bad.error
    assert "field 'kind'" in odd.error and "unknown job kind 'shapes'" in odd.error
