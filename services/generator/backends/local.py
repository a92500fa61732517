"""Local causal LMs through transformers: any model directory or GGUF file.

One forward position per prompt token, no generation loop, and each token shared by several
prompts computed once: the prefix every prompt of a run shares (system prompt, instruction) is
kept as a key/value cache across calls, and the rest of a batch of whole items runs as their
flattened prefix tree, each token attending only to its own path (a tree-attention mask), in a
few calls sized by a token budget. The result equals the plain forward's within float error.
This needs a model whose attention takes a custom 4D mask and explicit positions (transformers'
decoder-only models do); ``prefix_reuse=False`` runs the plain batched forward instead.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from services.generator.backends.model_files import model_location
from services.generator.engine import LetterScores, split_into_groups
from services.generator.packing import (
    CALL_TOKENS,
    ROW_TOKENS,
    TreeRow,
    common_prefix_length,
    group_rows,
    pack_rows,
)
from shared.cpus import usable_cpus
from shared.errors import MjdError
from shared.method.explanations import Decoding, Progress
from shared.method.prompts import Letters
from shared.tasks import NLI

log = logging.getLogger(__name__)

DTYPES = ("auto", "fp32", "bf16", "fp16")
#: the description of the bar transformers draws while it converts a GGUF file
GGUF_BAR = "Converting and de-quantizing GGUF tensors"


class _WithoutGgufBar(io.TextIOBase):
    """stderr without the GGUF conversion bar: transformers draws it with a tqdm that
    TQDM_DISABLE no longer reaches once imported, and a Celery worker logged each redraw as
    a WARNING line. Everything else written goes through."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if GGUF_BAR not in text:
            self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def chat_prompt(tokenizer: Any, message: str) -> str:
    """The user message through the tokenizer's chat template, with the generation prompt
    (the message itself when the tokenizer has no template)."""
    if not getattr(tokenizer, "chat_template", None):
        return message
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True
    )


def letter_spellings(letter: str, letters: Letters) -> tuple[str, ...]:
    """How an option letter may be written as the answer's first token: bare ("A", what the
    authors' notebook reads) or both ("A" and " A")."""
    return (letter,) if letters == "bare" else (letter, " " + letter)


def letter_token_ids(
    tokenizer: Any, letters: Letters, options: Sequence[str] = NLI.letters
) -> list[list[int]]:
    """Token ids of each option letter's spellings (:func:`letter_spellings`), from the
    tokenizer itself (only spellings that are a single token count)."""
    out: list[list[int]] = []
    unknown = getattr(tokenizer, "unk_token_id", None)
    for letter in options:
        ids: list[int] = []
        for text in letter_spellings(letter, letters):
            encoded = tokenizer.encode(text, add_special_tokens=False)
            if len(encoded) == 1 and encoded[0] != unknown and encoded[0] not in ids:
                ids.append(encoded[0])
        if not ids:
            raise MjdError(
                f"the tokenizer has no single token for option letter {letter!r} "
                f"(letters {letters!r})"
            )
        out.append(ids)
    flat = [i for ids in out for i in ids]
    if len(flat) != len(set(flat)):
        raise MjdError(f"option letters share token ids: {out}")
    return out


#: Two prompts sharing a prefix on which tree scoring must match the plain forward (within
#: the tolerance, in letter probability) before a backend uses it.
PROBE_MESSAGES = (
    "Which option is a colour? A. red B. seven C. run. Answer with a letter.",
    "Which option is a number? A. red B. seven C. run. Answer with a letter.",
)
PROBE_TOLERANCE = 0.02


@dataclass(frozen=True, slots=True)
class _Stem:
    """The prefix every prompt of a run shares, and its key/value cache (batch of one)."""

    tokens: tuple[int, ...]
    cache: Any


