"""Explanation sets compared: are MJDs from LLM-written explanations as close to the human
distributions (HJDs) as MJDs from the experts' own? (Chen, Peng, Korhonen and Plank, Findings
of ACL 2025; issue 14, item 4.)

The MJD engine with the default LLM (SmolLM2-135M), k = 4, with and without the explanations'
labels, one seeded explanation order and all 6 option orders per item, on the 341 explained
items, for each explanation set:

- ``human``: the VariErr experts' explanations (the vendored ``explained`` set);
- ``<model>-varierr-label-guided-first`` (gpt4o, llama3, mixtral): the authors' LLMs explaining
  the same experts' labels, first reason kept (any vendored model set may be named);
- ``smollm2-varierr-label-guided-first``: SmolLM2's own, written here with
  shared.method.explanations for the same labels (greedy, the first reasons of each list).

Items with fewer than 4 explanations use what they have (counted per set as short items).
Each set is scored against the HJDs (KL, JSD, TVD, D.Corr, entropy correlation; 95% bootstrap
CIs) and paired against ``human`` (CI of the difference), next to the uniform baseline.

Everything the LLM computes is appended per item under --cache-dir, keyed by set, spec and
model, so a stopped run resumes where it stopped; the MJD records keep their label logits, so
another --temperature re-aggregates them without the LLM. Writes JSON (default
results/explanations-<date>.json) and prints a Markdown table; progress goes to stderr.

    python benchmarks/explanations.py [--sets human,...] [--limit N] [--temperature T]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from services.cli.args import Parser, positive_float, positive_int
from services.cli.progress import ProgressBar
from services.generator.engine import generate
from shared.baselines import baseline_distributions
from shared.datasets import (
    MODEL_EXPLANATION_SETS,
    instance_from_record,
    read_instances,
    vendored_path,
)
from shared.errors import DataError
from shared.method.explanations import TEMPLATES, Decoding, ExplainSpec, explain_with, plan
from shared.method.prompts import OPTION_ORDERS
from shared.method.runs import MJDRecord, RunSpec, aggregate
from shared.metrics import (
    CONVENTIONS,
    DEFAULT_BOOTSTRAP,
    MetricReport,
    bootstrap_dcorr,
    bootstrap_means,
    check_bootstrap,
    evaluate,
    instance_metrics,
)
from shared.schemas import Instance

HUMAN = "human"
GENERATED = "smollm2-varierr-label-guided-first"
DEFAULT_SETS = (
    HUMAN,
    "gpt4o-varierr-label-guided-first",
    "llama3-varierr-label-guided-first",
    "mixtral-varierr-label-guided-first",
    GENERATED,
)
#: every set --sets may name: the experts', any vendored LLM set, SmolLM2's own
KNOWN_SETS = (HUMAN, *MODEL_EXPLANATION_SETS, GENERATED)
K = 4
#: RunSpec fields that only combine stored logits: changing them re-aggregates, never rescores
AGGREGATION_FIELDS = ("aggregation", "temperature", "bias")
#: per-item metrics whose paired differences against ``human`` are bootstrapped
PAIRED_METRICS = ("kl", "jsd", "tvd")
#: how the D.Corr intervals are made, and their known bias, stated in the result
DCORR_CI = (
    "95% percentile bootstrap of the exact D.Corr over resampled items (the same resamples "
    "for every set, so paired differences are paired); resampling repeats items, which "
    "biases D.Corr upward: about +0.01 at 341 items, more on a small --limit run, where the "
    "point value can fall below its interval"
)
T = TypeVar("T")
RESULTS = Path(__file__).resolve().parent / "results"


def parse_sets(text: str) -> tuple[str, ...]:
    """The comma-separated --sets, known and without repeats (argparse type)."""
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in KNOWN_SETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown set {', '.join(unknown) or repr(text)}; known: {', '.join(KNOWN_SETS)}"
        )
    return names


def run_specs(temperature: float) -> dict[str, RunSpec]:
    """The two runs per set: k = 4 without and with labels, one seeded explanation order."""
    return {
        name: RunSpec(
            k=K, explicit=explicit, max_orders=1, shortfall="use-available", temperature=temperature
        )
        for name, explicit in (("implicit", False), ("explicit", True))
    }


def explain_spec(max_new_tokens: int) -> ExplainSpec:
    """SmolLM2's explanations: the VariErr experts' labels, as the authors' label-guided sets."""
    return ExplainSpec(
        mode="label-guided",
        select="first",
        per_label=1,
        labels_from="varierr",
        decoding=Decoding(max_new_tokens=max_new_tokens),
    )


