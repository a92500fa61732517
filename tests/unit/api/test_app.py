"""The REST API over an in-memory job queue and a store in a temporary folder: every request
check, the job protocol as the API sees it, and the OpenAPI document. No Redis, no workers."""

from __future__ import annotations

import subprocess
import sys
import time

import msgspec
import pytest

from shared.method.runs import RunSpec
from shared.platform.artifacts import ArtifactStore
from shared.platform.db.database import Database
from tests.conftest import assert_problem as _problem

ITEM = {
    "premise": "A man sleeps.",
    "hypothesis": "A person rests.",
    "explanations": ["sleeping is resting"],
}


def test_datasets_inline_and_vendored(api):
    created = api.post("/v1/datasets", json={"instances": [ITEM], "name": "one"})
    assert created.status_code == 201
    body = created.json()
    assert body["instances"] == 1 and body["with_explanations"] == 1
    assert api.get(f"/v1/datasets/{body['id']}").json() == body
    vendored = api.post("/v1/datasets", json={"vendored": "explained"}).json()
    assert vendored["instances"] == 341 and vendored["with_human"] == 341
    assert api.get("/v1/datasets/nope").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instances": [{**ITEM, "premise": ""}]}, "instances[0].premise"),
        ({"instances": [{"premise": "P."}]}, "instances[0].hypothesis"),
        ({"instances": [{**ITEM, "probs": [0.5, 0.5, 0.5]}]}, "instances[0].probs"),
        ({"instances": []}, "instances"),
        ({"vendored": "nope"}, "vendored"),
        ({}, "instances"),
    ],
)
def test_bad_datasets_get_problem_details_naming_the_field(api, body, field):
    _problem(api.post("/v1/datasets", json=body), 422, field)


def test_unknown_fields_and_wrong_types_are_400_problems(api):
    _problem(api.post("/v1/datasets", json={"instances": "x"}), 400, "instances")
    _problem(api.post("/v1/datasets", json={"vendored": "dev", "colour": 1}), 400, "colour")
    _problem(api.get("/v1/jobs", params={"limit": "many"}), 400, "limit")
    body = _problem(api.post("/v1/mjd-jobs", json={"instances": [ITEM], "run": {"k": "four"}}), 400)
    assert "k" in body["field"]


def test_mjd_job_checks_k_and_run_before_queueing(api):
    _problem(
        api.post("/v1/mjd-jobs", json={"instances": [ITEM], "run": {"k": 4}}),
        422,
        "instances[0].explanations",
    )
    _problem(api.post("/v1/mjd-jobs", json={"instances": [ITEM], "run": {"k": 9}}), 422, "run.k")
    _problem(api.post("/v1/mjd-jobs", json={"dataset_id": "missing"}), 404, "dataset_id")


@pytest.mark.parametrize(
    ("run", "letters", "temperature"),
    [({}, "bare", 20.0), ({"letters": "both", "temperature": 1}, "both", 1.0)],
)
def test_an_mjd_job_sets_its_letters_and_stores_its_whole_run(
    api, database, run, letters, temperature
):
    """The defaults are the authors' (bare letters, T = 20), the old ones can be asked for;
    the stored run is complete, so the worker never fills in a default of its own."""
    created = api.post("/v1/mjd-jobs", json={"instances": [ITEM], "run": run})
    assert created.status_code == 202, created.text
    stored = database.jobs.get_job(created.json()["id"]).spec["run"]
    assert (stored["letters"], stored["temperature"]) == (letters, temperature)
    assert RunSpec.from_stored(stored) == RunSpec(letters=letters, temperature=temperature)


def test_an_unknown_letters_choice_is_refused_naming_the_field(api, queue):
    """Like every enum of a body (run.aggregation, run.backend), a value outside it is 400."""
    body = {"instances": [ITEM], "run": {"letters": "spaced"}}
    assert "'spaced'" in _problem(api.post("/v1/mjd-jobs", json=body), 400, "run.letters")["detail"]
    assert queue.submitted == []


