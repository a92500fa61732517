"""Explanation jobs through the API (issue 14, item 3), over an in-memory queue: every knob
bounded and every item's labels checked before queueing, the job recorded and queued on the
generation queue, cancelled while queued, its result downloadable, and a finished one taken
by an MJD job as its items. The worker and the real LLM run in
tests/integration/test_explanation_jobs.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from services.api.auth import SCOPE
from shared.labels import Label
from shared.method.explanations import (
    MAX_GIVEN_LABELS,
    MAX_NEW_TOKENS,
    MAX_PER_LABEL,
    MAX_TEMPERATURE,
    ExplainSpec,
    explain,
    plan,
)
from shared.platform import layout
from shared.platform.artifacts import ArtifactStore
from shared.platform.auth import Scope
from shared.platform.db.database import Database
from tests.conftest import assert_problem, make_key

#: one item with a labels list, one whose labelled explanation gives its label
ITEMS = [
    {"id": "a", "premise": "A man sleeps.", "hypothesis": "A person rests.", "labels": ["e", "n"]},
    {
        "id": "b",
        "premise": "A dog runs.",
        "hypothesis": "A cat sleeps.",
        "explanations": [{"text": "a dog is not a cat", "label": "contradiction"}],
    },
]
UNLABELLED = {"id": "c", "premise": "It rains.", "hypothesis": "The street is wet."}
#: what the LLM answers to every prompt in these tests (the worker's own LLM runs elsewhere)
ANSWER = "Here are some reasons:\n- the first reason\n- a second, longer reason"


def submit(api: TestClient, headers: dict[str, str] | None = None, **body: object):
    return api.post("/v1/explanation-jobs", json={"instances": ITEMS, **body}, headers=headers)


def finish(store: ArtifactStore, database: Database, job_id: str) -> None:
    """What the generator leaves when an explanation job succeeds, with :data:`ANSWER` as
    the LLM's text for every prompt."""
    spec = ExplainSpec.from_json(database.jobs.get_job(job_id).spec["explain"])
    instances = layout.job_input(store, job_id)
    given = plan(instances, spec, layout.job_labels(store, job_id))
    records = list(
        explain(
            instances,
            given,
            lambda prompts, _decoding, _progress: [ANSWER] * len(prompts),
            spec,
            run={"backend": "none", "model": "fixed answer"},
        )
    )
    store.write_bytes(
        layout.JOBS,
        job_id,
        layout.EXPLANATION_RESULT,
        "".join(json.dumps(r) + "\n" for r in records).encode(),
    )
    summary = {
        "job_id": job_id, "kind": "explanation", "items": len(records),
        "explanations": sum(len(r["explanations"]) for r in records),
        "items_without_explanations": 0, "model": "fixed answer", "backend": "none",
        "artifacts": [layout.EXPLANATION_RESULT], "seconds": {"model": 0.0, "generation": 0.0},
    }  # fmt: skip
    store.write_json(layout.JOBS, job_id, layout.JOB_SUMMARY, summary)
    database.jobs.start(job_id)
    database.jobs.succeed(job_id, summary)


@pytest.fixture
def store(tmp_path) -> ArtifactStore:
    """The artifact store of ``make_api``'s apps."""
    return ArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def secured(make_api) -> Iterator[TestClient]:
    with make_api(auth="required") as client:
        yield client


