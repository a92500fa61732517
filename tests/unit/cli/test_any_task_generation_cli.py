"""Issue 22's acceptance for ``mjd generate``, ``mjd explain`` and ``mjd calibrate`` on other
tasks, with the tiny random LLM (``tiny_llm``: SmolLM2's tokenizer, 2 layers) so the tests
are fast: the records' task, labels and option orders (an ordinal scale: 2 prompts per
explanation order, in its order and reversed), then ``mjd evaluate`` and ``mjd calibrate``
read them; a user task from a TOML file end to end; bad input exits 2 with one line."""

from __future__ import annotations

import json
from itertools import permutations
from pathlib import Path

import numpy as np
import pytest

from services.cli import main
from shared.datasets import read_dataset, read_distributions
from tests.lewidi_data import FIXTURES, TASK_FIXTURES, lewidi_file, needs_lewidi

PARAPHRASE_FIXTURE = FIXTURES / "text_object_explanations.json"
SCALE = [str(n) for n in range(-5, 6)]


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def generate(tiny_llm: Path, source: Path, out: Path, *more: str) -> list[dict]:
    argv = ["generate", "--input", str(source), "--model", str(tiny_llm), "--out", str(out)]
    assert main([*argv, *more]) == 0
    return read_records(out)


def test_generate_writes_11_way_mjds_with_two_option_orders(tmp_path, capsys, tiny_llm):
    out = tmp_path / "mjd.jsonl"
    records = generate(tiny_llm, PARAPHRASE_FIXTURE, out, "--k", "2")
    assert "wrote 3 MJDs" in capsys.readouterr().out
    # item 102 has 2 explanations (one was empty): 2 orders of 2, the others 3 and 4 give 6, 12
    orders = {"101": 6, "102": 2, "103": 12}
    for record in records:
        assert record["task"] == "paraphrase@1" and record["labels"] == SCALE
        assert record["option_policy"] == "scale"
        assert record["option_orders"] == [SCALE, SCALE[::-1]]  # 2 prompts per order
        logits = np.asarray(record["label_logits"])
        assert logits.shape == (orders[record["id"]], 2, 11)
        assert len(record["distribution"]) == 11
        assert sum(record["distribution"]) == pytest.approx(1.0)
        assert record["spec"]["template_version"] == "mjd-paraphrase-v1"
        assert len(record["spec"]["bias"]) == 11
    got = read_distributions(out, task=read_dataset(PARAPHRASE_FIXTURE).task)
    assert got.ids == ["101", "102", "103"] and got.probs.shape == (3, 11)
    argv = ["evaluate", "--human", str(PARAPHRASE_FIXTURE), "--model", str(out), "--bootstrap", "0"]
    assert main([*argv, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 3 and report["wasserstein"]["mean"] > 0


@needs_lewidi
def test_generate_on_paraphrase_dev(tmp_path, capsys, tiny_llm):
    dev = lewidi_file("2025/Paraphrase_dev.json")
    out = tmp_path / "mjd.jsonl"
    records = generate(tiny_llm, dev, out, "--k", "2", "--max-orders", "1")
    assert "task paraphrase@1, 11 labels" in capsys.readouterr().out
    assert [r["id"] for r in records] == [i.id for i in read_dataset(dev).instances]
    for record in records:
        assert record["labels"] == SCALE and record["option_orders"] == [SCALE, SCALE[::-1]]
        assert np.asarray(record["label_logits"]).shape == (1, 2, 11)
    assert main(["evaluate", "--human", str(dev), "--model", str(out), "--bootstrap", "0"]) == 0


def test_calibrate_mjds_of_an_ordinal_task(tmp_path, capsys, tiny_llm):
    mjd, fitted = tmp_path / "mjd.jsonl", tmp_path / "fitted.jsonl"
    generate(tiny_llm, PARAPHRASE_FIXTURE, mjd, "--k", "1")
    capsys.readouterr()
    argv = ["calibrate", "--mjd", str(mjd), "--human", str(PARAPHRASE_FIXTURE), "--bias"]
    assert main([*argv, "--out", str(fitted), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["task"] == "paraphrase@1" and summary["labels"] == SCALE
    assert len(summary["fit"]["bias"]) == 11 and summary["fit"]["bias"][0] == 0.0
    assert summary["before"]["wasserstein"] is not None
    assert summary["after_in_sample"]["kl"] <= summary["before"]["kl"] + 1e-9
    assert all(len(r["distribution"]) == 11 for r in read_records(fitted))
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "task: paraphrase@1" in table and "Wass." in table


def test_calibrate_refuses_records_of_another_task(tmp_path, capsys, tiny_llm):
    mjd = tmp_path / "mjd.jsonl"
    generate(tiny_llm, PARAPHRASE_FIXTURE, mjd, "--k", "0")
    capsys.readouterr()
    human = FIXTURES / "float_keys.json"
    assert main(["calibrate", "--mjd", str(mjd), "--human", str(human)]) == 2
    err = capsys.readouterr().err
    assert "row 1, field 'labels'" in err and "mp@1" in err and len(err.splitlines()) == 1


def test_a_user_task_from_a_file_end_to_end(tmp_path, capsys, tiny_llm):
    """Explain the stance items (label-guided from their ``labels`` lists, and label-free),
    then MJDs from the explained items, then evaluate: the 4 labels throughout."""
    task, items = TASK_FIXTURES / "stance.toml", TASK_FIXTURES / "stance.jsonl"
    guided, explained, mjd = (tmp_path / n for n in ("guided.jsonl", "free.jsonl", "mjd.jsonl"))
    argv = ["explain", "--input", str(items), "--task", str(task), "--model", str(tiny_llm),
            "--max-new-tokens", "8"]  # fmt: skip
    assert main([*argv, "--limit", "2", "--out", str(guided)]) == 0  # s1, s2 have labels
    assert "task stance@1, 4 labels" in capsys.readouterr().out
    records = read_records(guided)
    made = [r["explanation_generation"] for r in records]
    assert [m["task"] for m in made] == ["stance@1"] * 2
    assert made[0]["template"] == "mjd-explain-stance-label-guided"
    assert [m["labels_given"] for m in made] == [["favor", "favor"], ["against"]]
    assert main([*argv, "--mode", "label-free", "--out", str(explained)]) == 0
    assert [r["id"] for r in read_records(explained)] == ["s1", "s2", "s3", "s4"]
    out = generate(tiny_llm, explained, mjd, "--task", str(task), "--k", "0")
    capsys.readouterr()
    names = ("favor", "against", "neither", "unrelated")
    assert all(r["labels"] == list(names) and r["option_policy"] == "all" for r in out)
    assert [tuple(o) for o in out[0]["option_orders"]] == list(permutations(names))
    evaluate = ["evaluate", "--human", str(items), "--model", str(mjd), "--task", str(task)]
    assert main([*evaluate, "--bootstrap", "0", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["labels"] == list(names)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "nope"], "unknown task 'nope'; known: convabuse"),
        (["--task", "mp"], "field 'text.post'"),
        (["--task", str(FIXTURES / "float_keys.json")], "unknown field `2`"),
    ],
)
def test_generate_bad_task_exits_2_with_one_line(tmp_path, capsys, argv, message):
    out = tmp_path / "mjd.jsonl"
    base = ["generate", "--input", str(PARAPHRASE_FIXTURE), "--out", str(out)]
    assert main([*base, *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
