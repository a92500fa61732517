"""The transformers backend with the embedded SmolLM2 GGUF: letter ids, prefix reuse, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from services.cli import main
from services.generator.backends.local import (
    TransformersBackend,
    letter_token_ids,
    prefix_levels,
)
from shared.datasets import read_distributions
from shared.errors import MjdError
from shared.method.explanations import Decoding
from shared.method.runs import RunSpec, explanation_orders, prompt_groups


@pytest.fixture(scope="module")
def smollm2():
    return TransformersBackend(batch_size=16)


def test_letter_ids_from_smollm2_are_the_bare_letters_or_both_spellings(smollm2):
    tokenizer = smollm2.tokenizer
    for letters, spellings in (("bare", lambda x: [x]), ("both", lambda x: [x, " " + x])):
        assert len(smollm2.letter_ids[letters]) == 3
        for letter, ids in zip("ABC", smollm2.letter_ids[letters], strict=True):
            assert sorted(tokenizer.decode([i]) for i in ids) == sorted(spellings(letter))


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
    both = letter_token_ids(tokenizer, "both")
    bare = letter_token_ids(tokenizer, "bare")
    for letter, found, alone in zip("ABC", both, bare, strict=True):
        decoded = sorted(tokenizer.decode([i]) for i in found)
        assert decoded == sorted([letter, " " + letter])  # "ĠA" was learnt from "answer A"
        assert [tokenizer.decode([i]) for i in alone] == [letter]
    words = Tokenizer(models.WordLevel({"A": 0, "B": 1, "[UNK]": 2}, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    no_c = PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]")
    # " A" is the same single token as "A"
    assert letter_token_ids(no_c, "both", ["A", "B"]) == [[0], [1]]
    with pytest.raises(MjdError, match="option letter 'C'"):
        letter_token_ids(no_c, "bare")  # "C" is only the unknown token


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 3), min_size=1, max_size=30),
        min_size=1,
        max_size=12,
        unique_by=tuple,
    )
)
def test_prefix_levels_rebuild_every_sequence_once(sequences):
    levels = prefix_levels(sequences)
    rebuilt = {}
    for depth, level in enumerate(levels):
        for index, node in enumerate(level):
            assert node.tokens
            assert (node.parent is None) == (depth == 0)
            for end in node.ends:
                tokens, at, d = [], index, depth
                while d >= 0:
                    tokens[:0] = levels[d][at].tokens
                    at, d = levels[d][at].parent, d - 1
                assert end not in rebuilt
                rebuilt[end] = tokens
    assert rebuilt == {i: list(s) for i, s in enumerate(sequences)}


def test_shared_prefixes_run_once():
    head, tail = list(range(100, 140)), list(range(200, 220))
    sequences = [head + [1] * 10 + tail + [k] for k in range(6)] + [head + [2] * 10 + [9]]
    levels = prefix_levels(sequences)
    assert levels[0][0].tokens == head  # 40 tokens shared by all seven
    assert sum(len(n.tokens) for level in levels for n in level) < sum(map(len, sequences)) / 3


def _reused_and_plain(backend, items, spec):
    groups = [
        g for item in items for g in prompt_groups(item, explanation_orders(item, spec), spec)
    ]
    backend.prefix_reuse = True
    reused = backend.score_groups(groups, spec.letters)
    backend.prefix_reuse = False
    try:
        plain = backend.score_groups(groups, spec.letters)
    finally:
        backend.prefix_reuse = True
    assert len(reused) == len(plain) == len(groups)
    return reused, plain


@pytest.mark.parametrize(
    ("items", "spec"),
    [
        # option orders share everything before the options; bare letters (the default)
        (20, RunSpec(k=2, max_orders=1)),
        # explanation orders of an item share the context too
        (3, RunSpec(k=1, letters="both")),
    ],
)
def test_prefix_reuse_equals_the_plain_batched_forward(smollm2, explained, items, spec):
    reused, plain = _reused_and_plain(smollm2, explained[:items], spec)
    for a, b in zip(reused, plain, strict=True):
        assert np.abs(a.logits - b.logits).max() < 1e-4
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


def test_loading_the_gguf_draws_no_conversion_bar(capfd):
    """A worker logged each redraw of the GGUF conversion bar as a WARNING line (~30 per
    start of ``mjd up``); setting TQDM_DISABLE once tqdm is imported did not stop it."""
    TransformersBackend(batch_size=1)
    out, err = capfd.readouterr()
    assert "Converting and de-quantizing GGUF tensors" not in out + err


def test_generated_texts_keep_their_order_and_seeded_samples_repeat(smollm2):
    """Greedy answers in a left-padded batch (sorted by length) equal the answers alone;
    seeded sampling gives the same texts again."""
    messages = ["Name a colour.", "Context: A man sleeps.\nStatement: A person rests.\nWhy?"]
    greedy = Decoding(max_new_tokens=8)
    together = smollm2.generate_texts(list(reversed(messages)), greedy)
    alone = [smollm2.generate_texts([m], greedy)[0] for m in reversed(messages)]
    assert together == alone and all(together)
    sampled = Decoding(max_new_tokens=8, sample=True, temperature=1.5, seed=3)
    assert smollm2.generate_texts(messages, sampled) == smollm2.generate_texts(messages, sampled)
