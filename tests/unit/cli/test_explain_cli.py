"""``mjd explain`` with the real SmolLM2 on two VariErr items, its output read by ``mjd
generate``, and bad input refused with one line and status 2 (before any model is loaded)."""

from __future__ import annotations

import json

import pytest

from services.cli import main
from shared.datasets import read_instances, vendored_path
from shared.method.explanations import TEMPLATES
from shared.method.runs import MAX_K

#: short answers keep the two items' three prompts quick on a busy CPU
MAX_NEW_TOKENS = "48"


@pytest.fixture(scope="module")
def explained_out(tmp_path_factory):
    """``mjd explain`` on the first 2 VariErr items, label-guided by their experts' labels."""
    out = tmp_path_factory.mktemp("explain") / "explained.jsonl"
    argv = ["explain", "--input", "varierr", "--limit", "2", "--out", str(out)]
    assert main([*argv, "--max-new-tokens", MAX_NEW_TOKENS]) == 0
    return out


@pytest.mark.slow
def test_explain_writes_explanations_for_the_given_labels(explained_out):
    records = [json.loads(line) for line in explained_out.read_text().splitlines()]
    assert len(records) == 2
    for record in records:
        made = record["explanation_generation"]
        assert made["template"] == TEMPLATES["label-guided"].id
        assert made["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
        assert made["decoding"] == {
            "max_new_tokens": int(MAX_NEW_TOKENS),
            "sample": False,
            "temperature": 1.0,
            "top_p": 1.0,
            "seed": 0,
        }
        assert record["explanations"], record
        assert all(e["text"].strip() for e in record["explanations"])
        assert {e["label"] for e in record["explanations"]} == set(made["labels_given"])
        assert all(r["text"] for r in made["responses"])


@pytest.mark.slow
def test_the_given_labels_are_the_varierr_experts(explained_out):
    items = read_instances(vendored_path("varierr"))[:2]
    records = [json.loads(line) for line in explained_out.read_text().splitlines()]
    for item, record in zip(items, records, strict=True):
        assert record["id"] == item.id and record["premise"] == item.premise
        given = [e.label.value for e in item.explanations]
        assert record["explanation_generation"]["labels_given"] == given


@pytest.mark.slow
def test_generate_reads_the_explained_output_as_is(explained_out, tmp_path, capsys):
    out = tmp_path / "mjd.jsonl"
    argv = ["generate", "--input", str(explained_out), "--k", "1", "--explicit"]
    assert main([*argv, "--max-orders", "1", "--limit", "1", "--out", str(out)]) == 0
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    first = json.loads(explained_out.read_text().splitlines()[0])
    assert record["id"] == first["id"]
    assert len(record["distribution"]) == 3 and abs(sum(record["distribution"]) - 1) < 1e-6
    assert "wrote 1 MJDs" in capsys.readouterr().out


@pytest.mark.slow
def test_k_larger_than_the_explanations_produced_is_one_line(explained_out, capsys):
    """Refused while planning, before any prompt goes out (the endpoint is never called)."""
    first = json.loads(explained_out.read_text().splitlines()[0])
    k = len(first["explanations"]) + 1
    assert k <= MAX_K
    argv = ["generate", "--input", str(explained_out), "--k", str(k), "--limit", "1"]
    backend = ["--backend", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9"]
    assert main([*argv, *backend, "--out", str(explained_out.parent / "x.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"has {k - 1} explanation(s) but k={k}" in err


@pytest.mark.parametrize(
    ("rows", "options", "expected"),
    [
        ([{"premise": "P.", "hypothesis": "H."}], [], "has no labels to explain"),
        ([{"premise": "P.", "hypothesis": "H.", "labels": ["yes"]}], [], "unknown label 'yes'"),
        ([{"premise": "P.", "hypothesis": "H.", "labels": []}], [], "non-empty list of labels"),
        ([{"premise": "P.", "hypothesis": "H.", "counts": [60, 40, 0]}], [], "at most 20"),
        (
            [{"premise": "P.", "hypothesis": "H.", "labels": ["e"]}],
            ["--labels-from", "mnli"],
            "no label counts named 'mnli'",
        ),
        ([{"premise": "P.", "hypothesis": "H."}], ["--per-label", "11"], "per_label"),
        ([{"premise": "P.", "hypothesis": "H."}], ["--max-new-tokens", "513"], "max_new_tokens"),
        ([{"premise": "P.", "hypothesis": "H."}], ["--select", "best"], "invalid choice"),
        ([{"premise": "P.", "hypothesis": "H."}], ["--per-label", "0"], "must be >= 1"),
    ],
)
def test_bad_input_is_one_line_and_status_2(write_jsonl, tmp_path, capsys, rows, options, expected):
    path = write_jsonl("in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    assert _status(["explain", "--input", str(path), "--out", str(out), *options]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err
    assert not out.exists()


def _status(argv):
    """main's status, or argparse's for a usage error."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code
