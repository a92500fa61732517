"""Issue 22, section 6, through the training worker: a training job whose spec names the
paraphrase task (as the API queues it for a paraphrase dataset) trains an 11-way student on
the dataset's human soft labels, exports it, publishes it as a paraphrase version and
promotes it for paraphrase, beside the NLI one."""

from __future__ import annotations

import msgspec

from shared.datasets import read_dataset, write_instances_jsonl
from shared.platform import jobs
from shared.platform.registry import ModelRegistry
from shared.tasks import BUILTIN
from tests.any_task_students import write_items
from tests.integration.conftest import wait_in_store


def test_a_paraphrase_training_job_gives_an_11_way_student(start_worker, queue, tmp_path):
    paraphrase = BUILTIN["paraphrase"]
    start_worker("services.trainer.worker", "training")
    store = jobs.store()
    items = read_dataset(write_items("paraphrase", tmp_path / "p.jsonl", 12), task=paraphrase)
    write_instances_jsonl(store.path("datasets", "p12", "instances.jsonl"), items.instances)
    spec = {
        "data": {"dataset_id": "p12"},
        "train": {"epochs": 1, "dev_fraction": 0.25, "max_length": 32},
        "quantize": False,
        "promote": True,
        "task": msgspec.to_builtins(paraphrase),
    }
    jobs.database().jobs.create_job("job-p-1", "training", spec)
    queue.submit("training", "job-p-1")
    seen = wait_in_store("job-p-1", lambda job: job.state in ("SUCCEEDED", "FAILED"), 300)
    assert seen[-1].state == "SUCCEEDED", seen[-1]
    registry = ModelRegistry(store, jobs.database())
    version = seen[-1].summary["version"]
    record = registry.get(version)
    assert record["task"] == "paraphrase@1" and record["labels"] == list(paraphrase.label_names)
    assert record["inputs"] == ["Question1", "Question2"]
    dev = record["training"]["dev"]
    assert dev["conventions"]["label_order"] == list(paraphrase.label_names)
    assert "wasserstein" in dev  # an ordinal scale
    assert registry.promoted_versions() == {"paraphrase@1": version}
    assert registry.promoted() is None  # NLI has none
