"""The student: soft-label loss, training, ONNX export parity, int8 report, the registry and
the CLI adapters (train, export, predict), with the real MiniLM base."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from services.cli import main
from services.predictor import LoadedModel
from services.trainer.export import PARITY_TOLERANCE, onnx_probabilities
from services.trainer.student import load_checkpoint
from services.trainer.training import predict_probabilities, soft_cross_entropy, train
from shared.errors import DataError
from shared.method.runs import MJDRecord
from shared.platform.artifacts import ArtifactStore
from shared.platform.db.database import Database
from shared.platform.layout import MODEL_METADATA
from shared.platform.registry import ModelRegistry, UnknownVersion, sha256_file
from shared.platform.targets import mjd_targets
from shared.training import SoftLabelled, TrainSpec

simplex = st.lists(st.floats(0.01, 1.0), min_size=3, max_size=3).map(
    lambda v: np.asarray(v) / np.sum(v)
)


@settings(max_examples=50, deadline=None)
@given(simplex, st.lists(st.floats(-5, 5), min_size=3, max_size=3))
def test_soft_cross_entropy_is_entropy_plus_kl(target, logits):
    """CE(t, softmax(z)) = H(t) + KL(t || softmax(z)) >= H(t), equal at z = log t."""
    t = torch.from_numpy(np.asarray([target]))
    z = torch.tensor([logits], dtype=torch.float64)
    p = torch.softmax(z, -1)
    entropy = -(t * t.log()).sum()
    kl = (t * (t.log() - p.log())).sum()
    assert torch.isclose(soft_cross_entropy(z, t), entropy + kl, atol=1e-9)
    assert torch.isclose(soft_cross_entropy(t.log(), t), entropy, atol=1e-9)


@pytest.mark.parametrize(
    ("field", "value"),
    [("epochs", 0), ("learning_rate", 0.0), ("max_length", 4), ("early_stopping", "f1")],
)
def test_train_spec_names_the_bad_field(field, value):
    with pytest.raises(DataError) as caught:
        TrainSpec(**{field: value})
    assert caught.value.field == field


def test_split_is_seeded_disjoint_and_keeps_every_item(explained):
    data = SoftLabelled.from_instances(explained[:50])
    train_part, dev = data.split(0.2, seed=3)
    assert (len(train_part), len(dev)) == (40, 10)
    assert set(train_part.ids).isdisjoint(dev.ids)
    assert set(train_part.ids) | set(dev.ids) == set(data.ids)
    assert data.split(0.2, seed=3)[1].ids == dev.ids
    assert data.split(0.2, seed=4)[1].ids != dev.ids


@pytest.mark.slow
def test_training_lowers_the_training_loss(explained):
    data = SoftLabelled.from_instances(explained[:24])
    spec = TrainSpec(epochs=4, learning_rate=1e-4, patience=10, seed=1)
    before = train(data, data.take(np.arange(4)), TrainSpec(epochs=1, learning_rate=1e-12))
    after = train(data, data.take(np.arange(4)), spec)

    def loss(result) -> float:
        p = predict_probabilities(result.student, result.tokenizer, data.pairs)
        return float(
            soft_cross_entropy(torch.from_numpy(np.log(p)), torch.from_numpy(data.targets))
        )

    assert loss(after) < loss(before) - 0.01
    assert [h["epoch"] for h in after.history] == [1, 2, 3, 4]
    assert after.history[-1]["train_loss"] < after.history[0]["train_loss"]
    assert after.dev_report is not None and after.dev_report.n == 4


def test_export_matches_torch_on_new_batch_shapes(student_model, explained, tmp_path):
    """The exported graph has dynamic batch and sequence axes: other batch sizes and
    lengths than the trace give torch's probabilities."""
    metadata = json.loads((student_model / MODEL_METADATA).read_text())
    parity = metadata["export"]["parity"]
    assert parity["max_abs_diff"] < PARITY_TOLERANCE and parity["items"] == 32
    student, tokenizer, _ = load_checkpoint(student_model.parent / "checkpoint")
    for count in (1, 7):
        pairs = [(i.premise * (1 + n % 3), i.hypothesis) for n, i in enumerate(explained[:count])]
        torch_p = predict_probabilities(student, tokenizer, pairs)
        onnx_p = onnx_probabilities(
            student_model / "model.onnx", tokenizer, student.input_names, pairs
        )
        assert onnx_p.shape == (count, 3)
        assert np.abs(torch_p - onnx_p).max() < PARITY_TOLERANCE


def test_int8_variant_has_its_own_parity_and_accuracy_report(student_model):
    report = json.loads((student_model / MODEL_METADATA).read_text())["export"]["int8"]
    assert 0 < report["max_abs_diff_vs_fp32"] < 0.1
    assert report["argmax_agreement"] >= 0.9
    assert {"kl", "jsd", "tvd", "dcorr", "f1_weighted"} <= set(report)
    fp32 = (student_model / "model.onnx").stat().st_size
    assert (student_model / "model.int8.onnx").stat().st_size < fp32 / 2


