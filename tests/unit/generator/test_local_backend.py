"""The transformers backend: letter ids, prefix reuse, batching, CLI. Its machinery runs on
``tiny_llm`` (SmolLM2's tokenizer, a 2-layer random model); what needs the embedded SmolLM2
GGUF itself (its answers, loading the GGUF) is marked slow."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import softmax
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from services.cli import main
from services.generator.backends.local import TransformersBackend, letter_token_ids
from shared.datasets import read_distributions
from shared.errors import MjdError
from shared.method.explanations import Decoding
from shared.method.runs import RunSpec, explanation_orders, prompt_groups


@pytest.fixture(scope="module")
def smollm2():
    return TransformersBackend(batch_size=16)


@pytest.fixture(scope="module")
def tiny(tiny_llm):
    return TransformersBackend(tiny_llm, batch_size=16)


def test_letter_ids_from_smollm2_are_the_bare_letters_or_both_spellings(tiny):
    tokenizer = tiny.tokenizer  # SmolLM2's
    for letters, spellings in (("bare", lambda x: [x]), ("both", lambda x: [x, " " + x])):
        assert len(tiny.letter_ids(letters)) == 3
        for letter, ids in zip("ABC", tiny.letter_ids(letters), strict=True):
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


def _prompt_groups(items, spec):
    return [g for i in items for g in prompt_groups(i, explanation_orders(i, spec), spec)]


def _reused_and_plain(backend, items, spec):
    groups = _prompt_groups(items, spec)
    backend.prefix_reuse = True
    reused = backend.score_groups(groups, spec.letters)
    backend.prefix_reuse = False
    try:
        plain = backend.score_groups(groups, spec.letters)
    finally:
        backend.prefix_reuse = True
    assert len(reused) == len(plain) == len(groups)
    return reused, plain


@pytest.mark.parametrize("model", ["tiny", pytest.param("smollm2", marks=pytest.mark.slow)])
@pytest.mark.parametrize(
    ("items", "spec", "row_tokens"),
    [
        # option orders share everything before the options; bare letters (the default)
        (20, RunSpec(k=2, max_orders=1), None),
        # explanation orders of an item share the context too
        (3, RunSpec(k=1, letters="both"), None),
        # an item's 6 explanation orders, split over rows that each repeat its shared head
        (1, RunSpec(k=3), 200),
    ],
)
def test_prefix_reuse_equals_the_plain_batched_forward(
    request, model, explained, items, spec, row_tokens
):
    backend = request.getfixturevalue(model)
    default = backend.row_tokens
    backend.row_tokens = row_tokens or default
    try:
        reused, plain = _reused_and_plain(backend, explained[:items], spec)
    finally:
        backend.row_tokens = default
    for a, b in zip(reused, plain, strict=True):
        assert np.abs(a.logits - b.logits).max() < 1e-4
        assert np.abs(softmax(a.logits, -1) - softmax(b.logits, -1)).max() < 1e-5
        assert np.abs(a.mass - b.mass).max() < 1e-4
        if model == "smollm2":
            assert (a.mass > 0.05).all()  # the letters are where the real model looks


def _model_inputs(backend):
    """Record the token ids of every forward call the backend's decoder runs."""
    seen = []

    def record(module, args, kwargs):
        seen.append(kwargs["input_ids"])

    return seen, backend.model.get_decoder().register_forward_pre_hook(record, with_kwargs=True)