def test_sync_metrics_and_its_row_limit(api, make_api, explained):
    human = [list(i.human.probs) for i in explained]
    uniform = [[1 / 3] * 3 for _ in explained]
    report = api.post("/v1/metrics", json={"human": human, "model": uniform, "bootstrap": 0}).json()
    assert round(report["kl"]["mean"], 4) == 0.3649 and report["n"] == 341
    _problem(
        api.post("/v1/metrics", json={"human": [[0.5, 0.5, 0.1]], "model": [[1, 0, 0]]}),
        422,
        "human[0]",
    )
    _problem(api.post("/v1/metrics", json={"human": human, "model": uniform[:3]}), 422, "model")
    with make_api(sync_metrics_max_rows=100) as limited:
        response = limited.post("/v1/metrics", json={"human": human, "model": uniform})
    assert _problem(response, 413, "human")["jobs_url"] == "/v1/metrics-jobs"


def test_unknown_jobs_routes_and_methods(api):
    _problem(api.get("/v1/jobs/nope"), 404)
    _problem(api.get("/v1/nothing-here"), 404)
    _problem(api.put("/v1/metrics", json={}), 405)
    assert api.get("/healthz").json() == {"status": "ok"}
    assert "paths" in api.get("/schema/openapi.json").json()


def test_upload_a_dataset_file_in_any_known_format(api):
    from shared.datasets import vendored_path

    with vendored_path("explained").open("rb") as handle:
        created = api.post("/v1/datasets/upload", files={"file": ("explained.jsonl", handle)})
    assert created.status_code == 201, created.text
    assert created.json()["instances"] == 341 and created.json()["name"] == "explained.jsonl"
    bad = b'{"premise": "P.", "hypothesis": "H.", "probs": [0.5, 0.5, 0.5]}\n'
    response = api.post("/v1/datasets/upload", files={"file": ("bad.jsonl", bad)})
    body = _problem(response, 422, "file.probs")
    assert "row 1" in body["detail"]
    _problem(api.post("/v1/datasets/upload", files={"file": ("x.txt", b"hello")}), 422, "file")
    _problem(api.post("/v1/datasets/upload", files={"other": ("a.jsonl", b"{}")}), 422, "file")
    binary = api.post("/v1/datasets/upload", files={"file": ("b.jsonl", b"\xff\xfe")})
    assert "UTF-8" in _problem(binary, 422, "file")["detail"]


def test_binary_form_field_without_a_filename_is_a_400_problem(api):
    png = b"\x89PNG\r\n\x1a\n"
    response = api.post("/v1/datasets/upload", files={"file": (None, png)})
    _problem(response, 400, "body")


def test_request_body_limit_is_413_problem(make_api):
    with make_api(max_body_bytes=2000) as client:
        big = {"instances": [ITEM] * 200}
        _problem(client.post("/v1/datasets", json=big), 413)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"data": {}}, 422, "data"),
        ({"data": {"vendored": "explained", "dataset_id": "x"}}, 422, "data"),
        ({"data": {"vendored": "nope"}}, 422, "data.vendored"),
        ({"data": {"dataset_id": "missing"}}, 404, "data.dataset_id"),
        ({"data": {"mjd_job_id": "missing"}}, 404, "data.mjd_job_id"),
        ({"data": {"vendored": "explained"}, "calibrate_on": 5}, 422, "calibrate_on"),
        ({"data": {"vendored": "explained"}, "train": {"epochs": 0}}, 422, "train.epochs"),
        (
            {"data": {"vendored": "explained"}, "train": {"early_stopping": "f1"}},
            400,  # a choice outside the schema's enum
            "train.early_stopping",
        ),
        ({"data": {"vendored": "explained"}, "dev": {"dataset_id": "nope"}}, 404, "dev.dataset_id"),
        ({"data": {"vendored": "explained"}, "train": {"lr": 1}}, 400, "lr"),
    ],
)
def test_training_jobs_are_checked_before_queueing(api, body, status, field):
    _problem(api.post("/v1/training-jobs", json=body), status, field)


