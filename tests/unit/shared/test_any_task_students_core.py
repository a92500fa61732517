"""Issue 22, section 6, without a model: rows of 1..N texts encode as one sequence, a pair,
or the first text and the rest joined by the separator; soft-labelled items follow a task's
input order and label count; the registry keeps one promoted version per task and refuses
a promotion onto another task; records from before tasks (the 0.1.0 store) read as NLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from services.api.domain.predictions import MalformedInstance, instance_columns
from services.trainer.student import installed_base_model
from shared.encoding import as_sequences, encode_batch, load_tokenizer
from shared.errors import DataError
from shared.platform.artifacts import ArtifactStore
from shared.platform.db.database import Database
from shared.platform.layout import TOKENIZER_FILE
from shared.platform.registry import ModelRegistry
from shared.schemas import Instance
from shared.tasks import BUILTIN, NLI
from shared.training import SoftLabelled

TOKENIZER = load_tokenizer(installed_base_model() / TOKENIZER_FILE, 24)
STORE_0_1_0 = Path(__file__).parents[2] / "fixtures" / "store_0_1_0" / "mjd.db"


def test_rows_of_one_two_and_more_texts():
    one, two, four = encode_batch(TOKENIZER, [("a dog runs",), ("a", "b"), ("w", "x", "y", "z")])
    assert one.tokens == ["[CLS]", "a", "dog", "runs", "[SEP]"] and set(one.type_ids) == {0}
    assert two.tokens == ["[CLS]", "a", "[SEP]", "b", "[SEP]"]
    assert four.tokens == ["[CLS]", "w", "[SEP]", "x", "[SEP]", "y", "[SEP]", "z", "[SEP]"]
    assert as_sequences(TOKENIZER, ("w", "x", "y")) == ("w", "x [SEP] y")


def test_a_long_single_text_is_cut_as_the_whole_text_is():
    text = "word " * 300
    [cut] = encode_batch(TOKENIZER, [(text,)])
    [whole] = TOKENIZER.encode_batch([text])
    assert cut.ids == whole.ids and len(cut.ids) == 24 and cut.overflowing


def _items(task, count=3):
    k = len(task.labels)
    return [
        Instance(f"i{n}", {name: f"{name} {n}" for name in reversed(task.input_names)})
        for n in range(count)
    ], np.full((count, k), 1 / k)


def test_soft_labelled_items_follow_the_tasks_fields_and_labels():
    paraphrase = BUILTIN["paraphrase"]
    instances, targets = _items(paraphrase)
    data = SoftLabelled.from_instances(instances, targets)  # the items' own field order
    assert data.fields == ("Question2", "Question1")
    ordered = data.for_task(paraphrase)
    assert ordered.fields == paraphrase.input_names and ordered.rows[0] == (
        "Question1 0",
        "Question2 0",
    )
    assert ordered.take(np.array([1])).rows == [("Question1 1", "Question2 1")]
    with pytest.raises(DataError) as wrong:
        data.for_task(NLI)
    assert "premise" in wrong.value.message
    with pytest.raises(DataError) as labels:
        SoftLabelled.from_instances(instances, np.full((3, 3), 1 / 3), BUILTIN["paraphrase"])
    assert labels.value.field == "targets"


def test_instances_are_checked_against_the_tasks_fields():
    ids, columns = instance_columns([{"text": "x", "id": "a"}], ("text",), schema_status=False)
    assert ids == ["a"] and columns == [["x"]]
    with pytest.raises(DataError) as missing:
        instance_columns([{"Question1": "q"}], ("Question1", "Question2"), schema_status=False)
    assert missing.value.field == "instances[0].Question2"
    with pytest.raises(DataError) as unknown:
        instance_columns([{"text": "x"}, {"txt": "y"}], ("text",), schema_status=False)
    assert unknown.value.field == "instances[1].txt"
    with pytest.raises(MalformedInstance) as nli:  # NLI: the 400 of its fixed schema
        instance_columns([{"premise": 7, "hypothesis": "h"}], NLI.input_names, schema_status=True)
    assert nli.value.field == "instances[0].premise"


def _record(version: str, task: str | None) -> dict:
    record = {"version": version, "created": 1.0, "base_model": "b", "spec": {}}
    return record if task is None else {**record, "task": task}


def test_one_promoted_version_per_task_and_no_promotion_onto_another(tmp_path):
    registry = ModelRegistry(ArtifactStore(tmp_path), Database(f"sqlite:///{tmp_path / 'j.db'}"))
    for version, task in (("v1", None), ("v2", "paraphrase@1"), ("v3", "paraphrase@1")):
        registry.claim_version()
        registry.publish(version, _record(version, task))
    assert (
        registry.task_of("v1") == "nli@1"
        and registry.versions("paraphrase@1")[0]["version"] == "v3"
    )
    registry.promote("v1")
    registry.promote("v2", "paraphrase")
    stamp = registry.pointer_stamp()
    registry.promote("v3", "paraphrase@1")
    assert registry.pointer_stamp() > stamp
    assert registry.promoted_versions() == {"nli@1": "v1", "paraphrase@1": "v3"}
    assert registry.promoted() == "v1" and registry.promoted("paraphrase@1") == "v3"
    with pytest.raises(DataError) as refused:
        registry.promote("v2", "nli")
    assert refused.value.field == "task" and "paraphrase@1" in refused.value.message
    assert registry.promoted_versions() == {"nli@1": "v1", "paraphrase@1": "v3"}


def test_the_model_versions_of_the_0_1_0_store_read_as_nli(tmp_path):
    shutil.copy(STORE_0_1_0, tmp_path / "mjd.db")
    database = Database(f"sqlite:///{tmp_path / 'mjd.db'}")
    try:
        registry = ModelRegistry(ArtifactStore(tmp_path), database)
        assert registry.promoted_versions() == {"nli@1": "v1"}
        assert registry.task_of("v2") == "nli@1" and registry.promoted("nli@1") == "v1"
        assert [m["version"] for m in registry.versions("nli@1")] == ["v2", "v1"]
        assert registry.versions("paraphrase@1") == []
        from services.api.model_schemas import ModelView
        from services.api.schemas import convert

        view = convert(registry.get("v1"), ModelView)
        assert (view.task, view.labels, view.inputs) == (
            "nli@1", list(NLI.label_names), list(NLI.input_names),
        )  # fmt: skip
    finally:
        database.close()
