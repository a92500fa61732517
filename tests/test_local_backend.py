"""The transformers backend with the embedded SmolLM2 GGUF: letter ids, prefix reuse, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import softmax
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from services.cli import main
from services.generator.backends.local import (
    TransformersBackend,
    common_prefix_length,
    letter_token_ids,
)
from services.generator.engine import RunSpec, explanation_orders, prompt_groups
from shared.datasets import read_distributions
from shared.errors import MjdError


@pytest.fixture(scope="module")
def smollm2():
    return TransformersBackend(batch_size=16)


def test_letter_ids_from_smollm2_are_the_bare_and_spaced_letters(smollm2):
    tokenizer = smollm2.tokenizer
    assert len(smollm2.letter_ids) == 3
    for letter, ids in zip("ABC", smollm2.letter_ids, strict=True):
        assert sorted(tokenizer.decode([i]) for i in ids) == sorted([letter, " " + letter])


def _byte_level_tokenizer(corpus):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, min_frequency=1, show_progress=False)
    tok.train_from_iterator(corpus, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok)


def test_letter_ids_from_a_tokenizer_built_here():
    corpus = ["A. yes B. no C. maybe", "answer A", "answer B", "answer C", "A B C"] * 20
    tokenizer = _byte_level_tokenizer(corpus)
    ids = letter_token_ids(tokenizer)
    for letter, found in zip("ABC", ids, strict=True):
        decoded = sorted(tokenizer.decode([i]) for i in found)
        assert decoded == sorted([letter, " " + letter])  # "ĠA" was learnt from "answer A"
    words = Tokenizer(models.WordLevel({"A": 0, "B": 1, "[UNK]": 2}, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    no_c = PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]")
    assert letter_token_ids(no_c, ["A", "B"]) == [[0], [1]]  # " A" is the same single token
    with pytest.raises(MjdError, match="option letter 'C'"):
        letter_token_ids(no_c)  # "C" is only the unknown token


def test_common_prefix_leaves_a_token_per_sequence():
    assert common_prefix_length([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2
    assert common_prefix_length([[1, 2], [1, 2]]) == 1
    assert common_prefix_length([[7, 1], [8, 1]]) == 0


def test_prefix_reuse_equals_the_plain_batched_forward(smollm2, explained):
    spec = RunSpec(k=2, max_orders=1)
    items = explained[:20]
    groups = [
        g for item in items for g in prompt_groups(item, explanation_orders(item, spec), spec)
    ]
    smollm2.prefix_reuse = True
    reused = smollm2.score_groups(groups)
    smollm2.prefix_reuse = False
    try:
        plain = smollm2.score_groups(groups)
    finally:
        smollm2.prefix_reuse = True
    assert len(reused) == len(plain) == 20
    for a, b in zip(reused, plain, strict=True):
        assert np.abs(softmax(a.logits, -1) - softmax(b.logits, -1)).max() < 1e-4
        assert np.abs(a.mass - b.mass).max() < 1e-4
        assert (a.mass > 0.05).all()  # the letters are where the model looks


def test_generate_cli_writes_records_that_evaluate_reads(tmp_path, capsys):
    out = tmp_path / "mjd.jsonl"
    argv = ["generate", "--input", "explained", "--limit", "3", "--k", "1", "--max-orders", "2"]
    assert main([*argv, "--explicit", "--out", str(out)]) == 0
    assert "wrote 3 MJDs" in capsys.readouterr().out
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3
    for record in records:
        assert np.asarray(record["label_logits"]).shape == (2, 6, 3)
        assert np.asarray(record["letter_mass"]).shape == (2, 6)
        assert sum(record["distribution"]) == pytest.approx(1.0)
        assert record["spec"]["template_version"] and record["spec"]["explicit"] is True
        assert record["spec"]["model"].endswith(".gguf")
    assert read_distributions(out).probs.shape == (3, 3)