def test_training_on_items_without_human_distributions_is_refused(api):
    dataset = api.post("/v1/datasets", json={"instances": [ITEM]}).json()
    _problem(
        api.post("/v1/training-jobs", json={"data": {"dataset_id": dataset["id"]}}), 422, "human"
    )


def test_a_submitted_job_is_recorded_queued_and_reported_from_the_store(api, queue, database):
    created = api.post("/v1/mjd-jobs", json={"instances": [ITEM]})
    assert created.status_code == 202, created.text
    job = created.json()
    assert created.headers["location"] == f"/v1/jobs/{job['id']}" == job["links"]["self"]
    assert queue.submitted == [("mjd", job["id"])]
    assert job["state"] == "QUEUED" and job["progress"] is None and job["attempts"] == 0
    database.jobs.start(job["id"])
    database.jobs.progress(job["id"], 3, 6)
    view = api.get(f"/v1/jobs/{job['id']}").json()
    assert view["state"] == "RUNNING" and view["progress"] == {"done": 3, "total": 6}
    assert view["attempts"] == 1 and view["started"] >= view["created"]
    _problem(api.get(f"/v1/jobs/{job['id']}/result"), 409, "job_id")
    cancelled = api.delete(f"/v1/jobs/{job['id']}")
    assert cancelled.status_code == 202 and queue.revoked == [job["id"]]
    assert cancelled.json()["state"] == "CANCELLED" and cancelled.json()["finished"]
    other = api.post("/v1/mjd-jobs", json={"instances": [ITEM]}).json()["id"]
    database.jobs.start(other)
    database.jobs.fail(other, "MemoryError: Unable to allocate 43.7 TiB")
    failed = api.get("/v1/jobs", params={"state": "FAILED"}).json()
    assert [j["id"] for j in failed["jobs"]] == [other]
    assert failed["jobs"][0]["error"].startswith("MemoryError")
    assert api.get("/v1/jobs", params={"state": "SUCCEEDED"}).json()["total"] == 0
    _problem(api.get("/v1/jobs", params={"state": "done"}), 400, "state")


def test_finding_2_a_failed_job_never_breaks_the_job_routes(api, database):
    """A job failed with an exception's text: every route about it answers (500 before)."""
    job = api.post("/v1/mjd-jobs", json={"instances": [ITEM]}).json()["id"]
    database.jobs.start(job)
    database.jobs.fail(job, "_ArrayMemoryError: Unable to allocate 43.7 TiB for an array")
    for route in ("/v1/jobs", "/v1/jobs?kind=mjd", "/v1/jobs?state=FAILED", f"/v1/jobs/{job}"):
        assert api.get(route).status_code == 200, route
    _problem(api.get(f"/v1/jobs/{job}/result"), 409, "job_id")
    assert api.delete(f"/v1/jobs/{job}").json()["state"] == "FAILED"


def test_a_dataset_answers_201_with_its_location(api):
    created = api.post("/v1/datasets", json={"instances": [ITEM]})
    assert created.headers["location"] == f"/v1/datasets/{created.json()['id']}"


def test_finding_5_a_submission_during_an_outage_leaves_no_ghost(api, queue):
    assert api.get("/readyz").json()["status"] == "ready"
    queue.available = False
    _problem(api.post("/v1/mjd-jobs", json={"instances": [ITEM]}), 503)
    assert api.get("/readyz").status_code == 503
    listed = api.get("/v1/jobs").json()["jobs"]  # the store answers while the queue is down
    assert [j["state"] for j in listed] == ["FAILED"] and "could not queue" in listed[0]["error"]
    queue.available = True
    queue.consumers = {"w@host": {"mjd"}}
    assert "metrics" in api.get("/readyz").json()["reason"]


