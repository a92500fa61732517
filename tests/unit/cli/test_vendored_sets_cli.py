"""A vendored LLM explanation set named on the command line: its explanations reach the
prompts, and a name that is neither a file nor a vendored set is one line listing the sets."""

from __future__ import annotations

import json

import pytest

from services.cli import main
from shared.datasets import MODEL_EXPLANATION_SETS, vendored_path
from shared.labels import Label
from shared.method.prompts import OPTION_WORDS
from tests.openai_server import FakeOpenAI

NAME = "gpt4o-varierr-label-guided-first"


def test_mjd_generate_prompts_with_the_named_sets_explanations(tmp_path, capsys, explained):
    out = tmp_path / "mjd.jsonl"
    with FakeOpenAI() as server:
        argv = ["generate", "--input", NAME, "--limit", "1", "--k", "4", "--max-orders", "1",
                "--explicit", "--out", str(out), "--backend", "openai", "--model", "m",
                "--base-url", server.url, "--openai-mode", "completions",
                "--chat-template", "none"]  # fmt: skip
        assert main(argv) == 0, capsys.readouterr().err
        prompts = server.prompts()
    first = json.loads(vendored_path(NAME).read_text().splitlines()[0])
    assert len(prompts) == 6 and len(first["machine_replaced_comments"]) == 4
    for prompt in prompts:
        for text, letter in first["machine_replaced_comments"]:
            assert f"{text} So I choose {OPTION_WORDS[Label.parse(letter)]}." in prompt
        assert not any(e.text in prompt for e in explained[0].explanations)
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["id"] == explained[0].id


def test_an_unknown_name_is_one_line_listing_the_vendored_sets(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--input", "gpt4o-first", "--out", "o.jsonl"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "no such file or vendored dataset: gpt4o-first" in err
    assert all(name in err for name in ("explained", *MODEL_EXPLANATION_SETS))
