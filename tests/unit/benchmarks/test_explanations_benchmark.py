"""benchmarks/explanations.py: its pure parts (sets, runs, cache keys, resuming a cache cut
mid-record, the report built from MJD records, option checks) and one real run on 2 items
with SmolLM2, resumed from its cache at another temperature."""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, replace
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from benchmarks import explanations as bench
from shared.datasets import read_instances, vendored_path
from shared.method.aggregation import softmax_aggregate
from shared.method.explanations import plan
from shared.method.runs import MJDRecord, explanation_orders, prompt_groups

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "benchmarks" / "explanations.py"
GPT4O = "gpt4o-varierr-label-guided-first"
SMOKE_SETS = (bench.HUMAN, GPT4O, bench.GENERATED)
MAX_JSD = math.sqrt(math.log(2))


@pytest.fixture(scope="module")
def gpt4o() -> list:
    return read_instances(vendored_path(GPT4O))


def test_default_sets_are_the_experts_three_vendored_llms_and_smollm2():
    assert bench.DEFAULT_SETS[0] == bench.HUMAN and bench.DEFAULT_SETS[-1] == bench.GENERATED
    vendored = bench.DEFAULT_SETS[1:-1]
    assert {name.split("-")[0] for name in vendored} == {"gpt4o", "llama3", "mixtral"}
    for name in vendored:
        assert name.endswith("-varierr-label-guided-first") and vendored_path(name).is_file()
    assert bench.parse_sets(f" human, {GPT4O},human ") == (bench.HUMAN, GPT4O)
    with pytest.raises(argparse.ArgumentTypeError, match="unknown set nope; known: human, "):
        bench.parse_sets("human,nope")
    with pytest.raises(argparse.ArgumentTypeError, match="unknown set"):
        bench.parse_sets(" , ")


def test_each_run_scores_one_sampled_explanation_order_in_six_option_orders(explained, gpt4o):
    specs = bench.run_specs(1.0)
    assert [spec.explicit for spec in specs.values()] == [False, True]
    for spec in specs.values():
        orders = explanation_orders(explained[0], spec)
        assert len(orders) == 1 and sorted(orders[0]) == [0, 1, 2, 3]
        (prompts,) = prompt_groups(explained[0], orders, spec)
        assert len(set(prompts)) == 6
        # the same positions for every set of an item: the sets differ only in the texts
        assert explanation_orders(gpt4o[0], spec) == orders
    short = replace(explained[0], explanations=explained[0].explanations[:2])
    assert [len(order) for order in explanation_orders(short, specs["implicit"])] == [2]


def test_smollm2_explains_the_labels_the_vendored_label_guided_sets_explain(explained, gpt4o):
    spec = bench.explain_spec(48)
    assert (spec.mode, spec.select, spec.per_label, spec.decoding.sample) == (
        "label-guided",
        "first",
        1,
        False,
    )
    for labels, item in zip(plan(explained[:40], spec), gpt4o[:40], strict=True):
        assert Counter(labels) == Counter(e.label for e in item.explanations)


def test_cache_keys_change_with_what_changes_the_logits_not_with_the_aggregation():
    model = {"model": "SmolLM2.gguf", "dtype": "fp32"}
    spec = bench.run_specs(1.0)["implicit"]
    key = bench.scoring_key(bench.HUMAN, spec, model)
    reaggregated = replace(spec, temperature=20.0, bias=(0.0, 1.0, -1.0), aggregation="normalize")
    assert bench.scoring_key(bench.HUMAN, reaggregated, dict(model)) == key
    others = {
        bench.scoring_key(GPT4O, spec, model),
        bench.scoring_key(bench.HUMAN, bench.run_specs(1.0)["explicit"], model),
        bench.scoring_key(bench.HUMAN, replace(spec, seed=1), model),
        bench.scoring_key(bench.HUMAN, replace(spec, k=3), model),
        bench.scoring_key(bench.HUMAN, spec, model | {"dtype": "bf16"}),
    }
    assert len(others) == 5 and key not in others
    explained_key = bench.explanation_key(bench.explain_spec(48), model)
    assert explained_key == bench.explanation_key(bench.explain_spec(48), dict(model))
    assert explained_key != bench.explanation_key(bench.explain_spec(64), model)
    assert explained_key != bench.explanation_key(
        bench.explain_spec(48), model | {"model": "other"}
    )