def test_finding_5_jobs_whose_message_was_lost_are_requeued_once(
    make_api, queue, database, tmp_path
):
    from services.api.domain.jobs import JobService

    with make_api() as api:
        first, second = (api.post("/v1/mjd-jobs", json={"instances": [ITEM]}).json()["id"]
                         for _ in range(2))  # fmt: skip
    jobs = JobService(ArtifactStore(tmp_path), queue, database)
    queue.lost = {first}  # e.g. the embedded Redis restarted without it
    assert jobs.reconcile(grace=0) == {"requeued": 1, "failed": 0}
    assert queue.submitted[-1] == ("mjd", first) and database.jobs.get_job(first).requeued == 1
    assert jobs.reconcile(grace=0) == {"requeued": 0, "failed": 1}  # lost a second time
    assert (
        database.jobs.get_job(first).state == "FAILED"
        and database.jobs.get_job(second).state == "QUEUED"
    )


def test_the_app_module_loads_no_torch():
    code = (
        "import sys; from services.api.app import create_app; from shared.platform.queue import "
        "MemoryQueue; create_app(queue=MemoryQueue()); print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False", result.stderr


def test_finding_6_listing_is_one_paged_query_newest_first(api, database):
    created = [api.post("/v1/mjd-jobs", json={"instances": [ITEM]}).json()["id"] for _ in range(5)]
    listed = api.get("/v1/jobs", params={"limit": 2, "offset": 1}).json()
    assert listed["total"] == 5
    assert [j["id"] for j in listed["jobs"]] == created[::-1][1:3]
    assert api.get("/v1/jobs", params={"kind": "metrics"}).json() == {
        "total": 0, "offset": 0, "limit": 20, "jobs": []
    }  # fmt: skip


# ---------------------------------------------------------------- issue 11, findings 1 and 7

TWO_ROWS = {"human": [[1, 0, 0], [0, 1, 0]], "model": [[1, 0, 0], [0, 1, 0]]}
INLINE = {"distributions": [[1, 0, 0], [0, 1, 0]]}
LEGAL = {"data": {"vendored": "explained"}}


def test_finding_1_a_metrics_job_with_a_huge_bootstrap_is_refused_before_queueing(api, queue):
    """One request with bootstrap 10**12 killed the metrics worker (MemoryError)."""
    body = {"human": INLINE, "model": INLINE, "bootstrap": 1_000_000_000_000}
    _problem(api.post("/v1/metrics-jobs", json=body), 422, "bootstrap")
    _problem(api.post("/v1/metrics-jobs", json={**body, "bootstrap": 100_001}), 422, "bootstrap")
    assert queue.submitted == []
    accepted = api.post("/v1/metrics-jobs", json={**body, "bootstrap": 100_000})
    assert accepted.status_code == 202, accepted.text


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/metrics", {**TWO_ROWS, "seed": -1}, "seed"),  # answered 500
        ("/v1/metrics", {**TWO_ROWS, "seed": 2**32}, "seed"),
        ("/v1/metrics", {**TWO_ROWS, "bootstrap": -1}, "bootstrap"),
        ("/v1/metrics", {**TWO_ROWS, "bootstrap": 10_001}, "bootstrap"),
        ("/v1/metrics-jobs", {"human": INLINE, "model": INLINE, "seed": -1}, "seed"),
        ("/v1/metrics-jobs", {"human": INLINE, "model": INLINE, "bootstrap": -1}, "bootstrap"),
        ("/v1/mjd-jobs", {"instances": [ITEM], "run": {"seed": -1}}, "run.seed"),
        ("/v1/mjd-jobs", {"instances": [ITEM], "run": {"seed": 2**32}}, "run.seed"),
        ("/v1/mjd-jobs", {"instances": [ITEM], "run": {"max_orders": 10**9}}, "run.max_orders"),
        ("/v1/mjd-jobs", {"instances": [ITEM], "run": {"temperature": 1e9}}, "run.temperature"),
        ("/v1/training-jobs", {**LEGAL, "train": {"seed": -1}}, "train.seed"),
        ("/v1/training-jobs", {**LEGAL, "train": {"seed": 2**32}}, "train.seed"),
        ("/v1/training-jobs", {**LEGAL, "train": {"patience": 10**9}}, "train.patience"),
        ("/v1/training-jobs", {**LEGAL, "calibrate_on": 0}, "calibrate_on"),
    ],
)
def test_finding_7_every_numeric_knob_is_bounded_before_queueing(api, queue, path, body, field):
    _problem(api.post(path, json=body), 422, field)
    assert queue.submitted == []