# ---------------------------------------------------------------------------- cache


def cache_key(parts: Mapping[str, Any]) -> str:
    """A short digest of what made a cached file: another set, spec or model gets a new file
    rather than mixing records."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def scoring_key(source: str, spec: RunSpec, model: Mapping[str, Any]) -> str:
    """The key of one set's MJD records: what changes the logits (not the aggregation)."""
    scored = {name: value for name, value in asdict(spec).items() if name not in AGGREGATION_FIELDS}
    return cache_key({"source": source, "spec": scored, "model": dict(model)})


class JsonlCache:
    """An append-only JSON lines file of records with an ``id``, flushed per record. Reading
    keeps the complete lines and cuts the file at the first that is not (a run killed while
    writing), so a resumed run redoes at most the items it was writing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}
        if path.is_file():
            self._load()

    def _load(self) -> None:
        data = self.path.read_bytes()
        kept = 0
        for line in data.splitlines(keepends=True):
            try:
                record = json.loads(line) if line.endswith(b"\n") else None
            except ValueError:
                record = None
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                break
            self.records.setdefault(record["id"], record)
            kept += len(line)
        if kept < len(data):
            with self.path.open("r+b") as handle:
                handle.truncate(kept)

    def missing(self, instances: Sequence[Instance]) -> list[Instance]:
        return [instance for instance in instances if instance.id not in self.records]

    def append(self, records: Iterable[dict[str, Any]]) -> int:
        """Write each record as it comes; the number written."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with self.path.open("a", encoding="utf-8") as handle:
            for record in records:
                if record["id"] in self.records:
                    continue
                handle.write(json.dumps(record) + "\n")
                handle.flush()
                self.records[record["id"]] = record
                written += 1
        return written

    def ordered(self, instances: Sequence[Instance]) -> list[dict[str, Any]]:
        return [self.records[instance.id] for instance in instances]


# ---------------------------------------------------------------------------- the LLM


class DefaultLLM:
    """The embedded SmolLM2, loaded once on first use: a fully cached run loads nothing."""

    def __init__(self, dtype: str, batch_size: int) -> None:
        from services.generator.backends.model_files import default_model_path

        #: what cache keys name: the model file and dtype (the device is known once loaded)
        self.key = {"model": default_model_path().name, "dtype": dtype}
        self.batch_size = batch_size
        self.device: str | None = None
        self.load_seconds: float | None = None
        self._backend: Any = None

    def backend(self) -> Any:
        if self._backend is None:
            from services.generator.backends.local import TransformersBackend

            start = time.perf_counter()
            self._backend = TransformersBackend(dtype=self.key["dtype"], batch_size=self.batch_size)
            self.load_seconds = time.perf_counter() - start
            self.device = self._backend.device
        return self._backend