@pytest.mark.parametrize(
    "tail",
    [
        lambda fourth, fifth: fourth[:17],  # killed while writing the 4th record
        lambda fourth, fifth: fourth,  # the 4th without its newline
        lambda fourth, fifth: "not json\n" + fifth + "\n",  # anything after a bad line
    ],
    ids=["torn", "unterminated", "bad-line"],
)
def test_a_cache_cut_mid_record_resumes_without_repeating_items(tmp_path, explained, tail):
    items = explained[:5]
    records = [{"id": item.id, "n": n} for n, item in enumerate(items)]
    lines = [json.dumps(record) for record in records]
    whole = "".join(line + "\n" for line in lines[:3])
    path = tmp_path / "set.jsonl"
    path.write_text(whole + tail(lines[3], lines[4]))
    cache = bench.JsonlCache(path)
    assert path.read_text() == whole
    assert cache.missing(items) == items[3:]
    assert cache.append(iter(records[2:])) == 2  # the 3rd is cached: not written again
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [
        item.id for item in items
    ]
    resumed = bench.JsonlCache(path)
    assert resumed.ordered(items) == records and resumed.missing(items) == []


def test_shortfall_counts_items_with_fewer_than_k_explanations(explained):
    item = explained[0]
    instances = [
        item,
        replace(item, explanations=item.explanations[:2]),
        replace(item, explanations=()),
    ]
    assert bench.shortfall(instances) == {
        "short_items": 2,
        "explanations_per_item": {"0": 1, "2": 1, "4": 1},
    }


def _records(items: list, logits: np.ndarray) -> list[MJDRecord]:
    return [
        MJDRecord(item.id, [], item_logits.tolist(), [[1.0] * 6], [[0, 1, 2, 3]], None)
        for item, item_logits in zip(items, logits, strict=True)
    ]


def test_the_report_is_built_from_mjd_records(explained):
    items = explained[:40]
    human = np.array([item.human.probs for item in items])
    rng = np.random.default_rng(0)
    informed = np.log(human + 0.05)[:, None, None, :] + rng.normal(0, 0.1, (40, 1, 6, 3))
    unrelated = rng.normal(0, 1, (40, 1, 6, 3))
    spec = bench.run_specs(1.0)["implicit"]
    hot = bench.distributions(_records(items, unrelated), replace(spec, temperature=20.0))
    assert np.allclose(hot, [softmax_aggregate(x, 20.0) for x in unrelated])
    models = {
        "human/implicit": bench.distributions(_records(items, informed), spec),
        "gpt4o/implicit": bench.distributions(_records(items, unrelated), spec),
        "uniform": np.full((40, 3), 1 / 3),
    }
    scored = bench.score(human, models, {"gpt4o/implicit": "human/implicit"}, resamples=200)
    close, far = scored["human/implicit"], scored["gpt4o/implicit"]
    for row in scored.values():
        assert row["n"] == 40
        for name in ("kl", "jsd", "tvd", "dcorr"):
            estimate = row["metrics"][name]
            assert estimate["low"] <= estimate["high"]
    assert close["metrics"]["kl"]["mean"] < far["metrics"]["kl"]["mean"]
    paired = far["paired"]
    assert far["paired_with"] == "human/implicit" and "paired" not in close
    assert paired["kl"]["mean"] == pytest.approx(
        far["metrics"]["kl"]["mean"] - close["metrics"]["kl"]["mean"]
    )
    assert paired["kl"]["low"] > 0 and paired["dcorr"]["high"] < 0  # worse on both, CI clear of 0
    assert scored["uniform"]["metrics"]["entropy_pearson"] is None  # undefined, not NaN in JSON

    result = {
        "runs": [
            {"set": "human", "run": "implicit", "spec": asdict(spec), "short_items": 0, **close},
            {"set": "gpt4o", "run": "implicit", "spec": asdict(spec), "short_items": 3, **far},
        ],
        "baselines": {"uniform": scored["uniform"]},
    }
    table = bench.markdown_table(result).splitlines()
    assert len(table) == 5
    assert table[2].startswith("| human | no | 0/40 | ") and table[2].endswith(" | - | - |")
    assert table[3].startswith("| gpt4o | no | 3/40 | ")
    assert f"| {paired['kl']['mean']:+.4f} [{paired['kl']['low']:+.4f}," in table[3]
    assert table[4].startswith("| baseline: uniform | - | - | ")


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--sets", "human,nope"], "--sets"),
        (["--limit", "0"], "--limit"),
        (["--temperature", "500"], "--temperature"),
        (["--max-new-tokens", "100000"], "--max-new-tokens"),
        (["--resamples", "1000000000"], "--resamples"),
    ],
)
def test_bad_options_stop_before_any_work_with_one_line(argv, option, capsys):
    with pytest.raises(SystemExit) as stopped:
        bench.main(argv)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"argument {option}: " in error