DEEP_OBJECT = '{"x":' * 1000 + "0" + "}" * 1000
DEEP_ARRAY = "[" * 1000 + "]" * 1000
HUGE_INT = "9" * 5000
PAIR = '"premise":"P.","hypothesis":"H."'


@pytest.mark.parametrize(
    ("path", "text", "status", "field"),
    [
        ("/v1/datasets", f'{{"instances":[{{{PAIR},"extra":{DEEP_OBJECT}}}]}}', 400, "body"),
        ("/v1/mjd-jobs", f'{{"instances":[],"run":{DEEP_ARRAY}}}', 400, "body"),
        ("/v1/metrics", DEEP_ARRAY, 400, "body"),
        ("/v1/metrics", f'{{"human":[[1,0,0]],"seed":{HUGE_INT}}}', 400, "body"),
        ("a.jsonl", f'{{{PAIR},"n":{HUGE_INT}}}\n', 422, "file"),
        ("a.json", f'[{{{PAIR},"n":{HUGE_INT}}}]', 422, "file"),
        ("a.jsonl", f'{{{PAIR},"x":{DEEP_ARRAY}}}\n', 422, "file"),
        ("a.csv", "premise,hypothesis\nP.,H.\n" + "x" * 131_073 + ",H.\n", 422, "file"),
    ],
    ids=[
        "deep-instance",
        "deep-run",
        "deep-body",
        "huge-int-body",
        "huge-int-jsonl-upload",
        "huge-int-json-upload",
        "deep-jsonl-upload",
        "long-csv-field-upload",
    ],
)
def test_finding_7_deep_nesting_huge_integers_and_long_csv_fields_are_4xx_problems(
    api, path, text, status, field
):
    """Each answered 500: a RecursionError while decoding the body, Python's 4300-digit limit
    on int() in the JSON reader, the csv module's 131,072-character field limit."""
    if path.startswith("/"):
        response = api.post(path, content=text, headers={"content-type": "application/json"})
    else:
        response = api.post("/v1/datasets/upload", files={"file": (path, text.encode())})
    body = _problem(response, status, field)
    if path.endswith(".csv"):
        assert body["detail"].startswith("row 3:")


