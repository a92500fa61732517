"""MJD generation throughput: the authors' generate() loop vs one forward pass vs prefix reuse.

Same prompts for every method: the first 30 explained items, k = 4 explanations, one sampled
explanation order (--max-orders 1), all 6 option orders, the embedded SmolLM2-135M. Prints JSON:

    python benchmarks/generator.py [--items 30] [--out result.json]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from typing import Any

import numpy as np
from report import emit
from scipy.special import softmax


def authors_generate(backend: Any, groups: list[list[str]], batch_size: int = 20) -> np.ndarray:
    """The notebook's loop: model.generate(max_new_tokens=256, output_scores=True), greedy,
    left padding with eos as pad; letter scores from the first generated step."""
    import torch

    tokenizer, model = backend.tokenizer, backend.model
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    stops = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")]
    texts = [backend.render(m) for group in groups for m in group]
    bare = [ids for (ids,) in backend.letter_ids["bare"]]
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


def timed(function: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out")
    args = parser.parse_args()

    import torch

    from services.generator.backends.local import TransformersBackend
    from shared.datasets import read_instances, vendored_path
    from shared.method.runs import RunSpec, explanation_orders, prompt_groups

    spec = RunSpec(k=4, max_orders=1)
    items = read_instances(vendored_path("explained"))[: args.items]
    groups = [
        g for item in items for g in prompt_groups(item, explanation_orders(item, spec), spec)
    ]
    prompts = sum(len(g) for g in groups)

    load_s, backend = timed(lambda: TransformersBackend(dtype="fp32", batch_size=args.batch_size))
    tokens = [len(backend.tokens(m)) for g in groups for m in g]
    backend.score_groups(groups[:1], spec.letters)  # warm-up

    backend.prefix_reuse = False
    plain_s, plain = timed(backend.score_groups, groups, spec.letters)
    backend.prefix_reuse = True
    reuse_s, reuse = timed(backend.score_groups, groups, spec.letters)
    authors_s, authors = timed(authors_generate, backend, groups)

    bf16 = TransformersBackend(dtype="bf16", batch_size=args.batch_size)
    bf16.score_groups(groups[:1], spec.letters)
    reuse_bf16_s, reuse_bf16 = timed(bf16.score_groups, groups, spec.letters)

    def probs(scores: list[Any]) -> np.ndarray:
        return softmax(np.concatenate([s.logits for s in scores]), axis=-1)

    p_plain, p_reuse, p_bf16 = probs(plain), probs(reuse), probs(reuse_bf16)
    p_authors = softmax(authors, axis=-1)
    rate = {
        "authors_generate": prompts / authors_s,
        "plain_forward": prompts / plain_s,
        "prefix_reuse": prompts / reuse_s,
        "prefix_reuse_bf16": prompts / reuse_bf16_s,
    }
    result = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "device": backend.device,
        },
        "workload": {
            "items": len(items),
            "k": 4,
            "explanation_orders_per_item": 1,
            "option_orders": 6,
            "prompts": prompts,
            "prompt_tokens_median": float(np.median(tokens)),
            "model": backend.model_id,
            "batch_size": {"authors_generate": 20, "forward": args.batch_size},
        },
        "seconds": {
            "model_load_fp32": load_s,
            "authors_generate": authors_s,
            "plain_forward": plain_s,
            "prefix_reuse": reuse_s,
            "prefix_reuse_bf16": reuse_bf16_s,
        },
        "prompts_per_second": rate,
        "ratios": {
            "prefix_reuse_over_plain_forward": rate["prefix_reuse"] / rate["plain_forward"],
            "prefix_reuse_over_authors_generate": rate["prefix_reuse"] / rate["authors_generate"],
            "plain_forward_over_authors_generate": rate["plain_forward"] / rate["authors_generate"],
            "prefix_reuse_bf16_over_fp32": rate["prefix_reuse_bf16"] / rate["prefix_reuse"],
        },
        "agreement_max_abs_prob_diff": {
            "prefix_reuse_vs_plain": float(np.abs(p_reuse - p_plain).max()),
            "authors_bare_letter_vs_plain": float(np.abs(p_authors - p_plain).max()),
            "bf16_vs_fp32_mean": float(np.abs(p_bf16 - p_reuse).mean()),
        },
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
