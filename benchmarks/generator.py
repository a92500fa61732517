"""MJD generation throughput: the prefix tree vs the plain batched forward vs lm-evaluation-harness.

Same prompts for every contender: the first 30 explained items, k = 4 explanations, one
sampled explanation order (--max-orders 1), all 6 option orders, the embedded SmolLM2-135M in
fp32. Rounds are interleaved (each round runs every contender once, in a rotated order) and
``--busy N`` runs N CPU-bound processes beside them for the whole run, so the contention
figure is measured the same way every time. Tokens are the positions each contender runs
through the model, padding included, counted at the decoder. Prints JSON:

    python benchmarks/generator.py [--items 30] [--rounds 3] [--busy N] [--authors] [--out F]

lm-evaluation-harness (``pip install -e '.[bench]'``) is scored through its own
``HFLM.loglikelihood`` on the same model object; without it the benchmark says so and skips
that contender. ``--authors`` adds the notebook's ``generate()`` loop (slow: 2 minutes a
round on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from report import emit, machine
from scipy.special import softmax

OPTION_LETTERS = ("A", "B", "C")


def authors_generate(backend: Any, prompts: list[str], batch_size: int = 20) -> np.ndarray:
    """The notebook's loop: model.generate(max_new_tokens=256, output_scores=True), greedy,
    left padding with eos as pad; letter scores from the first generated step."""
    import torch

    tokenizer, model = backend.tokenizer, backend.model
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    stops = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")]
    texts = [backend.render(m) for m in prompts]
    bare = [ids for (ids,) in backend.letter_ids("bare")]
    out = []
    for start in range(0, len(texts), batch_size):
        inputs = tokenizer(
            texts[start : start + batch_size],
            return_tensors="pt",
            add_special_tokens=False,
            padding=True,
        ).to(backend.device)
        with torch.inference_mode():
            generated = model.generate(
                **inputs,
                max_new_tokens=256,
                return_dict_in_generate=True,
                output_scores=True,
                eos_token_id=stops,
                pad_token_id=tokenizer.pad_token_id,
                do_sample=False,
            )
        out.append(generated.scores[0][:, bare].float().cpu().numpy())
    return np.concatenate(out)


def lm_eval_contender(backend: Any, batch_size: int) -> Callable[[list[str]], np.ndarray] | None:
    """lm-evaluation-harness's HFLM around the backend's model and tokenizer: each prompt's
    log-likelihood of continuing with "A", "B" and "C" (None when lm-eval is not installed)."""
    try:
        from lm_eval.api.instance import Instance
        from lm_eval.models.huggingface import HFLM
    except ImportError:
        return None
    lm = HFLM(pretrained=backend.model, tokenizer=backend.tokenizer, batch_size=batch_size)

    def score(prompts: list[str]) -> np.ndarray:
        requests = [
            Instance("loglikelihood", {}, (backend.render(message), letter), index)
            for index, (message, letter) in enumerate(
                (m, letter) for m in prompts for letter in OPTION_LETTERS
            )
        ]
        answers = lm.loglikelihood(requests, disable_tqdm=True)
        return np.array([logprob for logprob, _ in answers]).reshape(len(prompts), 3)

    return score


class DecoderCounter:
    """Forward calls and positions (padding included) through the model's decoder."""

    def __init__(self, model: Any) -> None:
        self.calls = self.positions = 0
        model.get_decoder().register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, module: Any, args: tuple, kwargs: dict) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None:
            self.calls += 1
            self.positions += ids.numel()

    def take(self) -> dict[str, int]:
        counted = {"forward_calls": self.calls, "positions": self.positions}
        self.calls = self.positions = 0
        return counted


def worst_over_quiet(tree_seconds: list[float], quiet_result: str | None) -> dict[str, float]:
    """The slowest prefix-tree round here over the median of a quiet run's rounds."""
    if not quiet_result:
        return {}
    quiet = json.loads(Path(quiet_result).read_text())["median_seconds"]["prefix_tree"]
    return {"prefix_tree_worst_over_quiet_median": max(tree_seconds) / quiet}