def _run(tmp_path: Path, out: str, *options: str) -> tuple[dict, subprocess.CompletedProcess]:
    command = [sys.executable, str(SCRIPT), "--limit", "2", "--sets", ",".join(SMOKE_SETS)]
    command += ["--resamples", "200", "--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run(
        [*command, "--out", str(tmp_path / out), *options],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=3600,  # a hang guard, far above the minute it takes on a busy 2-core machine
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((tmp_path / out).read_text()), done


@pytest.mark.slow
def test_a_real_run_on_two_items_then_its_cache_at_another_temperature(tmp_path, gpt4o):
    first, done = _run(tmp_path, "first.json")
    assert first["items"] == 2 and first["model"]["load_seconds"] > 0
    runs = {(row["set"], row["run"]): row for row in first["runs"]}
    assert set(runs) == set(product(SMOKE_SETS, ("implicit", "explicit")))
    for (name, run), row in runs.items():
        assert row["n"] == 2 and row["spec"]["explicit"] == (run == "explicit")
        assert row["scored_items"] == 2 and row["cached_items"] == 0
        assert row["prompts"] == row["scored_prompts"] == 2 * 6  # one order x 6 option orders
        assert row["prompts_per_second"] > 0
        metrics = row["metrics"]
        assert metrics["kl"]["mean"] >= 0 and 0 <= metrics["tvd"]["mean"] <= 1
        assert 0 <= metrics["jsd"]["mean"] <= MAX_JSD
        assert -1e-9 <= metrics["dcorr"]["mean"] <= 1 + 1e-9
        assert metrics["entropy_model"]["mean"] <= math.log(3) + 1e-9
        for estimate in (metrics["kl"], metrics["jsd"], metrics["tvd"]):
            assert estimate["low"] <= estimate["mean"] <= estimate["high"]
        short = sum(n for size, n in row["explanations_per_item"].items() if int(size) < 4)
        assert row["short_items"] == short
        if name == bench.HUMAN:
            assert "paired" not in row
        else:
            assert row["paired_with"] == f"human/{run}" and set(row["paired"]) == {
                "kl",
                "jsd",
                "tvd",
                "dcorr",
            }
    assert runs[(GPT4O, "implicit")]["short_items"] == 0

    generated = first["smollm2_explanations"]
    assert generated["generated_items"] == 2 and generated["seconds_per_item"] > 0
    cached = (
        tmp_path / "cache" / "explanations" / f"{bench.GENERATED}-{generated['cache_key']}.jsonl"
    )
    records = [json.loads(line) for line in cached.read_text().splitlines()]
    assert [r["id"] for r in records] == [item.id for item in gpt4o[:2]]
    for record, item in zip(records, gpt4o, strict=False):
        given = record["explanation_generation"]["labels_given"]
        assert Counter(given) == Counter(e.label.value for e in item.explanations)
        assert all(e["text"].strip() and e["label"] in given for e in record["explanations"])
    sizes = Counter(str(len(r["explanations"])) for r in records)
    assert runs[(bench.GENERATED, "implicit")]["explanations_per_item"] == dict(sizes)
    assert first["table"] in done.stdout and len(first["table"].splitlines()) == 2 + 6 + 1
    assert "ETA" in done.stderr

    assert all(row["spec"]["temperature"] == 20.0 for row in first["runs"])  # the default
    colder, _ = _run(tmp_path, "colder.json", "--temperature", "1")
    assert colder["model"]["load_seconds"] is None  # everything came from the cache
    assert colder["smollm2_explanations"]["generated_items"] == 0
    for row in colder["runs"]:
        before = runs[(row["set"], row["run"])]
        assert row["scored_items"] == 0 and row["cached_items"] == 2
        assert row["spec"]["temperature"] == 1.0 and row["cache_key"] == before["cache_key"]
        entropy, entropy_before = (r["metrics"]["entropy_model"]["mean"] for r in (row, before))
        assert entropy < entropy_before  # sharper, from the same logits
