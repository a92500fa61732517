"""Issue 22, section 6, with the real Triton HTTP client (tritonclient[http], its defaults:
binary tensor data both ways) against the API under uvicorn: an NLI, a 2-label and an
11-label student promoted side by side, each its own OIP model with its task's inputs, its
labels and probabilities of shape [n, K], matching /v1/predict."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from shared.platform import jobs
from shared.platform.registry import ModelRegistry
from shared.tasks import BUILTIN
from tests.any_task_students import TASKS, instance, publish_all, students

NAMES = {"nli": "mjd-student", "md-agreement": "mjd-student-md-agreement",
         "paraphrase": "mjd-student-paraphrase"}  # fmt: skip


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return students(tmp_path_factory.mktemp("any-task-students"))


@pytest.fixture
def base(service_env, serve, folders):
    registry = ModelRegistry(jobs.store(), jobs.database())
    versions = publish_all(registry, folders)
    return serve(), versions


def _inputs(task: str, count: int) -> list[triton.InferInput]:
    rows = [instance(task, i) for i in range(count)]
    tensors = []
    for field in TASKS[task][0]:
        tensor = triton.InferInput(field, [count], "BYTES")
        tensor.set_data_from_numpy(np.array([r[field] for r in rows], dtype=np.object_))
        tensors.append(tensor)
    return tensors


def test_the_triton_client_gets_each_tasks_labels_and_shape(base):
    url, versions = base
    with triton.InferenceServerClient(url.removeprefix("http://")) as client:
        assert client.is_server_ready()
        for task, (fields, k) in TASKS.items():
            name = NAMES[task]
            assert client.is_model_ready(name)
            metadata = client.get_model_metadata(name)
            assert [t["name"] for t in metadata["inputs"]] == list(fields)
            assert metadata["outputs"][0]["shape"] == [-1, k]
            assert metadata["parameters"]["labels"] == list(BUILTIN[task].label_names)
            result = client.infer(name, _inputs(task, 3))
            assert result.get_response()["model_version"] == versions[task]
            probabilities = result.as_numpy("probabilities")
            assert probabilities.shape == (3, k) and probabilities.dtype == np.float32
            body = {"task": task, "instances": [instance(task, i) for i in range(3)]}
            answer = httpx.post(f"{url}/v1/predict", json=body, timeout=60).json()
            assert answer["labels"] == list(BUILTIN[task].label_names)
            expected = np.array([p["distribution"] for p in answer["predictions"]])
            np.testing.assert_allclose(probabilities, expected, atol=1e-5)
        with pytest.raises(InferenceServerException) as wrong:
            client.infer(NAMES["paraphrase"], _inputs("nli", 1))  # premise is not its input
        assert wrong.value.status() == "400" and "Question1" in wrong.value.message()
