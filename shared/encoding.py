"""A task's input texts to model inputs: one tokenizer set-up for training, export and
serving, so the student sees in production exactly what it saw in training.

A row holds one text per input field of the task, in the task's order: one text is encoded
as a single sequence, two as a pair (NLI's premise and hypothesis), three or more as a pair
of the first text and the others joined by the tokenizer's separator token (`` [SEP] `` for
BERT-style vocabularies, `` </s> `` for RoBERTa-style ones), so longest-first truncation
still cuts the longer side first.

Rows are tokenised without padding and padded per model call to the longest pair of that
call; :func:`length_chunks` groups rows of similar length, because on a CPU the padding of a
mixed batch costs more than batching saves (MNLI pairs: median 38 tokens, longest 128)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer

DEFAULT_MAX_LENGTH = 128
#: what the ONNX graph may take, in this order; a model uses the names its encoder accepts
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
_PAD_TOKENS = ("[PAD]", "<pad>")
_SEP_TOKENS = ("[SEP]", "</s>")
#: what joins texts past the second when the tokenizer has no separator token
PLAIN_SEPARATOR = " | "


def configure(tokenizer: Tokenizer, max_length: int) -> Tokenizer:
    """Cut rows longer than ``max_length`` tokens from the longer text first (the truncation
    policy, reported per pair); no padding here (see :func:`to_arrays`)."""
    tokenizer.enable_truncation(max_length, strategy="longest_first")
    tokenizer.no_padding()
    return tokenizer


def load_tokenizer(path: str | Path, max_length: int = DEFAULT_MAX_LENGTH) -> Tokenizer:
    """The tokenizer file at ``path`` (a model folder's, named by the layout), configured."""
    return configure(Tokenizer.from_file(str(path)), max_length)


def pad_id(tokenizer: Tokenizer) -> int:
    found = (tokenizer.token_to_id(token) for token in _PAD_TOKENS)
    return next((i for i in found if i is not None), 0)


def separator(tokenizer: Tokenizer) -> str:
    """What joins the texts of a row past its first (see the module's docstring)."""
    found = next((t for t in _SEP_TOKENS if tokenizer.token_to_id(t) is not None), None)
    return f" {found} " if found else PLAIN_SEPARATOR


def as_sequences(tokenizer: Tokenizer, row: Sequence[str]) -> tuple[str, ...]:
    """A row of 1..N texts as the one or two sequences the tokenizer encodes."""
    if not row:
        raise ValueError("a row needs at least one text")
    if len(row) <= 2:
        return tuple(row)
    return (row[0], separator(tokenizer).join(row[1:]))


def to_arrays(
    encodings: Sequence[Encoding], input_names: Sequence[str], padding: int
) -> dict[str, np.ndarray]:
    """int64 arrays [batch, longest] by input name, padded on the right."""
    longest = max(len(e.ids) for e in encodings)
    fields = {
        "input_ids": (lambda e: e.ids, padding),
        "attention_mask": (lambda e: e.attention_mask, 0),
        "token_type_ids": (lambda e: e.type_ids, 0),
    }
    arrays = {}
    for name in input_names:
        values, fill = fields[name]
        array = np.full((len(encodings), longest), fill, dtype=np.int64)
        for row, encoding in enumerate(encodings):
            taken = values(encoding)
            array[row, : len(taken)] = taken
        arrays[name] = array
    return arrays


@dataclass(frozen=True, slots=True)
class EncodedPairs:
    """int64 arrays [batch, length] by input name, and which rows were truncated."""

    arrays: dict[str, np.ndarray]
    truncated: list[bool]


def encode_batch(tokenizer: Tokenizer, rows: Sequence[Sequence[str]]) -> list[Encoding]:
    """The rows' encodings (see the module's docstring for rows of 1, 2 or more texts),
    truncated as :func:`configure` says; ``overflowing`` is set on a row that was cut.

    A text longer than its row may keep is first cut after its first ``max_length`` tokens
    (for a pair, one more for the longer text, so that longest-first truncation splits the
    pair exactly as it would the whole texts): the encodings are the same, but the tokenizer
    no longer builds every overflowing combination of two long texts (about 140 encodings
    per pair of 4,000-character texts: 0.5 GB for 64 such pairs, which the process then
    kept). Rows of one batch may have different widths; each is encoded as its own."""
    sequences = [as_sequences(tokenizer, row) for row in rows]
    texts = [text for row in sequences for text in row]
    singles = tokenizer.encode_batch(texts, add_special_tokens=False)
    lengths = [len(s.ids) + sum(len(o.ids) for o in s.overflowing) for s in singles]
    limit = (tokenizer.truncation or {}).get("max_length", 0)
    cut: list[str] = []
    position = 0
    for row in sequences:
        width = len(row)
        for offset in range(width):
            index = position + offset
            text, single = texts[index], singles[index]
            other = lengths[position + 1 - offset] if width == 2 else 0
            keep = limit + (width == 2 and lengths[index] > other)  # the longer text: one more
            if limit and lengths[index] > keep:
                end = (
                    single.offsets[keep - 1]
                    if keep <= len(single.ids)
                    else (single.overflowing[0].offsets[0])
                )
                text = text[: end[1]]
            cut.append(text)
        position += width
    inputs: list[str | tuple[str, str]] = []
    position = 0
    for row in sequences:
        inputs.append(cut[position] if len(row) == 1 else (cut[position], cut[position + 1]))
        position += len(row)
    return tokenizer.encode_batch(inputs)


def encode_rows(
    tokenizer: Tokenizer, rows: Sequence[Sequence[str]], input_names: Sequence[str]
) -> EncodedPairs:
    """One padded batch, rows in the order given."""
    encodings = encode_batch(tokenizer, rows)
    return EncodedPairs(
        to_arrays(encodings, input_names, pad_id(tokenizer)),
        [bool(e.overflowing) for e in encodings],
    )


def length_chunks(lengths: Sequence[int], max_batch: int, max_tokens: int) -> list[np.ndarray]:
    """Row indices grouped by length: shortest first, each group at most ``max_batch`` rows
    and ``max_tokens`` padded tokens (rows x its longest row; a longer row goes alone)."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    chunks: list[list[int]] = []
    for index in order:
        current = chunks[-1] if chunks else None
        if (
            current is not None
            and len(current) < max_batch
            and (len(current) + 1) * lengths[index] <= max_tokens
        ):
            current.append(int(index))
        else:
            chunks.append([int(index)])
    return [np.asarray(chunk) for chunk in chunks]


#: the name :func:`encode_rows` had when every row was a premise/hypothesis pair
encode_pairs = encode_rows