def test_scoring_makes_fewer_larger_calls_than_the_plain_forward(tiny, explained):
    """The prefix tree made 35 small calls (suffix levels of 16 x 26 tokens) for 180 prompts
    where the plain forward made 12; under CPU contention each call waits on its slowest
    thread, so their number is what the lead lost. Now: the stem, then whole rows."""
    assert tiny.prefix_reuse  # its probe agreed at load
    spec = RunSpec(k=4, max_orders=1)
    groups = _prompt_groups(explained[:12], spec)
    sequences = [tiny.tokens(m) for g in groups for m in g]
    seen, hook = _model_inputs(tiny)
    try:
        tiny.score_groups(groups, spec.letters)
    finally:
        hook.remove()
    plain_calls = -(-len(sequences) // tiny.batch_size)
    assert len(seen) < plain_calls
    assert sum(ids.numel() for ids in seen) < sum(map(len, sequences)) / 3


def test_the_run_wide_prefix_is_computed_once(tiny, explained):
    """The system prompt and instruction every prompt shares ran again in each batch; now
    its key/value cache is kept and the next calls start after it."""
    spec = RunSpec(k=2, max_orders=1)
    tiny.score_groups(_prompt_groups(explained[:3], spec), spec.letters)
    seen, hook = _model_inputs(tiny)
    try:
        tiny.score_groups(_prompt_groups(explained[3:6], spec), spec.letters)
    finally:
        hook.remove()
    assert len(seen) == 1 and seen[0].shape[0] == 3  # one call, a row per item
    texts = [tiny.tokenizer.decode(row) for row in seen[0]]
    for text in texts:
        assert "You are a helpful AI assistant" not in text
        assert "Please carefully and fairly" not in text
    for item in explained[3:6]:  # each row is one whole item
        assert sum(item.hypothesis in text for text in texts) == 1


def test_generate_cli_writes_records_that_evaluate_reads(tmp_path, capsys, tiny_llm):
    out = tmp_path / "mjd.jsonl"
    argv = ["generate", "--input", "explained", "--limit", "3", "--k", "1", "--max-orders", "2"]
    assert main([*argv, "--explicit", "--model", str(tiny_llm), "--out", str(out)]) == 0
    assert "wrote 3 MJDs" in capsys.readouterr().out
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3
    for record in records:
        assert np.asarray(record["label_logits"]).shape == (2, 6, 3)
        assert np.asarray(record["letter_mass"]).shape == (2, 6)
        assert sum(record["distribution"]) == pytest.approx(1.0)
        assert record["spec"]["template_version"] and record["spec"]["explicit"] is True
        assert record["spec"]["model"] == str(tiny_llm)
    assert read_distributions(out).probs.shape == (3, 3)


@pytest.mark.slow
def test_loading_the_gguf_draws_no_conversion_bar(capfd):
    """A worker logged each redraw of the GGUF conversion bar as a WARNING line (~30 per
    start of ``mjd up``); setting TQDM_DISABLE once tqdm is imported did not stop it."""
    TransformersBackend(batch_size=1)
    out, err = capfd.readouterr()
    assert "Converting and de-quantizing GGUF tensors" not in out + err


def test_generated_texts_keep_their_order_and_seeded_samples_repeat(tiny):
    """Greedy answers in a left-padded batch (sorted by length) equal the answers alone;
    seeded sampling gives the same texts again."""
    messages = ["Name a colour.", "Context: A man sleeps.\nStatement: A person rests.\nWhy?"]
    greedy = Decoding(max_new_tokens=8)
    together = tiny.generate_texts(list(reversed(messages)), greedy)
    alone = [tiny.generate_texts([m], greedy)[0] for m in reversed(messages)]
    assert together == alone and all(together)
    sampled = Decoding(max_new_tokens=8, sample=True, temperature=1.5, seed=3)
    assert tiny.generate_texts(messages, sampled) == tiny.generate_texts(messages, sampled)


def test_a_model_whose_tree_scoring_disagrees_is_scored_with_the_plain_forward(
    monkeypatch, caplog, tiny_llm
):
    """An attention that ignores the custom tree mask, or logits changed after the output
    layer, would give wrong MJDs through the tree without a sound; a probe at load catches
    it (here: a tree that always answers C)."""
    real = TransformersBackend._score_with_prefixes

    def always_c(self, flat, letter_ids):
        logits, mass = real(self, flat, letter_ids)
        logits[:, 2] = 50.0
        return logits, mass

    monkeypatch.setattr(TransformersBackend, "_score_with_prefixes", always_c)
    with caplog.at_level("WARNING"):
        backend = TransformersBackend(tiny_llm, batch_size=1)
    assert backend.prefix_reuse is False
    assert "disagrees with the plain forward" in caplog.text
