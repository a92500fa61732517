"""Honest job views and errors (issue 13, "a new user's first hour"): a succeeded job shows
done == total, no view carries a worker's process id, every error body has ``field``, and
``mjd up`` follows a bootstrap to the last line of each step. Jobs move through the real job
store as a worker moves them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.cli.bootstrap_follower import watch_bootstrap
from shared.platform.artifacts import ArtifactStore
from tests.conftest import assert_problem
from tests.unit.api.test_app import ITEM, finish_mjd_job

TWO = [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]


def mjd_summary(job_id: str) -> dict[str, Any]:
    return {
        "job_id": job_id, "kind": "mjd", "items": 1, "model": "m", "backend": "local",
        "artifacts": [], "seconds": {"model": 0.0, "generation": 0.0},
    }  # fmt: skip


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def test_a_succeeded_job_keeps_its_final_progress(api, database):
    """`GET /v1/jobs/<id>` of a succeeded job said `"progress": null`: a metrics job without
    a bootstrap reports none while it runs."""
    body = {"human": {"distributions": TWO}, "model": {"distributions": TWO}, "bootstrap": 0}
    job = api.post("/v1/metrics-jobs", json=body).json()["id"]
    database.jobs.start(job)
    assert api.get(f"/v1/jobs/{job}").json()["progress"] is None  # running: nothing known
    summary = {
        "job_id": job, "kind": "metrics", "items": 2, "artifacts": [], "seconds": 0.1,
        "summary_row": {"kl": 0.0, "jsd": 0.0, "tvd": 0.0, "dcorr": 1.0},
    }  # fmt: skip
    database.jobs.succeed(job, summary)
    assert api.get(f"/v1/jobs/{job}").json()["progress"] == {"done": 2, "total": 2}

    reported = api.post("/v1/mjd-jobs", json={"instances": [ITEM]}).json()["id"]
    database.jobs.start(reported)
    database.jobs.progress(reported, 5, 6)  # its last report before the end was throttled
    database.jobs.succeed(reported, mjd_summary(reported))
    listed = api.get("/v1/jobs", params={"state": "SUCCEEDED"}).json()["jobs"]
    assert {j["id"]: j["progress"] for j in listed} == {
        job: {"done": 2, "total": 2},
        reported: {"done": 6, "total": 6},
    }


def test_no_job_view_names_a_worker_process(api, database):
    """A job view exposed the worker's `pid`: views carry the store's fields only."""
    views = []
    for end in ("queued", "running", "succeeded", "failed"):
        job = api.post("/v1/mjd-jobs", json={"instances": [ITEM]}).json()["id"]
        if end != "queued":
            database.jobs.start(job)
            database.jobs.progress(job, 1, 6)
        if end == "succeeded":
            database.jobs.succeed(job, mjd_summary(job))
        if end == "failed":
            database.jobs.fail(job, "gave up after 3 attempts (the worker stopped each time)")
        views.append(api.get(f"/v1/jobs/{job}").json())
    views.append(api.get("/v1/jobs").json())
    keys = set(_keys(views))
    assert {"id", "state", "progress", "attempts"} <= keys
    assert not keys & {"pid", "hostname", "host", "worker"}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("get", "/v1/jobs/nope", None, 404, "job_id"),
        ("post", "/v1/predict", {"instances": [{"premise": "P.", "hypothesis": "H."}]}, 503,
         "model"),
        ("post", "/v1/predict", {"instances": [{"premise": "P."}]}, 400,
         "instances[0].hypothesis"),
        ("post", "/v1/predict", {"instances": []}, 422, "instances"),
        ("get", "/v1/bootstrap", None, 404, None),
        ("get", "/v1/no-such-route", None, 404, None),
        ("put", "/v1/jobs", None, 405, None),
    ],
)  # fmt: skip
def test_every_error_body_has_field(api, method, path, body, status, field):
    """The README says every error names its field; `/v1/predict`'s 503 had none. Where no
    part of the request is at fault the field is there and null."""
    kwargs = {} if body is None else {"json": body}
    problem = assert_problem(getattr(api, method)(path, **kwargs), status)
    assert "field" in problem and problem["field"] == field, problem


def test_a_missing_key_is_named_as_the_authorization_header(make_api):
    with make_api(auth="required") as api:
        problem = assert_problem(api.get("/v1/jobs"), 401)
        assert problem["field"] == "authorization"


def test_following_a_bootstrap_ends_each_step_on_its_last_line(api, database, tmp_path, capsys):
    """`mjd up` stopped following when the bootstrap ended, between two polls: the last
    `72/72` line never printed."""
    started = api.post("/v1/bootstrap", json={"items": 8}).json()
    store = ArtifactStore(tmp_path / "artifacts")
    mjd = started["mjd_job_id"]

    def worker() -> Iterator[None]:
        """One step of the workers per poll, as far as a poll of one second might see."""
        database.jobs.start(mjd)
        database.jobs.progress(mjd, 30, 48)
        yield
        finish_mjd_job(store, database, mjd)  # done between two polls
        yield
        training = api.get("/v1/bootstrap").json()["training_job_id"]
        assert training  # queued by the poll that saw the MJDs done
        database.jobs.start(training)
        database.jobs.progress(training, 5, 40)
        yield
        database.jobs.succeed(training, {
            "job_id": training, "kind": "training", "version": "v1", "promoted": True,
            "items": 6, "best_epoch": 1, "parity_max_abs_diff": 0.0, "artifacts": [],
            "seconds": 1.0, "dev": {"kl": 0.1, "jsd": 0.1, "tvd": 0.1, "dcorr": 0.5},
        })  # fmt: skip
        yield

    steps = worker()
    ended = watch_bootstrap(api, started, wait=lambda _: next(steps))
    assert ended["state"] == "SUCCEEDED" and ended["version"] == "v1"
    err = capsys.readouterr().err.splitlines()
    mjd_lines = [line for line in err if line.startswith("MJD prompts")]
    training_lines = [line for line in err if line.startswith("training steps")]
    assert " 30/48 " in mjd_lines[0] and " 48/48 " in mjd_lines[-1], err
    assert " 5/40 " in training_lines[0] and " 40/40 " in training_lines[-1], err


def test_a_long_bootstrap_says_once_how_to_start_a_smaller_one(api, database, capsys):
    """A bootstrap that took hours on a busy machine never suggested `--bootstrap-items`."""
    started = api.post("/v1/bootstrap", json={"items": 40}).json()  # 240 prompts
    mjd = started["mjd_job_id"]
    now = [0.0]

    def worker() -> Iterator[None]:
        database.jobs.start(mjd)
        database.jobs.progress(mjd, 0, 240)
        for done in (1, 2, 3):  # a prompt a minute: hours to go
            yield
            database.jobs.progress(mjd, done, 240)
        yield
        database.jobs.fail(mjd, "cancelled")  # ends the watch
        yield

    def wait(seconds: float) -> None:
        now[0] += 60
        next(steps)

    steps = worker()
    ended = watch_bootstrap(api, started, wait=wait, clock=lambda: now[0])
    assert ended["state"] == "FAILED"
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert len(notes) == 1, notes
    assert f"curl -X DELETE http://testserver.local/v1/jobs/{mjd})" in notes[0]
    assert "`mjd up --bootstrap-items 8` (make run BOOTSTRAP_ITEMS=8)" in notes[0]