def stage(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def explanation_key(spec: ExplainSpec, model: Mapping[str, Any]) -> str:
    """The key of SmolLM2's explanations: what it was asked, with which prompt and model."""
    template = TEMPLATES[spec.mode]
    return cache_key(
        {
            "set": GENERATED,
            "explain": asdict(spec),
            "template": [template.id, template.version],
            "model": dict(model),
        }
    )


def smollm2_explained(
    items: Sequence[Instance], llm: DefaultLLM, cache_dir: Path, max_new_tokens: int
) -> tuple[list[Instance], dict[str, Any]]:
    """The items with SmolLM2's label-guided explanations (generated for the items the cache
    lacks), and how they were made."""
    spec = explain_spec(max_new_tokens)
    key = explanation_key(spec, llm.key)
    cache = JsonlCache(cache_dir / f"{GENERATED}-{key}.jsonl")
    todo = cache.missing(items)
    given = plan(todo, spec)
    seconds = None
    if todo:
        stage(f"{GENERATED}: writing explanations for {len(todo)} items ({key})")
        backend = llm.backend()
        start = time.perf_counter()
        cache.append(
            explain_with(
                backend, todo, given, spec, progress=ProgressBar(f"{GENERATED} explanation prompts")
            )
        )
        seconds = time.perf_counter() - start
    template = TEMPLATES[spec.mode]
    info = {
        "cache_key": key,
        "spec": asdict(spec),
        "template": {"id": template.id, "version": template.version},
        "generated_items": len(todo),
        "cached_items": len(items) - len(todo),
        "generated_prompts": sum(len(set(labels)) for labels in given),
        "seconds": seconds,
        "seconds_per_item": seconds / len(todo) if seconds else None,
    }
    return [instance_from_record(r) for r in cache.ordered(items)], info


def explanation_set(
    name: str, items: Sequence[Instance], llm: DefaultLLM, cache_dir: Path, max_new_tokens: int
) -> tuple[list[Instance], dict[str, Any]]:
    """A set's items (the first ``len(items)`` explained items) and, for SmolLM2's, how its
    explanations were made."""
    if name == GENERATED:
        return smollm2_explained(items, llm, cache_dir, max_new_tokens)
    instances = read_instances(vendored_path("explained" if name == HUMAN else name))
    return instances[: len(items)], {}


def prompt_count(records: Iterable[Mapping[str, Any]]) -> int:
    return sum(len(record["explanation_orders"]) * len(OPTION_ORDERS) for record in records)


def mjd_records(
    label: str, instances: Sequence[Instance], spec: RunSpec, llm: DefaultLLM, cache: JsonlCache
) -> tuple[list[MJDRecord], dict[str, Any]]:
    """The set's MJD records, scoring only the items the cache lacks."""
    todo = cache.missing(instances)
    seconds = None
    if todo:
        stage(f"{label}: scoring {len(todo)} items ({len(instances) - len(todo)} cached)")
        backend = llm.backend()
        start = time.perf_counter()
        records = generate(todo, backend, spec, progress=ProgressBar(f"{label} prompts"))
        cache.append(record.to_json() for record in records)
        seconds = time.perf_counter() - start
    scored = prompt_count(cache.ordered(todo))
    timing = {
        "prompts": prompt_count(cache.ordered(instances)),
        "scored_items": len(todo),
        "cached_items": len(instances) - len(todo),
        "scored_prompts": scored,
        "seconds": seconds,
        "prompts_per_second": scored / seconds if seconds else None,
    }
    return [MJDRecord.from_json(r) for r in cache.ordered(instances)], timing


def shortfall(instances: Sequence[Instance]) -> dict[str, Any]:
    """How many items have fewer than k explanations, and the count of items per number."""
    counts = Counter(len(instance.explanations) for instance in instances)
    return {
        "short_items": sum(n for size, n in counts.items() if size < K),
        "explanations_per_item": {str(size): counts[size] for size in sorted(counts)},
    }


def distributions(records: Sequence[MJDRecord], spec: RunSpec) -> np.ndarray:
    """The records' MJDs under ``spec``'s aggregation, from their stored label logits."""
    return np.array([aggregate(record.logits, spec) for record in records])


# ---------------------------------------------------------------------------- report


def _interval(mean: float, low: float, high: float) -> dict[str, float]:
    return {"mean": float(mean), "low": float(low), "high": float(high)}


def _finite(value: float) -> float | None:
    """NaN (an undefined correlation, e.g. of a constant model) as JSON null."""
    return None if math.isnan(value) else value


def _metrics(report: MetricReport, dcorr_draws: np.ndarray) -> dict[str, Any]:
    low, high = np.percentile(dcorr_draws, [2.5, 97.5])
    return {
        "kl": asdict(report.kl),
        "jsd": asdict(report.jsd),
        "tvd": asdict(report.tvd),
        "dcorr": _interval(report.dcorr.value, low, high),
        "entropy_model": asdict(report.entropy_model),
        "entropy_pearson": _finite(report.entropy_pearson),
        "entropy_spearman": _finite(report.entropy_spearman),
        "accuracy": asdict(report.accuracy),
    }


def _per_item(human: np.ndarray, model: np.ndarray) -> np.ndarray:
    values = instance_metrics(human, model)
    return np.column_stack([values[name] for name in PAIRED_METRICS])


def score(
    human: np.ndarray,
    models: Mapping[str, np.ndarray],
    references: Mapping[str, str],
    *,
    resamples: int,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Metrics with 95% bootstrap CIs for each named N x 3 model array and, for a model that
    ``references`` maps to another, the paired difference from it (model minus reference on
    the same resampled items: negative KL/JSD/TVD and positive D.Corr are better)."""
    names = list(models)
    draws = bootstrap_dcorr(human, [models[n] for n in names], resamples=resamples, seed=seed)
    reports = {n: evaluate(human, models[n], resamples=resamples, seed=seed) for n in names}
    out: dict[str, dict[str, Any]] = {
        n: {"n": reports[n].n, "metrics": _metrics(reports[n], draws[:, j])}
        for j, n in enumerate(names)
    }
    for name, reference in references.items():
        differences = _per_item(human, models[name]) - _per_item(human, models[reference])
        low, high = bootstrap_means(differences, resamples=resamples, seed=seed)
        paired = {
            metric: _interval(differences[:, i].mean(), low[i], high[i])
            for i, metric in enumerate(PAIRED_METRICS)
        }
        dcorr = draws[:, names.index(name)] - draws[:, names.index(reference)]
        paired["dcorr"] = _interval(
            reports[name].dcorr.value - reports[reference].dcorr.value,
            *np.percentile(dcorr, [2.5, 97.5]),
        )
        out[name] |= {"paired_with": reference, "paired": paired}
    return out


def _ci(value: Mapping[str, float]) -> str:
    return f"{value['mean']:.4f} [{value['low']:.4f}, {value['high']:.4f}]"


def _signed_ci(value: Mapping[str, float]) -> str:
    return f"{value['mean']:+.4f} [{value['low']:+.4f}, {value['high']:+.4f}]"


def _correlation(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def markdown_table(result: Mapping[str, Any]) -> str:
    """One row per set and run, then the baseline: metrics with 95% CIs, and the paired
    difference from the human explanations' MJDs."""
    lines = [
        "| explanations | labels | short items | KL | JSD | TVD | D.Corr | entropy r "
        "| ΔKL vs human | ΔD.Corr vs human |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in sorted(result["runs"], key=lambda row: row["spec"]["explicit"]):
        m, paired = row["metrics"], row.get("paired")
        lines.append(
            f"| {row['set']} | {'yes' if row['spec']['explicit'] else 'no'} "
            f"| {row['short_items']}/{row['n']} | {_ci(m['kl'])} | {_ci(m['jsd'])} "
            f"| {_ci(m['tvd'])} | {_ci(m['dcorr'])} | {_correlation(m['entropy_pearson'])} "
            f"| {_signed_ci(paired['kl']) if paired else '-'} "
            f"| {_signed_ci(paired['dcorr']) if paired else '-'} |"
        )
    for name, row in result["baselines"].items():
        m = row["metrics"]
        lines.append(
            f"| baseline: {name} | - | - | {_ci(m['kl'])} | {_ci(m['jsd'])} | {_ci(m['tvd'])} "
            f"| {_ci(m['dcorr'])} | - | - | - |"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    import torch

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


# ---------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, dict[str, RunSpec]]:
    parser = Parser(prog="benchmarks/explanations.py", description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=parse_sets, default=DEFAULT_SETS, help=", ".join(KNOWN_SETS))
    parser.add_argument("--limit", type=positive_int, help="the first N explained items only")
    parser.add_argument("--temperature", type=positive_float, default=RunSpec().temperature)
    parser.add_argument("--max-new-tokens", type=positive_int, default=48)
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--resamples", type=positive_int, default=DEFAULT_BOOTSTRAP)
    parser.add_argument("--cache-dir", type=Path, default=RESULTS / ".mjd-cache")
    parser.add_argument("--out", type=Path, help="default: results/explanations-<date>.json")
    args = parser.parse_args(argv)
    specs = _checked(parser, "--temperature", run_specs, args.temperature)
    _checked(parser, "--max-new-tokens", explain_spec, args.max_new_tokens)
    _checked(parser, "--resamples", lambda n: check_bootstrap(n, 0), args.resamples)
    return args, specs


def _checked(
    parser: argparse.ArgumentParser, option: str, check: Callable[[Any], T], value: Any
) -> T:
    """``check(value)``, or the usage error (one line, status 2) naming the option."""
    try:
        return check(value)
    except DataError as exc:
        parser.error(f"argument {option}: {exc.message}")


def run_set(
    name: str,
    items: Sequence[Instance],
    specs: Mapping[str, RunSpec],
    llm: DefaultLLM,
    cache_dir: Path,
    max_new_tokens: int,
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray], dict[str, Any]]:
    """One explanation set through every run: a row per run, its MJDs, and (SmolLM2's set)
    how its explanations were made."""
    instances, made = explanation_set(name, items, llm, cache_dir, max_new_tokens)
    source = f"{name}:{made['cache_key']}" if made else name
    rows, mjds = [], {}
    for run, spec in specs.items():
        key = scoring_key(source, spec, llm.key)
        cache = JsonlCache(cache_dir / f"{name}-{run}-{key}.jsonl")
        records, timing = mjd_records(f"{name} {run}", instances, spec, llm, cache)
        mjds[run] = distributions(records, spec)
        rows.append(
            {"set": name, "run": run, "spec": asdict(spec), "cache_key": key}
            | shortfall(instances)
            | timing
        )
    return rows, mjds, made


def main(argv: Sequence[str] | None = None) -> None:
    args, specs = parse_args(argv)
    started = time.perf_counter()
    items = read_instances(vendored_path("explained"))[: args.limit]
    human = np.array([item.human.probs for item in items])  # type: ignore[union-attr]
    llm = DefaultLLM(args.dtype, args.batch_size)
    runs: list[dict[str, Any]] = []
    models: dict[str, np.ndarray] = {}
    generation = None
    for number, name in enumerate(args.sets, start=1):
        stage(f"[{number}/{len(args.sets)}] {name}")
        rows, mjds, made = run_set(
            name, items, specs, llm, args.cache_dir / "explanations", args.max_new_tokens
        )
        runs += rows
        models |= {f"{name}/{run}": mjd for run, mjd in mjds.items()}
        generation = made or generation
    stage(f"scoring against the HJDs ({args.resamples} bootstrap resamples)")
    references = {
        f"{row['set']}/{row['run']}": f"{HUMAN}/{row['run']}"
        for row in runs
        if HUMAN in args.sets and row["set"] != HUMAN
    }
    uniform = baseline_distributions(items)["uniform"]
    scored = score(human, models | {"uniform": uniform}, references, resamples=args.resamples)
    for row in runs:
        row |= scored[f"{row['set']}/{row['run']}"]
    result: dict[str, Any] = {
        "benchmark": "explanations",
        "date": datetime.date.today().isoformat(),
        "items": len(items),
        "machine": machine() | {"device": llm.device},
        "model": llm.key | {"load_seconds": llm.load_seconds},
        "smollm2_explanations": generation,
        "runs": runs,
        "baselines": {"uniform": scored["uniform"]},
        "bootstrap": {"resamples": args.resamples, "seed": 0},
        "conventions": CONVENTIONS | {"dcorr_ci": DCORR_CI},
        "wall_seconds": time.perf_counter() - started,
    }
    result["table"] = markdown_table(result)
    out = args.out or RESULTS / f"explanations-{result['date']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(result["table"])
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