def test_loaded_model_predicts_distributions_and_flags_truncation(student_model):
    model = LoadedModel.load(student_model, provider="cpu", max_batch=2)
    assert model.provider == "CPUExecutionProvider"
    long_text = "the cat sat on the mat " * 60
    pairs = [("A man sleeps.", "A person rests."), (long_text, "A cat."), ("P.", "H.")]
    probabilities, truncated = model.predict(pairs)
    assert probabilities.shape == (3, 3)
    assert np.allclose(probabilities.sum(1), 1, atol=1e-5)
    assert truncated == [False, True, False]
    again, _ = model.predict(pairs[:1])  # batch composition does not change a row
    assert np.abs(again[0] - probabilities[0]).max() < 1e-5


def test_registry_versions_promotion_and_digests(tmp_path, student_model):
    from tests.conftest import publish_copy

    registry = ModelRegistry(ArtifactStore(tmp_path), Database(f"sqlite:///{tmp_path / 'jobs.db'}"))
    assert registry.versions() == [] and registry.promoted() is None
    first, second = publish_copy(registry, student_model), publish_copy(registry, student_model)
    assert (first, second) == ("v1", "v2")
    unfinished = registry.claim_version()  # no metadata: never listed
    assert [m["version"] for m in registry.versions()] == ["v2", "v1"]
    assert unfinished == "v3"
    record = registry.get("v1")
    assert record["files"]["model.onnx"]["sha256"] == sha256_file(student_model / "model.onnx")
    assert record["base_model"] and record["spec"]["max_length"] == 128
    stamp = registry.pointer_stamp()
    registry.promote("v2")
    assert registry.promoted() == "v2" and registry.pointer_stamp() != stamp
    for bad in ("v3", "v9", "../v1", "promoted"):
        with pytest.raises(UnknownVersion):
            registry.promote(bad)
    assert registry.promoted() == "v2"


def test_versions_on_disk_are_adopted_by_a_new_job_store(tmp_path, student_model):
    """Folders with metadata files are recorded once, so a store moved to a new database over
    the same artifacts keeps its models."""
    from tests.conftest import publish_copy

    store = ArtifactStore(tmp_path)
    old = ModelRegistry(store, Database(f"sqlite:///{tmp_path / 'old.db'}"))
    published = [publish_copy(old, student_model) for _ in range(2)]
    registry = ModelRegistry(store, Database(f"sqlite:///{tmp_path / 'new.db'}"))
    assert registry.versions() == []
    assert registry.adopt_files() == 2 and registry.adopt_files() == 0
    assert [m["version"] for m in registry.versions()] == published[::-1]
    assert registry.promoted() is None


def test_mjd_targets_are_calibrated_on_a_labelled_subset(explained):
    items = explained[:12]
    rng = np.random.default_rng(0)
    records = [
        MJDRecord(i.id, [1 / 3] * 3, rng.normal(size=(1, 6, 3)).tolist(), [], [], None)
        for i in items
    ]
    raw = mjd_targets(items, records)
    assert raw.calibration is None and np.allclose(raw.data.targets, 1 / 3)
    fitted = mjd_targets(items, records, calibrate_on=6, seed=0)
    assert fitted.calibration["fitted_items"] == 6 and len(fitted.calibration["fitted_ids"]) == 6
    assert np.allclose(fitted.data.targets.sum(1), 1)
    assert not np.allclose(fitted.data.targets, raw.data.targets)
    with pytest.raises(DataError) as caught:
        mjd_targets(items, records, calibrate_on=13)
    assert caught.value.field == "calibrate_on"


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--data", "explained", "--calibrate-on", "5", "--out", "x"],
        ["train", "--data", "explained", "--epochs", "0", "--out", "x"],
        ["export", "/nonexistent", "--out", "x"],
        ["export", "/nonexistent", "--out", "x", "--promote"],
        ["predict", "--model", "/nonexistent", "--input", "dev", "--out", "x"],
        ["predict", "--model", "v7", "--input", "dev", "--out", "x"],
    ],
)
def test_cli_bad_input_is_one_line_and_status_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path))
    from shared.platform import jobs

    jobs.settings.cache_clear()
    jobs.store.cache_clear()
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse usage errors
        status = exc.code
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "error" in err, err
    jobs.settings.cache_clear()
    jobs.store.cache_clear()


def test_cli_predict_writes_records_mjd_evaluate_reads(student_model, tmp_path, capsys):
    out = tmp_path / "predictions.jsonl"
    assert main(["predict", "--model", str(student_model), "--input", "explained",
                 "--out", str(out), "--variant", "int8"]) == 0  # fmt: skip
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 341 and {"id", "distribution", "entropy", "truncated"} <= set(rows[0])
    assert "int8" in capsys.readouterr().out
    assert main(["evaluate", "--human", "explained", "--model", str(out), "--bootstrap", "0"]) == 0