class TransformersBackend:
    name = "transformers"

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str | None = None,
        dtype: str = "auto",
        batch_size: int = 16,
        prefix_reuse: bool = True,
        row_tokens: int = ROW_TOKENS,
        call_tokens: int = CALL_TOKENS,
        threads: int | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        # OMP_NUM_THREADS: the thread library's own knob (not an mjd setting) wins when set
        if threads is None and not os.environ.get("OMP_NUM_THREADS"):
            threads = usable_cpus()
        if threads is not None:
            torch.set_num_threads(max(1, threads))
        path, directory, extra = model_location(model)
        if dtype not in DTYPES:
            raise MjdError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dtype == "auto":
            dtype = "bf16" if self.device.startswith("cuda") else "fp32"
        self.dtype = dtype
        torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
        self.model_id = path.name if model is None else str(model)
        with contextlib.redirect_stderr(_WithoutGgufBar(sys.stderr)):
            self.tokenizer = AutoTokenizer.from_pretrained(directory, **extra)
            self.model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch_dtype, **extra)
        self.model.to(self.device).eval()
        self._letter_ids: dict[tuple[str, tuple[str, ...]], list[list[int]]] = {}
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (self.tokenizer.eos_token_id or 0)
        self.batch_size = max(1, batch_size)
        self.prefix_reuse = prefix_reuse
        self.row_tokens, self.call_tokens = max(1, row_tokens), max(1, call_tokens)
        self._stem: _Stem | None = None
        self._decoder = self.model.get_decoder()
        # transformers renamed the cache argument and output (past_key_values -> cache)
        parameters = inspect.signature(self._decoder.forward).parameters
        self._cache_name = "cache" if "cache" in parameters else "past_key_values"
        if self.prefix_reuse and not self._tree_agrees():
            log.warning(
                "%s: prefix-tree scoring disagrees with the plain forward on a probe; "
                "scoring with the plain forward",
                self.model_id,
            )
            self.prefix_reuse = False

    # ------------------------------------------------------------------ text to tokens

    def render(self, message: str) -> str:
        return chat_prompt(self.tokenizer, message)

    def tokens(self, message: str) -> list[int]:
        return self.tokenizer(self.render(message), add_special_tokens=False)["input_ids"]

    # ------------------------------------------------------------------ scoring

    def letter_ids(self, letters: Letters, options: Sequence[str] = NLI.letters) -> list[list[int]]:
        """The token ids of each option letter's counted spellings (looked up once)."""
        key = (letters, tuple(options))
        if key not in self._letter_ids:
            self._letter_ids[key] = letter_token_ids(self.tokenizer, letters, options)
        return self._letter_ids[key]

    def score_groups(
        self,
        groups: Sequence[Sequence[str]],
        letters: Letters,
        options: Sequence[str] = NLI.letters,
    ) -> list[LetterScores]:
        flat = [self.tokens(m) for group in groups for m in group]
        score = self._score_with_prefixes if self.prefix_reuse else self.score_sequences
        return split_into_groups(groups, *score(flat, self.letter_ids(letters, options)))

    def _tree_agrees(self) -> bool:
        """Whether tree scoring gives the plain forward's letter probabilities on two probe
        prompts (an attention that ignores a custom mask, or logits post-processed after
        the output layer, would not)."""
        from scipy.special import softmax

        probe = [self.tokens(message) for message in PROBE_MESSAGES]
        letter_ids = self.letter_ids("bare")
        tree, _ = self._score_with_prefixes(probe, letter_ids)
        plain, _ = self.score_sequences(probe, letter_ids)
        self._stem = None
        return bool(np.abs(softmax(tree, -1) - softmax(plain, -1)).max() <= PROBE_TOLERANCE)

    def score_sequences(
        self, sequences: Sequence[Sequence[int]], letter_ids: Sequence[Sequence[int]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Plain batched forward passes (left padding, batches of similar length)."""
        import torch

        logits = np.empty((len(sequences), len(letter_ids)))
        mass = np.empty(len(sequences))
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            ids, mask = self._left_pad([sequences[i] for i in rows])
            with torch.inference_mode():
                out = self.model(
                    input_ids=ids,
                    attention_mask=mask,
                    position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                    logits_to_keep=1,
                )
            logits[rows], mass[rows] = self._letters(out.logits[:, -1], letter_ids)
        return logits, mass

    def _score_with_prefixes(
        self, flat: Sequence[Sequence[int]], letter_ids: Sequence[Sequence[int]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Score prompts through their prefix tree: the stem (the prefix all of them share:
        system prompt and instruction) comes from a cache kept across calls, the rest is
        packed into rows of whole items (:func:`pack_rows`) and each call runs as many rows
        as its token budget holds (:func:`group_rows`)."""
        logits = np.empty((len(flat), len(letter_ids)))
        mass = np.empty(len(flat))
        stem = self._stem_for(flat)
        below = [sequence[len(stem.tokens) :] for sequence in flat]
        for rows in group_rows(pack_rows(below, self.row_tokens), self.call_tokens):
            found, last = self._run_rows(stem, rows)
            found_logits, found_mass = self._letters(last, letter_ids)
            logits[found], mass[found] = found_logits, found_mass
        return logits, mass

    def _stem_for(self, flat: Sequence[Sequence[int]]) -> _Stem:
        """The cached stem when it starts every prompt, else a new one: the prompts' common
        prefix, cut back to what it shares with the old stem once one exists (so across
        calls it settles on the run-wide prefix). Every prompt keeps at least one token."""
        length = min(common_prefix_length(flat), min(len(s) for s in flat) - 1)
        old = self._stem
        if (
            old is not None
            and len(old.tokens) <= length
            and flat[0][: len(old.tokens)] == list(old.tokens)
        ):
            return old
        if old is not None:
            length = common_prefix_length([old.tokens, flat[0][:length]])
        self._stem = _Stem(tuple(flat[0][:length]), self._prefill(flat[0][:length]))
        return self._stem

    def _prefill(self, tokens: Sequence[int]) -> Any:
        """The key/value cache of one token sequence (None when empty)."""
        import torch

        if not tokens:
            return None
        ids = torch.tensor([list(tokens)], dtype=torch.long, device=self.device)
        with torch.inference_mode():
            out = self._decoder(input_ids=ids, use_cache=True)
        return getattr(out, self._cache_name)

    def _run_rows(self, stem: _Stem, rows: Sequence[TreeRow]) -> tuple[list[int], Any]:
        """One forward call over ``rows`` continuing ``stem``: which sequences end in them
        and the logits after each one's last token (one row each)."""
        import torch

        prefix, width = len(stem.tokens), max(len(row.tokens) for row in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        positions = torch.full((len(rows), width), prefix, dtype=torch.long)
        seen = np.zeros((len(rows), width, prefix + width), dtype=bool)
        seen[:, :, :prefix] = True
        seen[:, np.arange(width), prefix + np.arange(width)] = True  # padding sees itself
        found, at_rows, at_tokens = [], [], []
        for r, row in enumerate(rows):
            n = len(row.tokens)
            ids[r, :n] = torch.tensor(row.tokens, dtype=torch.long)
            positions[r, :n] = prefix + torch.tensor(row.depths, dtype=torch.long)
            seen[r, :n, prefix : prefix + n] = row.visibility()
            for sequence, token in row.ends.items():
                found.append(sequence)
                at_rows.append(r)
                at_tokens.append(token)
        dtype = self.model.dtype
        mask = torch.full(seen.shape, torch.finfo(dtype).min, dtype=dtype)
        mask.masked_fill_(torch.from_numpy(seen), 0.0)
        cache = None
        if stem.cache is not None:
            cache = copy.deepcopy(stem.cache)
            cache.batch_repeat_interleave(len(rows))
        with torch.inference_mode():
            hidden = self._decoder(
                input_ids=ids.to(self.device),
                attention_mask=mask[:, None].to(self.device),
                position_ids=positions.to(self.device),
                **({self._cache_name: cache} if cache is not None else {}),
            ).last_hidden_state
            last = self.model.get_output_embeddings()(hidden[at_rows, at_tokens])
        return found, last

    # ------------------------------------------------------------------ text generation

    def generate_texts(
        self, messages: Sequence[str], decoding: Decoding, progress: Progress = None
    ) -> list[str]:
        """The model's answer to each user message, ``batch_size`` at a time (batches of
        similar length); greedy unless ``decoding.sample``, whose draws are seeded once per
        call (the same messages, batch size and device give the same texts)."""
        import torch

        sequences = [self.tokens(m) for m in messages]
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        texts = [""] * len(sequences)
        sampling = (
            {"do_sample": True, "temperature": decoding.temperature, "top_p": decoding.top_p}
            if decoding.sample
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        )
        if decoding.sample:
            torch.manual_seed(decoding.seed)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            ids, mask = self._left_pad([sequences[i] for i in rows])
            with torch.inference_mode():
                out = self.model.generate(
                    input_ids=ids,
                    attention_mask=mask,
                    max_new_tokens=decoding.max_new_tokens,
                    pad_token_id=self.pad_id,
                    **sampling,
                )
            for row, generated in zip(rows, out[:, ids.shape[1] :], strict=True):
                texts[row] = self.tokenizer.decode(generated, skip_special_tokens=True).strip()
            if progress is not None:
                progress(min(start + self.batch_size, len(order)), len(order))
        return texts

    # ------------------------------------------------------------------ helpers

    def _left_pad(self, sequences: Sequence[Sequence[int]]) -> tuple[Any, Any]:
        import torch

        width = max(len(s) for s in sequences)
        ids = torch.full((len(sequences), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, seq in enumerate(sequences):
            if seq:
                ids[row, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
                mask[row, width - len(seq) :] = 1
        return ids.to(self.device), mask.to(self.device)

    def _letters(
        self, last: Any, letter_ids: Sequence[Sequence[int]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the letters' logits (log-sum-exp over their counted token ids) and the
        probability all counted letter tokens hold together."""
        import torch

        last = last.float()
        if not torch.isfinite(last).all():
            raise MjdError("the model produced non-finite logits")
        log_probs = torch.log_softmax(last, dim=-1)
        logits = torch.stack([torch.logsumexp(last[:, ids], dim=-1) for ids in letter_ids], -1)
        mass = torch.stack([log_probs[:, ids].exp().sum(-1) for ids in letter_ids], -1).sum(-1)
        return logits.cpu().numpy().astype(np.float64), mass.cpu().numpy().astype(np.float64)