def test_finding_7_a_read_only_artifact_store_is_503_and_readyz_says_so(make_api, tmp_path, queue):
    """Writes were 500s while /readyz said ready. A store under a regular file cannot be
    written even by root (mkdir fails with NotADirectoryError)."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with make_api(artifacts_dir=blocker / "artifacts") as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "artifact store" in ready.json()["reason"]
        for response in (
            client.post("/v1/datasets", json={"instances": [ITEM]}),
            client.post("/v1/mjd-jobs", json={"instances": [ITEM]}),
        ):
            body = _problem(response, 503)
            assert body["detail"].startswith("the artifact store is not writable")
            assert str(tmp_path) not in response.text
    assert queue.submitted == []


def test_a_listing_offset_past_the_database_integer_is_a_400_problem(api):
    """Schemathesis found ``offset=10**20`` answered 500 (SQLite integer overflow)."""
    _problem(api.get("/v1/jobs", params={"offset": 10**20}), 400, "offset")
    assert api.get("/v1/jobs", params={"offset": 10**9}).json()["jobs"] == []


# ---------------------------------------------------------------- issue 11, finding 4


def finish_mjd_job(store: ArtifactStore, database: Database, job_id: str) -> None:
    """What the generator leaves when an MJD job succeeds (uniform MJDs, no LLM)."""
    from shared.platform import layout

    ids = [i.id for i in layout.job_input(store, job_id)]
    records = [{"id": i, "distribution": [1 / 3] * 3} for i in ids]
    summary = {
        "job_id": job_id, "kind": "mjd", "items": len(ids), "artifacts": [], "model": "uniform",
        "backend": "none", "seconds": {"model": 0.0, "generation": 0.0},
    }  # fmt: skip
    store.write_bytes(
        layout.JOBS,
        job_id,
        layout.MJD_RESULT,
        b"".join(msgspec.json.encode(r) + b"\n" for r in records),
    )
    store.write_json(layout.JOBS, job_id, layout.JOB_SUMMARY, summary)
    database.jobs.start(job_id)
    database.jobs.succeed(job_id, summary)


def test_finding_4_starting_again_resumes_the_bootstrap_instead_of_queueing_another(
    make_api, queue, database, tmp_path
):
    """Four `mjd up` used to queue four 2,046-prompt bootstrap jobs; the bootstrap is now
    recorded in the store, and each start goes on with the one in flight."""
    with make_api() as api:
        _problem(api.get("/v1/bootstrap"), 404)
        started = api.post("/v1/bootstrap", json={"items": 12})
        assert started.status_code == 202 and started.headers["location"] == "/v1/bootstrap"
        first = started.json()
        assert first["state"] == "GENERATING" and first["items"] == 12
        mjd_job = api.get(f"/v1/jobs/{first['mjd_job_id']}").json()
        assert mjd_job["priority"] == "background" and mjd_job["kind"] == "mjd"
    for _ in range(3):  # three more starts of the stack (a new app over the same store)
        with make_api() as api:
            assert api.post("/v1/bootstrap", json={"items": 12}).json() == first
    assert [kind for kind, _ in queue.submitted] == ["mjd"]

    finish_mjd_job(ArtifactStore(tmp_path / "artifacts"), database, first["mjd_job_id"])
    with make_api() as api:  # the API's reconciler queues the training at its start
        deadline = time.monotonic() + 60
        while not (training := api.get("/v1/bootstrap").json())["training_job_id"]:
            assert time.monotonic() < deadline, training
            time.sleep(0.05)
        assert training["state"] == "TRAINING"
        assert api.post("/v1/bootstrap", json={}).json() == training
        spec = database.jobs.get_job(training["training_job_id"]).spec
        assert spec["data"] == {"mjd_job_id": first["mjd_job_id"]} and spec["promote"] is True
        assert spec["calibrate_on"] == 4
    assert [kind for kind, _ in queue.submitted] == ["mjd", "training"]


def test_a_failed_bootstrap_says_why_and_the_next_start_begins_a_new_one(api, database):
    first = api.post("/v1/bootstrap", json={"items": 8}).json()
    database.jobs.start(first["mjd_job_id"])
    database.jobs.fail(first["mjd_job_id"], "MemoryError")
    failed = api.get("/v1/bootstrap").json()
    assert failed["state"] == "FAILED" and "MemoryError" in failed["error"]
    second = api.post("/v1/bootstrap", json={"items": 8}).json()
    assert second["number"] == first["number"] + 1 and second["state"] == "GENERATING"


@pytest.mark.parametrize("items", [0, 7, 342, 10**30])
def test_bootstrap_items_are_bounded(api, items):
    _problem(api.post("/v1/bootstrap", json={"items": items}), 422, "items")


def test_no_bootstrap_while_a_student_is_promoted(make_api, tmp_path, database):
    from shared.platform.registry import ModelRegistry

    with make_api() as api:
        registry = ModelRegistry(ArtifactStore(tmp_path / "artifacts"), database)
        registry.publish(registry.claim_version(), {"base_model": "test"})
        registry.promote("v1")
        _problem(api.post("/v1/bootstrap", json={}), 409)