def test_an_explanation_job_is_recorded_and_queued_on_the_generation_queue(
    api, queue, database, store
):
    created = submit(api, per_label=2, decoding={"max_new_tokens": 32})
    assert created.status_code == 202, created.text
    view = created.json()
    assert created.headers["location"] == view["links"]["self"] == f"/v1/jobs/{view['id']}"
    assert (view["kind"], view["state"], view["progress"]) == ("explanation", "QUEUED", None)
    assert queue.submitted == [("explanation", view["id"])]
    assert queue.depth()["mjd"] == 1  # the generation queue, whose workers hold the LLM
    job = database.jobs.get_job(view["id"])
    assert job.spec["explain"]["per_label"] == 2
    assert job.spec["explain"]["decoding"]["max_new_tokens"] == 32
    assert job.spec["explain"]["decoding"]["sample"] is False  # greedy unless asked
    assert (job.spec["backend"], job.spec["model"], job.spec["items"]) == ("local", None, 2)
    # the worker plans from the stored items the labels the API checked
    stored = layout.job_input(store, view["id"])
    assert [i.id for i in stored] == ["a", "b"]
    labels = layout.job_labels(store, view["id"])
    assert labels == [[Label.ENTAILMENT, Label.NEUTRAL], None]
    spec = ExplainSpec.from_json(job.spec["explain"])
    assert plan(stored, spec, labels) == [[Label.ENTAILMENT, Label.NEUTRAL], [Label.CONTRADICTION]]
    listed = api.get("/v1/jobs", params={"kind": "explanation"}).json()
    assert [j["id"] for j in listed["jobs"]] == [view["id"]]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"per_label": 0}, 422, "per_label"),
        ({"per_label": MAX_PER_LABEL + 1}, 422, "per_label"),
        ({"decoding": {"max_new_tokens": 0}}, 422, "decoding.max_new_tokens"),
        ({"decoding": {"max_new_tokens": MAX_NEW_TOKENS + 1}}, 422, "decoding.max_new_tokens"),
        ({"decoding": {"sample": True, "temperature": 0}}, 422, "decoding.temperature"),
        ({"decoding": {"temperature": MAX_TEMPERATURE + 0.5}}, 422, "decoding.temperature"),
        ({"decoding": {"top_p": 0}}, 422, "decoding.top_p"),
        ({"decoding": {"top_p": 1.5}}, 422, "decoding.top_p"),
        ({"decoding": {"seed": -1}}, 422, "decoding.seed"),
        ({"decoding": {"seed": 2**32}}, 422, "decoding.seed"),
        ({"decoding": {"max_new_tokens": 10**30}}, 422, "decoding.max_new_tokens"),
        ({"labels_from": "x" * 41}, 422, "labels_from"),
        ({"labels_from": "../etc"}, 422, "labels_from"),
        ({"labels_from": "mnli"}, 422, "labels_from"),  # the items have no mnli counts
        ({"mode": "free"}, 400, "mode"),
        ({"select": "best"}, 400, "select"),
        ({"run": {"model": "/models/other.gguf"}}, 422, "run.model"),
        ({"run": {"backend": "openai", "model": "m"}}, 422, "run.endpoint"),  # none configured
        ({"run": {"backend": "openai", "base_url": "http://evil.example/v1"}}, 400, "base_url"),
        ({"limit": 2}, 400, "limit"),
        ({"instances": [{**ITEMS[0], "labels": ["e"] * (MAX_GIVEN_LABELS + 1)}]}, 422,
         "instances[0].labels"),
        ({"instances": [ITEMS[1], {**ITEMS[0], "labels": ["maybe"]}]}, 422, "instances[1].labels"),
        ({"instances": [ITEMS[1], {**ITEMS[0], "labels": "e"}]}, 422, "instances[1].labels"),
        ({"instances": [{**ITEMS[0], "hypothesis": ""}]}, 422, "instances[0].hypothesis"),
        ({"instances": []}, 422, "instances"),
        ({"instances": None}, 422, "dataset_id"),  # neither items nor a dataset
    ],
)  # fmt: skip
def test_every_knob_is_bounded_and_named_before_queueing(api, queue, body, status, field):
    assert_problem(submit(api, **body), status, field)
    assert queue.submitted == []


def test_label_guided_items_without_labels_are_refused_label_free_ones_are_not(api, queue):
    refused = assert_problem(
        submit(api, instances=[*ITEMS, UNLABELLED]), 422, "instances[2].labels"
    )
    assert "'c' has no labels to explain" in refused["detail"]
    assert queue.submitted == []
    free = submit(api, instances=[*ITEMS, UNLABELLED], mode="label-free")
    assert free.status_code == 202, free.text
    assert [kind for kind, _ in queue.submitted] == ["explanation"]


def test_a_stored_dataset_is_the_callers_own(secured, database, queue):
    alice, bob = make_key(database, Scope.SUBMIT), make_key(database, Scope.SUBMIT)
    dataset = secured.post("/v1/datasets", json={"instances": ITEMS[1:]}, headers=alice)
    dataset_id = dataset.json()["id"]
    borrowed = secured.post("/v1/explanation-jobs", json={"dataset_id": dataset_id}, headers=bob)
    assert_problem(borrowed, 404, "dataset_id")
    unknown = secured.post("/v1/explanation-jobs", json={"dataset_id": "0" * 32}, headers=alice)
    assert_problem(unknown, 404, "dataset_id")
    assert queue.submitted == []
    own = secured.post("/v1/explanation-jobs", json={"dataset_id": dataset_id}, headers=alice)
    assert own.status_code == 202, own.text
    assert database.jobs.get_job(own.json()["id"]).spec["dataset_id"] == dataset_id


def test_a_submit_key_is_needed(secured, database, queue):
    assert_problem(submit(secured), 401)
    for scope in (Scope.READ, Scope.PREDICT):
        assert_problem(submit(secured, make_key(database, scope)), 403, "authorization")
    assert queue.submitted == []
    assert submit(secured, make_key(database, Scope.SUBMIT)).status_code == 202
    (handler,) = [
        h
        for route in secured.app.routes
        if route.path == "/v1/explanation-jobs"
        for h in getattr(route, "route_handlers", [])
        if "POST" in h.http_methods
    ]
    assert handler.opt[SCOPE] == "submit"


