"""Premise/hypothesis pairs to model inputs: one tokenizer set-up for training, export and
serving, so the student sees in production exactly what it saw in training."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

TOKENIZER_FILE = "tokenizer.json"
DEFAULT_MAX_LENGTH = 128
#: what the ONNX graph may take, in this order; a model uses the names its encoder accepts
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def configure(tokenizer: Tokenizer, max_length: int) -> Tokenizer:
    """Pad to the longest pair of a batch; cut pairs longer than ``max_length`` tokens from
    the longer text first (the truncation policy, reported per pair)."""
    tokenizer.enable_truncation(max_length, strategy="longest_first")
    pad_id = tokenizer.token_to_id("[PAD]")
    pad_id = 0 if pad_id is None else pad_id
    tokenizer.enable_padding(pad_id=pad_id, pad_token=tokenizer.id_to_token(pad_id) or "[PAD]")
    return tokenizer


def load_tokenizer(folder: str | Path, max_length: int = DEFAULT_MAX_LENGTH) -> Tokenizer:
    return configure(Tokenizer.from_file(str(Path(folder) / TOKENIZER_FILE)), max_length)


@dataclass(frozen=True, slots=True)
class EncodedPairs:
    """int64 arrays [batch, length] by input name, and which pairs were truncated."""

    arrays: dict[str, np.ndarray]
    truncated: list[bool]


def encode_pairs(
    tokenizer: Tokenizer, pairs: Sequence[tuple[str, str]], input_names: Sequence[str]
) -> EncodedPairs:
    encodings = tokenizer.encode_batch(list(pairs))
    fields = {
        "input_ids": [e.ids for e in encodings],
        "attention_mask": [e.attention_mask for e in encodings],
        "token_type_ids": [e.type_ids for e in encodings],
    }
    arrays = {name: np.asarray(fields[name], dtype=np.int64) for name in input_names}
    return EncodedPairs(arrays, [bool(e.overflowing) for e in encodings])