def start_busy(count: int) -> list[subprocess.Popen]:
    """CPU-bound processes that spin until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes beside")
    parser.add_argument("--batch-size", type=int, default=16, help="plain forward, lm-eval")
    parser.add_argument("--authors", action="store_true", help="add the notebook's loop")
    parser.add_argument("--quiet-result", help="a quiet run's JSON to compare the tree with")
    parser.add_argument("--out")
    args = parser.parse_args()

    from services.generator.backends.local import TransformersBackend
    from shared.datasets import read_instances, vendored_path
    from shared.method.runs import RunSpec, explanation_orders, prompt_groups

    spec = RunSpec(k=4, max_orders=1)
    items = read_instances(vendored_path("explained"))[: args.items]
    groups = [
        g for item in items for g in prompt_groups(item, explanation_orders(item, spec), spec)
    ]
    prompts = [m for g in groups for m in g]

    started = time.perf_counter()
    backend = TransformersBackend(dtype="fp32", batch_size=args.batch_size)
    load_s = time.perf_counter() - started
    tokens = [len(backend.tokens(m)) for m in prompts]

    def letters(prefix_reuse: bool) -> Callable[[list[str]], np.ndarray]:
        def score(_: list[str]) -> np.ndarray:
            backend.prefix_reuse = prefix_reuse
            return np.concatenate([s.logits for s in backend.score_groups(groups, spec.letters)])

        return score

    contenders: dict[str, Callable[[list[str]], np.ndarray]] = {
        "prefix_tree": letters(True),
        "plain_forward": letters(False),
    }
    lm_eval = lm_eval_contender(backend, args.batch_size)
    if lm_eval is None:
        print("lm-evaluation-harness is not installed: skipping it", file=sys.stderr)
    else:
        contenders["lm_eval"] = lm_eval
    if args.authors:
        contenders["authors_generate"] = lambda p: authors_generate(backend, p)

    backend.score_groups(groups[:1], spec.letters)  # warm-up
    counter = DecoderCounter(backend.model)
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    work: dict[str, dict[str, int]] = {}
    probs: dict[str, np.ndarray] = {}
    busy = start_busy(args.busy)
    try:
        names = list(contenders)
        for round_index in range(args.rounds):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                counter.take()
                started = time.perf_counter()
                scores = contenders[name](prompts)
                seconds[name].append(time.perf_counter() - started)
                work[name] = counter.take()
                probs[name] = softmax(scores, axis=-1)
                print(f"round {round_index + 1} {name}: {seconds[name][-1]:.1f} s", file=sys.stderr)
    finally:
        for process in busy:
            process.kill()

    median = {name: statistics.median(times) for name, times in seconds.items()}
    rate = {name: len(prompts) / s for name, s in median.items()}
    tree = seconds["prefix_tree"]
    result = {
        "machine": machine(backend),
        "workload": {
            "items": len(items),
            "k": spec.k,
            "explanation_orders_per_item": 1,
            "option_orders": 6,
            "prompts": len(prompts),
            "prompt_tokens": sum(tokens),
            "prompt_tokens_median": float(np.median(tokens)),
            "model": backend.model_id,
            "dtype": backend.dtype,
            "busy_processes": args.busy,
            "rounds": args.rounds,
            "batch_size": {"plain_forward": args.batch_size, "lm_eval": args.batch_size},
            "prefix_tree_budget": {"row": backend.row_tokens, "call": backend.call_tokens},
            "lm_eval": "installed" if lm_eval else "not installed: skipped",
        },
        "model_load_seconds": load_s,
        "seconds": seconds,
        "median_seconds": median,
        "prompts_per_second": rate,
        "tokens_computed": work,
        "ratios": {
            **{
                f"prefix_tree_over_{name}": rate["prefix_tree"] / rate[name]
                for name in contenders
                if name != "prefix_tree"
            },
            "prefix_tree_min_over_plain_forward": min(
                plain / tree_s for plain, tree_s in zip(seconds["plain_forward"], tree, strict=True)
            ),
            "prefix_tree_worst_over_median": max(tree) / median["prefix_tree"],
            **worst_over_quiet(tree, args.quiet_result),
        },
        "agreement_max_abs_prob_diff_vs_plain_forward": {
            name: float(np.abs(p - probs["plain_forward"]).max())
            for name, p in probs.items()
            if name != "plain_forward"
        },
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
