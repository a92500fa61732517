"""``mjd generate --letters`` and ``--temperature``: the defaults are the authors' (bare
letters, T = 20), the old ones can be asked for, and a choice outside the list is one line
with status 2. The LLM is a local server speaking the OpenAI protocol, which spells B " B"."""

from __future__ import annotations

import json

import numpy as np
import pytest

from services.cli import main
from tests.openai_server import FakeOpenAI


def _generate(tmp_path, server, *options: str) -> dict:
    out = tmp_path / "mjd.jsonl"
    argv = ["generate", "--input", "explained", "--limit", "1", "--out", str(out),
            "--backend", "openai", "--model", "m", "--base-url", server.url,
            "--openai-mode", "completions", "--chat-template", "none", *options]  # fmt: skip
    assert main(argv) == 0
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    return record


def test_generate_counts_the_letters_it_is_told_and_records_them(tmp_path):
    with FakeOpenAI() as server:
        default = _generate(tmp_path, server)
        old = _generate(tmp_path, server, "--letters", "both", "--temperature", "1")
    assert (default["spec"]["letters"], default["spec"]["temperature"]) == ("bare", 20.0)
    assert (old["spec"]["letters"], old["spec"]["temperature"]) == ("both", 1.0)
    assert np.allclose(old["missing_mass"], 0.3)  # A, " B" and C hold 70%
    assert (np.asarray(default["missing_mass"]) > 0.3).all()  # " B" is not a bare letter
    assert not np.allclose(default["distribution"], old["distribution"])


def test_an_unknown_letters_choice_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--input", "explained", "--out", "o.jsonl", "--letters", "spaced"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--letters" in err and "'spaced'" in err
