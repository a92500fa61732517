"""A vendored LLM explanation set named in the API: a dataset of the explained items with the
set's explanations, which an MJD job takes as its input; an unknown name lists the sets."""

from __future__ import annotations

import json

from shared.datasets import MODEL_EXPLANATION_SETS, vendored_path
from shared.labels import Label
from shared.platform import layout
from shared.platform.artifacts import ArtifactStore
from tests.conftest import assert_problem

NAME = "llama3-mnli-label-guided-longest"


def test_a_vendored_set_becomes_a_dataset_an_mjd_job_reads(make_api, tmp_path, queue, explained):
    with make_api() as api:
        created = api.post("/v1/datasets", json={"vendored": NAME})
        assert created.status_code == 201, created.text
        dataset = created.json()
        assert dataset["name"] == NAME and dataset["instances"] == 341
        assert dataset["with_human"] == dataset["with_explanations"] == 341
        job = api.post("/v1/mjd-jobs", json={"dataset_id": dataset["id"], "run": {"k": 4}})
        assert job.status_code == 202, job.text
    assert queue.submitted == [("mjd", job.json()["id"])]
    items = layout.job_input(ArtifactStore(tmp_path / "artifacts"), job.json()["id"])
    lines = [json.loads(line) for line in vendored_path(NAME).read_text().splitlines()]
    assert [i.id for i in items] == [i.id for i in explained]
    assert [i.human for i in items] == [i.human for i in explained]
    for item, line in zip(items, lines, strict=True):
        assert [(e.text, e.label) for e in item.explanations] == [
            (text, Label.parse(letter)) for text, letter in line["machine_generated_comments"]
        ]


def test_an_unknown_set_is_a_422_listing_the_vendored_names(api):
    body = assert_problem(
        api.post("/v1/datasets", json={"vendored": "llama3-mnli-guided-first"}), 422, "vendored"
    )
    assert all(name in body["detail"] for name in ("explained", *MODEL_EXPLANATION_SETS))
    assert "/" not in body["detail"]  # no file system path
