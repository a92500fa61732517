"""The job contract: one table of kinds from which queues, task names and workers derive,
and typed specs whose errors name the field (nested domain specs' fields included)."""

from __future__ import annotations

import msgspec
import pytest

from shared.contracts import KINDS, QUEUES, TASKS, WORKERS, JobKind, decode_spec, encode
from shared.contracts.specs import DataRef, MjdJobSpec, TrainingJobSpec
from shared.contracts.summaries import JobSummary, MetricsSummary
from shared.errors import DataError
from shared.method.runs import RunSpec
from shared.metrics import Headline


def test_every_kind_has_one_row_and_queues_follow_task_names():
    assert set(KINDS) == set(JobKind)
    assert QUEUES == ("mjd", "metrics", "training")
    assert {row.queue for row in KINDS.values()} == set(QUEUES)
    assert [queue for _, queue in WORKERS] == list(QUEUES)
    assert TASKS[JobKind.EXPLANATION].split(".")[0] == KINDS[JobKind.MJD].queue
    for kind, row in KINDS.items():
        assert row.kind == kind and row.summary.__struct_config__.tag == kind


@pytest.mark.parametrize(
    ("kind", "stored", "field"),
    [
        ("mjd", {"items": 2, "run": {"k": 9}}, "run.k"),
        ("mjd", {"items": 2, "run": {"bias": [1, 2]}}, "run.bias"),
        ("mjd", {"backend": "remote"}, "backend"),
        ("explanation", {"items": 1, "explain": {"per_label": 0}}, "explain.per_label"),
        ("training", {"data": {"vendored": "x"}, "train": {"epochs": 0}}, "train.epochs"),
        ("training", {}, "data"),
        ("metrics", {"seed": "x"}, "seed"),
        ("jigsaw", {}, "kind"),
    ],
)
def test_a_malformed_stored_spec_is_a_data_error_naming_its_field(kind, stored, field):
    with pytest.raises(DataError) as caught:
        decode_spec(kind, stored)
    assert caught.value.field == field


def test_specs_round_trip_through_the_stored_json():
    spec = MjdJobSpec(run=RunSpec(k=2, temperature=5.0), items=3, dataset_id="d1")
    assert decode_spec("mjd", encode(spec)) == spec
    training = TrainingJobSpec(data=DataRef(mjd_job_id="j1"), calibrate_on=4, promote=True)
    assert encode(training)["data"] == {"mjd_job_id": "j1"}  # as 0.1.0 stored it
    assert decode_spec("training", encode(training)) == training


def test_a_summary_carries_its_kind_and_its_headline_by_name():
    summary = MetricsSummary(
        job_id="j", items=2, summary_row=Headline(0.1, 0.2, 0.3, 0.9), artifacts=[], seconds=1.0
    )
    stored = encode(summary)
    assert stored["kind"] == "metrics"
    assert stored["summary_row"] == {"kl": 0.1, "jsd": 0.2, "tvd": 0.3, "dcorr": 0.9}
    assert msgspec.convert(stored, JobSummary) == summary
