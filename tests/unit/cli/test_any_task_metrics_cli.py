"""Issue 22's acceptance for metrics from the command line: ``mjd baselines --data FILE
--format json`` on a LeWiDi file prints uniform and prior rows with ``manhattan``,
``wasserstein`` (ordinal tasks) and ``kl``; ``mjd evaluate --human FILE --model PRED.jsonl``
prints the same metrics for the human file's task. Each number is checked against an
independent computation (scipy's Wasserstein distance, sums of absolute differences)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from services.cli import main
from shared.datasets import read_dataset
from tests.lewidi_data import FIXTURES, TASK_FIXTURES, lewidi_file, needs_lewidi

PARAPHRASE_FIXTURE = FIXTURES / "text_object_explanations.json"


def manhattan(h: np.ndarray, m: np.ndarray) -> float:
    return float(np.mean(np.abs(h - m).sum(axis=1)))


def wasserstein(h: np.ndarray, m: np.ndarray) -> float:
    k = h.shape[1]
    return float(
        np.mean([wasserstein_distance(range(k), range(k), a, b) for a, b in zip(h, m, strict=True)])
    )


def kl(h: np.ndarray, m: np.ndarray) -> float:
    """KL(h || m) with both sides clipped to 1e-10 and renormalised (the report's convention)."""
    h, m = (np.clip(x, 1e-10, 1) / np.clip(x, 1e-10, 1).sum(1, keepdims=True) for x in (h, m))
    return float(np.mean((h * np.log(h / m)).sum(axis=1)))


def human_of(path: Path) -> np.ndarray:
    return np.array([i.human.probs for i in read_dataset(path).instances])


def run_json(capsys, argv: list[str]) -> dict:
    assert main([*argv, "--format", "json", "--bootstrap", "0"]) == 0
    return json.loads(capsys.readouterr().out)


def check_row(row: dict, h: np.ndarray, m: np.ndarray, ordinal: bool) -> None:
    assert row["n"] == len(h)
    assert row["manhattan"]["mean"] == pytest.approx(manhattan(h, m), rel=1e-9, abs=1e-12)
    assert row["kl"]["mean"] == pytest.approx(kl(h, m), rel=1e-9)
    if ordinal:
        assert row["wasserstein"]["mean"] == pytest.approx(wasserstein(h, m), rel=1e-9)
    else:
        assert row["wasserstein"] is None


def test_baselines_on_a_lewidi_shaped_file_uniform_and_in_sample_prior(capsys):
    payload = run_json(capsys, ["baselines", "--data", str(PARAPHRASE_FIXTURE)])
    h = human_of(PARAPHRASE_FIXTURE)
    assert payload["task"] == "paraphrase@1" and payload["ordinal"] is True
    assert payload["labels"] == [str(n) for n in range(-5, 6)]
    assert payload["renormalised"] == 1  # one item's 0.33 x 3
    assert list(payload["baselines"]) == ["uniform", "prior"]
    uniform, prior = payload["baselines"]["uniform"], payload["baselines"]["prior"]
    check_row(uniform, h, np.full_like(h, 1 / 11), ordinal=True)
    check_row(prior, h, np.tile(h.mean(axis=0), (len(h), 1)), ordinal=True)
    assert uniform["description"] == "1/11 for each label"
    assert "in-sample" in prior["description"]


@needs_lewidi
def test_baselines_on_paraphrase_dev_with_the_train_prior(capsys):
    dev, train = lewidi_file("2025/Paraphrase_dev.json"), lewidi_file("2025/Paraphrase_train.json")
    payload = run_json(capsys, ["baselines", "--data", str(dev), "--train", str(train)])
    h, prior = human_of(dev), human_of(train).mean(axis=0)
    check_row(payload["baselines"]["uniform"], h, np.full_like(h, 1 / 11), ordinal=True)
    check_row(payload["baselines"]["prior"], h, np.tile(prior, (len(h), 1)), ordinal=True)
    assert str(train) in payload["baselines"]["prior"]["description"]
    assert "in-sample" not in payload["baselines"]["prior"]["description"]


@needs_lewidi
@pytest.mark.parametrize(
    ("name", "ordinal"),
    [
        ("2023/MD-Agreement_dev.json", False),
        ("2025/CSC_dev.json", True),
        ("2025/MP_dev.json", False),
    ],
)
def test_baselines_on_other_lewidi_files(capsys, name, ordinal):
    path = lewidi_file(name)
    payload = run_json(capsys, ["baselines", "--data", str(path)])
    h = human_of(path)
    k = h.shape[1]
    check_row(payload["baselines"]["uniform"], h, np.full_like(h, 1 / k), ordinal)
    check_row(payload["baselines"]["prior"], h, np.tile(h.mean(0), (len(h), 1)), ordinal)


def test_baselines_table_shows_the_lewidi_columns(capsys):
    assert main(["baselines", "--data", str(PARAPHRASE_FIXTURE), "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    assert "Manh." in out and "Wass." in out and "prior: " in out
    assert "1 rounded soft label(s) renormalised" in out


def test_baselines_refuse_a_train_file_of_another_task(capsys):
    argv = [
        "baselines",
        "--data",
        str(PARAPHRASE_FIXTURE),
        "--train",
        str(FIXTURES / "float_keys.json"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "field 'task'" in err and "mp@1" in err and len(err.strip().splitlines()) == 1


def predictions(path: Path, ids: list[str], probs: np.ndarray, **extra) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": i, "distribution": p.tolist(), **extra}) + "\n"
            for i, p in zip(ids, probs, strict=True)
        )
    )
    return path


def random_rows(n: int, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(k), size=n)


def evaluate_json(capsys, human: Path, model: Path, *more: str) -> dict:
    return run_json(capsys, ["evaluate", "--human", str(human), "--model", str(model), *more])


def test_evaluate_predictions_on_a_lewidi_file(capsys, tmp_path):
    dataset = read_dataset(PARAPHRASE_FIXTURE)
    ids = [i.id for i in dataset.instances]
    m = random_rows(len(ids), 11)
    pred = predictions(tmp_path / "pred.jsonl", ids[::-1], m[::-1])  # paired by id
    payload = evaluate_json(capsys, PARAPHRASE_FIXTURE, pred)
    assert payload["task"] == "paraphrase@1" and payload["labels"] == [str(n) for n in range(-5, 6)]
    assert payload["conventions"]["label_order"] == payload["labels"]
    check_row(payload, human_of(PARAPHRASE_FIXTURE), m, ordinal=True)


@needs_lewidi
@pytest.mark.parametrize(
    ("name", "ordinal"), [("2025/Paraphrase_dev.json", True), ("2023/ConvAbuse_dev.json", False)]
)
def test_evaluate_predictions_on_lewidi_dev_files(capsys, tmp_path, name, ordinal):
    path = lewidi_file(name)
    dataset = read_dataset(path)
    h = human_of(path)
    m = random_rows(len(h), h.shape[1], seed=3)
    pred = predictions(tmp_path / "pred.jsonl", [i.id for i in dataset.instances], m)
    check_row(evaluate_json(capsys, path, pred), h, m, ordinal)


def test_evaluate_writes_the_plots_of_an_ordinal_task(capsys, tmp_path):
    dataset = read_dataset(PARAPHRASE_FIXTURE)
    ids = [i.id for i in dataset.instances]
    pred = predictions(tmp_path / "pred.jsonl", ids, random_rows(len(ids), 11))
    plot = tmp_path / "plots" / "p.png"
    argv = ["evaluate", "--human", str(PARAPHRASE_FIXTURE), "--model", str(pred)]
    assert main([*argv, "--plot", str(plot), "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    assert "task: paraphrase@1" in out and "Wasserstein" in out
    written = sorted(p.name for p in plot.parent.iterdir())
    assert written == ["p.entropy.png", "p.expected.png", "p.png"]
    assert all(p.stat().st_size > 1000 for p in plot.parent.iterdir())


def test_evaluate_a_user_task_given_with_task(capsys, tmp_path):
    items = TASK_FIXTURES / "stance.jsonl"
    task = TASK_FIXTURES / "stance.toml"
    m = random_rows(4, 4, seed=5)
    pred = predictions(tmp_path / "pred.jsonl", ["s1", "s2", "s3", "s4"], m)
    payload = evaluate_json(capsys, items, pred, "--task", str(task))
    assert payload["task"] == "stance@1" and payload["ordinal"] is False
    from shared.tasks.files import read_task_file

    h = np.array([i.human.probs for i in read_dataset(items, task=read_task_file(task)).instances])
    check_row(payload, h, m, ordinal=False)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"id": "101", "distribution": [0.5, 0.5]}], "row 1, field 'distribution': expected 11"),
        ([{"id": "x", "distribution": [1] + [0] * 10}], "field 'id': ids do not match"),
        (
            [{"id": "101", "distribution": [0.5, 0.5], "labels": ["0", "1"]}],
            "row 1, field 'labels': its distributions are over 0, 1",
        ),
    ],
)
def test_evaluate_bad_predictions_exit_2_with_one_line(capsys, write_jsonl, rows, message):
    pred = write_jsonl("pred.jsonl", rows)
    assert main(["evaluate", "--human", str(PARAPHRASE_FIXTURE), "--model", str(pred)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
