"""Issue 22, section 6: one promoted student per task, served side by side. An NLI, a
2-label (md-agreement, one text) and an 11-label (paraphrase) student, trained and exported
through the CLI, published and promoted, answer /v1/predict and the OIP v2 routes each with
its own labels, inputs and shape; a missing field is named; a student promoted for another
task is refused; a version from before tasks still serves as NLI. The real Triton client is
tests/integration/test_any_task_oip.py."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from shared.platform.artifacts import ArtifactStore
from shared.platform.layout import MODEL_METADATA
from shared.platform.registry import ModelRegistry
from shared.tasks import BUILTIN
from tests.any_task_students import TASKS, instance, publish_all, students
from tests.conftest import assert_problem

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return students(tmp_path_factory.mktemp("any-task-students"))


@pytest.fixture
def registry(tmp_path, database) -> ModelRegistry:
    return ModelRegistry(ArtifactStore(tmp_path / "artifacts"), database)


@pytest.fixture
def served(make_api, registry, folders):
    versions = publish_all(registry, folders)
    with make_api() as api:
        yield api, versions


def _predict(api, task: str | None, count: int = 2, **extra):
    body = {"instances": [instance(task or "nli", i) for i in range(count)], **extra}
    if task is not None:
        body["task"] = task
    return api.post("/v1/predict", json=body)


def test_each_task_is_answered_by_its_own_student_with_its_labels(served):
    api, versions = served
    listed = api.get("/v1/models").json()
    assert listed["promoted"] == versions["nli"]
    assert listed["promoted_by_task"] == {BUILTIN[t].ref: v for t, v in versions.items()}
    assert sorted(s["task"] for s in listed["served"]) == sorted(BUILTIN[t].ref for t in TASKS)
    ready = api.get("/readyz").json()["served"]
    assert {task: view["version"] for task, view in ready.items()} == {
        BUILTIN[t].ref: v for t, v in versions.items()
    }
    for task, (_, k) in TASKS.items():
        answer = _predict(api, task, count=3)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["labels"] == list(BUILTIN[task].label_names) and len(body["labels"]) == k
        assert body["task"] == BUILTIN[task].ref and body["model"]["version"] == versions[task]
        p = np.array([row["distribution"] for row in body["predictions"]])
        assert p.shape == (3, k) and np.allclose(p.sum(1), 1, atol=1e-5)
        view = api.get(f"/v1/models/{versions[task]}").json()
        assert (view["task"], view["labels"]) == (BUILTIN[task].ref, body["labels"])
        assert view["inputs"] == list(TASKS[task][0])


def test_the_nli_request_of_before_tasks_still_works(served):
    api, versions = served
    body = _predict(api, None).json()
    assert body["labels"] == ["entailment", "neutral", "contradiction"]
    assert body["model"]["version"] == versions["nli"]
    assert _predict(api, "nli").json()["predictions"] == body["predictions"]
    assert_problem(_predict(api, None, model=versions["paraphrase"]), 422, "model")


def test_a_missing_or_unknown_field_is_named(served):
    api, _ = served
    missing = {"task": "paraphrase", "instances": [{"Question1": "How?"}]}
    body = assert_problem(api.post("/v1/predict", json=missing), 422, "instances[0].Question2")
    assert "Question2" in body["detail"]
    two = {"task": "md-agreement", "instances": [{"text": "ok"}, {"txt": "typo"}]}
    assert_problem(api.post("/v1/predict", json=two), 422, "instances[1].txt")
    blank = {"task": "md-agreement", "instances": [{"text": "  "}]}
    assert_problem(api.post("/v1/predict", json=blank), 422, "instances[0].text")
    nli = {"instances": [{"premise": "P."}]}  # NLI keeps the 400 of its fixed schema
    assert_problem(api.post("/v1/predict", json=nli), 400, "instances[0].hypothesis")
    unknown = {"task": "no-such-task", "instances": [instance("nli", 0)]}
    assert_problem(api.post("/v1/predict", json=unknown), 404, "task")


def test_a_student_is_never_promoted_for_another_task(served):
    api, versions = served
    refused = api.post(f"/v1/models/{versions['paraphrase']}/promote", params={"task": "nli"})
    assert_problem(refused, 422, "task")
    assert api.get("/v1/models").json()["promoted"] == versions["nli"]
    again = api.post(f"/v1/models/{versions['paraphrase']}/promote", params={"task": "paraphrase"})
    assert again.status_code == 201 or again.status_code == 200, again.text
    assert again.json()["task"] == "paraphrase@1"
    assert again.json()["serving"]["labels"] == list(BUILTIN["paraphrase"].label_names)


def test_oip_has_one_model_per_task_with_its_inputs_and_shape(served):
    api, versions = served
    for task, (fields, k) in TASKS.items():
        name = "mjd-student" if task == "nli" else f"mjd-student-{task}"
        metadata = api.get(f"/v2/models/{name}").json()
        assert metadata["versions"] == [versions[task]]
        assert [t["name"] for t in metadata["inputs"]] == list(fields)
        assert metadata["outputs"][0] == {"name": "probabilities", "datatype": "FP32",
                                          "shape": [-1, k]}  # fmt: skip
        assert metadata["parameters"]["labels"] == list(BUILTIN[task].label_names)
        assert api.get(f"/v2/models/{name}/ready").status_code == 200
        rows = [instance(task, i) for i in range(2)]
        tensors = [
            {"name": f, "shape": [2], "datatype": "BYTES", "data": [r[f] for r in rows]}
            for f in fields
        ]
        answer = api.post(f"/v2/models/{name}/infer", json={"inputs": tensors})
        assert answer.status_code == 200, answer.text
        probabilities = answer.json()["outputs"][0]
        assert probabilities["shape"] == [2, k] and answer.json()["model_name"] == name
        other = "mjd-student-paraphrase" if task != "paraphrase" else "mjd-student"
        missing = api.get(f"/v2/models/{other}/versions/{versions[task]}")
        assert missing.status_code == 404
    assert api.get("/v2/models/mjd-student-nope").status_code == 404


def test_a_version_from_before_tasks_serves_as_nli(make_api, registry, folders):
    """Its metadata has no task, labels or inputs (as every version before issue 22)."""
    version = registry.claim_version()
    for path in folders["nli"].iterdir():
        shutil.copy(path, registry.folder(version) / path.name)
    metadata = json.loads((folders["nli"] / MODEL_METADATA).read_text())
    for key in ("version", "created", "files", "task", "labels", "inputs", "ordinal"):
        metadata.pop(key, None)
        metadata["export"].pop(key, None)
    registry.publish(version, metadata)
    registry.promote(version, "nli")
    assert registry.promoted_versions() == {"nli@1": version}
    with make_api() as api:
        body = _predict(api, None).json()
        assert body["labels"] == ["entailment", "neutral", "contradiction"]
        assert body["model"]["version"] == version and body["task"] == "nli@1"
        view = api.get(f"/v1/models/{version}").json()
        assert view["task"] == "nli@1" and view["inputs"] == ["premise", "hypothesis"]
        assert api.get("/v2/models/mjd-student").json()["outputs"][0]["shape"] == [-1, 3]