def test_the_route_is_in_the_openapi_document(api):
    document = api.get("/schema/openapi.json").json()
    operation = document["paths"]["/v1/explanation-jobs"]["post"]
    assert operation["operationId"] == "createExplanationJob"
    assert {"202", "401", "403", "404", "422"} <= set(operation["responses"])
    body = document["components"]["schemas"]["ExplanationJobIn"]["properties"]
    assert set(body["mode"]["enum"]) == {"label-guided", "label-free"}
    assert {"dataset_id", "instances", "per_label", "labels_from", "decoding", "run"} <= set(body)


def test_a_queued_explanation_job_is_cancelled(api, queue):
    job_id = submit(api).json()["id"]
    cancelled = api.delete(f"/v1/jobs/{job_id}")
    assert cancelled.status_code == 202 and cancelled.json()["state"] == "CANCELLED"
    assert queue.revoked == [job_id]
    assert_problem(api.get(f"/v1/jobs/{job_id}/result"), 409, "job_id")
    # a cancelled explanation job has no explanations to make MJDs from
    assert_problem(api.post("/v1/mjd-jobs", json={"job_id": job_id}), 409, "job_id")


def test_the_result_is_downloadable_and_feeds_an_mjd_job(api, queue, database, store):
    job_id = submit(api).json()["id"]
    finish(store, database, job_id)
    view = api.get(f"/v1/jobs/{job_id}").json()
    assert view["summary"]["explanations"] == 3  # first reason of e, n (item a) and c (item b)
    assert view["links"]["artifacts"] == [f"/v1/jobs/{job_id}/artifacts/explained.jsonl"]
    result = api.get(f"/v1/jobs/{job_id}/result").json()
    assert [r["id"] for r in result["explained"]] == ["a", "b"]
    assert [[e["label"] for e in r["explanations"]] for r in result["explained"]] == [
        ["entailment", "neutral"],
        ["contradiction"],
    ]
    assert {e["text"] for r in result["explained"] for e in r["explanations"]} == {
        "the first reason"
    }
    download = api.get(view["links"]["artifacts"][0])
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in download.text.splitlines()]
    assert [r["explanation_generation"]["labels_given"] for r in lines] == [
        ["entailment", "neutral"],
        ["contradiction"],
    ]

    mjd = api.post("/v1/mjd-jobs", json={"job_id": job_id, "run": {"k": 1, "explicit": True}})
    assert mjd.status_code == 202, mjd.text
    mjd_id = mjd.json()["id"]
    assert queue.submitted[-1] == ("mjd", mjd_id)
    assert database.jobs.get_job(mjd_id).spec["explanation_job_id"] == job_id
    items = layout.job_input(store, mjd_id)
    assert [[e.text for e in i.explanations] for i in items] == [["the first reason"] * 2,
                                                                  ["the first reason"]]  # fmt: skip


def test_k_past_the_explanations_written_names_run_k_and_run_shortfall(api, database, store):
    job_id = submit(api).json()["id"]
    finish(store, database, job_id)
    refused = assert_problem(
        api.post("/v1/mjd-jobs", json={"job_id": job_id, "run": {"k": 2}}), 422, "run.k"
    )
    assert "item 'b' has 1 explanation(s) but k=2" in refused["detail"]
    assert "run.shortfall" in refused["detail"] and "--shortfall" not in refused["detail"]
    fewer = api.post(
        "/v1/mjd-jobs", json={"job_id": job_id, "run": {"k": 2, "shortfall": "use-available"}}
    )
    assert fewer.status_code == 202, fewer.text


def test_an_mjd_job_names_only_a_finished_explanation_job_of_its_own(
    secured, database, store, queue
):
    alice, bob = make_key(database, Scope.SUBMIT), make_key(database, Scope.SUBMIT)

    def mjd_from(job_id: str, headers: dict[str, str]):
        return secured.post("/v1/mjd-jobs", json={"job_id": job_id}, headers=headers)

    waiting = submit(secured, alice).json()["id"]
    assert_problem(mjd_from(waiting, alice), 409, "job_id")
    assert_problem(mjd_from("0" * 32, alice), 404, "job_id")
    assert_problem(mjd_from("../../etc", alice), 404, "job_id")
    finished = submit(secured, alice).json()["id"]
    finish(store, database, finished)
    assert_problem(mjd_from(finished, bob), 404, "job_id")  # not bob's
    mjd_job = secured.post("/v1/mjd-jobs", json={"instances": ITEMS[1:]}, headers=alice)
    wrong_kind = assert_problem(mjd_from(mjd_job.json()["id"], alice), 422, "job_id")
    assert "not an explanation job" in wrong_kind["detail"]
    both = {"job_id": finished, "instances": ITEMS[1:]}
    assert_problem(secured.post("/v1/mjd-jobs", json=both, headers=alice), 422, "dataset_id")
    submitted = len(queue.submitted)
    assert mjd_from(finished, alice).status_code == 202
    assert len(queue.submitted) == submitted + 1
