"""Issue 22: tasks through the API: listed and shown, added by admins (immutable versions),
and carried by datasets, MJD, explanation and metrics jobs; data that does not fit its task
is a 422 naming the field."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from shared.platform.auth import Scope
from shared.tasks import BUILTIN
from shared.tasks.files import task_json
from tests.conftest import assert_problem, make_key

STANCE = {
    "name": "stance",
    "version": 1,
    "description": "Stance of a tweet towards its target",
    "inputs": [{"name": "text", "shown_as": "Tweet"}],
    "labels": [
        {"name": "favor", "word": "Favor"},
        {"name": "against", "word": "Against"},
        {"name": "neutral", "word": "Neutral"},
        {"name": "unrelated", "word": "Unrelated"},
    ],
    "prompt": {
        "version": "stance-v1",
        "instruction": "determine the tweet's stance and select ONE of the listed options. ",
    },
    "explanations": {
        "version": "v1",
        "label_guided": "{inputs}Why {word}?",
        "label_free": "{inputs}Which of {words}?",
    },
}
PARAPHRASE_ITEM = {
    "id": "q1",
    "Question1": "How do I learn Python?",
    "Question2": "What is the best way to learn Python?",
    "soft_label": {"-5": 0.25, "4": 0.25, "5": 0.5},
    "explanations": [{"text": "same goal", "label": "+5"}, "similar"],
}


@pytest.fixture
def secured(make_api) -> Iterator[TestClient]:
    with make_api(auth="required") as client:
        yield client


def test_the_built_in_tasks_are_listed_and_shown(api):
    listed = api.get("/v1/tasks").json()["tasks"]
    assert [t["name"] for t in listed] == list(BUILTIN)
    shown = api.get("/v1/tasks/paraphrase").json()
    assert shown == task_json(BUILTIN["paraphrase"])
    assert len(shown["labels"]) == 11 and shown["ordinal"] is True
    assert_problem(api.get("/v1/tasks/nope"), 404, "name")


def test_an_admin_adds_a_task_whose_versions_never_change(secured, database):
    admin = make_key(database, Scope.ADMIN)
    submit = make_key(database, Scope.SUBMIT)
    assert_problem(secured.post("/v1/tasks", json=STANCE, headers=submit), 403)
    made = secured.post("/v1/tasks", json=STANCE, headers=admin)
    assert made.status_code == 201, made.text
    assert made.headers["location"] == "/v1/tasks/stance@1"
    changed = {**STANCE, "description": "another wording"}
    assert_problem(secured.post("/v1/tasks", json=changed, headers=admin), 409, "version")
    second = secured.post("/v1/tasks", json={**changed, "version": 2}, headers=admin)
    assert second.status_code == 201
    newest = secured.get("/v1/tasks/stance", headers=submit).json()
    assert newest["version"] == 2 and newest["description"] == "another wording"
    first = secured.get("/v1/tasks/stance@1", headers=submit).json()
    assert first["description"] == STANCE["description"]
    taken = {**STANCE, "name": "nli"}
    assert_problem(secured.post("/v1/tasks", json=taken, headers=admin), 409, "name")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda t: t["explanations"].update(label_free="{inputs.__class__}"),
         "explanations.label_free"),
        (lambda t: t.update(labels=t["labels"][:1]), "labels"),
        (lambda t: t["inputs"].append({"name": "text", "shown_as": "Again"}), "inputs[1].name"),
        (lambda t: t.update(option_orders="scale"), "option_orders"),
    ],
)  # fmt: skip
def test_a_bad_task_is_refused_naming_its_field(api, change, field):
    task = copy.deepcopy(STANCE)
    change(task)
    answer = api.post("/v1/tasks", json=task)
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["field"] == field, answer.json()


def test_inline_items_of_a_task_are_stored_with_it_and_its_jobs_carry_it(api, queue):
    assert api.post("/v1/tasks", json=STANCE).status_code == 201
    items = [{"id": "t1", "text": "I love it"}, {"id": "t2", "text": "meh"}]
    dataset = api.post("/v1/datasets", json={"instances": items, "task": "stance"}).json()
    assert dataset["task"] == "stance@1"
    job = api.post("/v1/mjd-jobs", json={"dataset_id": dataset["id"]})
    assert job.status_code == 202, job.text
    assert job.json()["task"] == "stance@1"
    assert queue.submitted[-1] == ("mjd", job.json()["id"])
    other = api.post("/v1/mjd-jobs", json={"dataset_id": dataset["id"], "task": "nli"})
    assert_problem(other, 422, "task")


def test_inline_items_must_have_the_tasks_inputs(api, queue):
    missing = {k: v for k, v in PARAPHRASE_ITEM.items() if k != "Question2"}
    answer = api.post("/v1/mjd-jobs", json={"instances": [missing], "task": "paraphrase"})
    assert_problem(answer, 422, "instances[0].Question2")
    bad_label = {**PARAPHRASE_ITEM, "soft_label": {"7": 1.0}}
    answer = api.post("/v1/mjd-jobs", json={"instances": [bad_label], "task": "paraphrase"})
    assert_problem(answer, 422, "instances[0].soft_label")
    ok = api.post(
        "/v1/mjd-jobs", json={"instances": [PARAPHRASE_ITEM], "task": "paraphrase", "run": {"k": 2}}
    )
    assert ok.status_code == 202, ok.text
    assert ok.json()["task"] == "paraphrase@1"
    assert queue.submitted == [("mjd", ok.json()["id"])]


def test_an_explanation_job_takes_the_tasks_labels(api, queue):
    item = {"id": "q1", "Question1": "a?", "Question2": "b?", "labels": ["+5", "-5"]}
    body = {"instances": [item], "task": "paraphrase"}
    answer = api.post("/v1/explanation-jobs", json=body)
    assert answer.status_code == 202, answer.text
    assert answer.json()["task"] == "paraphrase@1"
    wrong = {**item, "labels": ["entailment"]}
    body = {"instances": [wrong], "task": "paraphrase"}
    assert_problem(api.post("/v1/explanation-jobs", json=body), 422, "instances[0].labels")


def test_metrics_sides_must_share_a_label_set(api, queue):
    dataset = api.post(
        "/v1/datasets", json={"instances": [PARAPHRASE_ITEM], "task": "paraphrase"}
    ).json()
    three = {"distributions": [[0.2, 0.3, 0.5]]}
    body = {"human": {"dataset_id": dataset["id"]}, "model": three}
    assert_problem(api.post("/v1/metrics-jobs", json=body), 422, "model.distributions[0]")
    nli = api.post(
        "/v1/datasets",
        json={"instances": [{"id": "q1", "premise": "P.", "hypothesis": "H.", "probs": [1, 0, 0]}]},
    ).json()
    body = {"human": {"dataset_id": dataset["id"]}, "model": {"dataset_id": nli["id"]}}
    assert_problem(api.post("/v1/metrics-jobs", json=body), 422, "model")
    eleven = {"distributions": [[1 / 11] * 11]}
    body = {"human": {"dataset_id": dataset["id"]}, "model": eleven}
    answer = api.post("/v1/metrics-jobs", json=body)
    assert answer.status_code == 202, answer.text
    assert answer.json()["task"] == "paraphrase@1"


def test_an_uploaded_lewidi_file_is_stored_with_the_task_it_names(api, tmp_path):
    item = {
        "annotation task": "sarcasm detection",
        "text": {"context": "You broke my glasses.", "response": "Great, thanks a lot."},
        "annotators": "Ann1,Ann2",
        "annotations": {"Ann1": "6", "Ann2": "5"},
        "soft_label": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0.5, "6": 0.5},
        "other_info": {},
    }
    files = {"file": ("CSC_dev.json", b'{"7": ' + __import__("json").dumps(item).encode() + b"}")}
    answer = api.post("/v1/datasets/upload", files=files)
    assert answer.status_code == 201, answer.text
    assert answer.json()["task"] == "csc@1" and answer.json()["instances"] == 1
    forced = api.post("/v1/datasets/upload", files=files, data={"task": "paraphrase"})
    assert_problem(forced, 422)
