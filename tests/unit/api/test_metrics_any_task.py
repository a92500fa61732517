"""Metrics for any task through the API and the metrics worker (issue 22, section 5):
``/v1/metrics`` takes a task (its labels name the columns, an ordinal one adds Wasserstein, a
row of another width is 422 naming it); a metrics job of another task writes the mean
distributions, the entropy scatter and, for an ordinal task, the expected values. Numbers are
checked against an independent computation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from shared.tasks import BUILTIN

ROOT = Path(__file__).resolve().parents[3]
SCALE = [str(n) for n in range(-5, 6)]
ONE_HOT_11 = [1.0] + [0.0] * 10


def wasserstein(h: np.ndarray, m: np.ndarray) -> float:
    k = h.shape[1]
    return float(
        np.mean([wasserstein_distance(range(k), range(k), a, b) for a, b in zip(h, m, strict=True)])
    )


def rows(n: int, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(k), size=n)


def test_sync_metrics_for_an_ordinal_task(api):
    h, m = rows(20, 11, 1), rows(20, 11, 2)
    body = {"human": h.tolist(), "model": m.tolist(), "bootstrap": 0, "task": "paraphrase"}
    response = api.post("/v1/metrics", json=body)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["conventions"]["label_order"] == SCALE and "wasserstein" in report["conventions"]
    assert report["manhattan"]["mean"] == pytest.approx(np.abs(h - m).sum(1).mean(), rel=1e-9)
    assert report["wasserstein"]["mean"] == pytest.approx(wasserstein(h, m), rel=1e-9)


def test_sync_metrics_for_a_binary_task_and_nli_as_before(api):
    h, m = rows(10, 2, 3), rows(10, 2, 4)
    body = {"human": h.tolist(), "model": m.tolist(), "bootstrap": 0, "task": "md-agreement"}
    report = api.post("/v1/metrics", json=body).json()
    assert report["conventions"]["label_order"] == ["0", "1"] and report["wasserstein"] is None
    assert report["manhattan"]["mean"] == pytest.approx(np.abs(h - m).sum(1).mean(), rel=1e-9)
    h3, m3 = rows(10, 3, 5).tolist(), rows(10, 3, 6).tolist()
    plain = api.post("/v1/metrics", json={"human": h3, "model": m3, "bootstrap": 0}).json()
    named = api.post("/v1/metrics", json={"human": h3, "model": m3, "bootstrap": 0, "task": "nli"})
    assert plain == named.json()
    assert plain["conventions"]["label_order"] == ["entailment", "neutral", "contradiction"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"human": [[0.5, 0.5]], "model": [[0.5, 0.5]], "task": "paraphrase"}, 422, "human[0]"),
        ({"human": [ONE_HOT_11], "model": [[0.5, 0.5]], "task": "paraphrase"}, 422, "model[0]"),
        ({"human": [[0.5, 0.5]], "model": [[0.5, 0.5]]}, 422, "human[0]"),  # NLI: 3 columns
        ({"human": [[0.5, 0.5]], "model": [[0.5, 0.5]], "task": "nope"}, 404, "task"),
    ],
)  # fmt: skip
def test_sync_metrics_width_must_be_the_tasks_label_count(api, body, status, field):
    response = api.post("/v1/metrics", json=body)
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["field"] == field
    if field == "human[0]" and body.get("task") == "paraphrase":
        assert "expected 11 values" in problem["detail"]


WORKER_SCRIPT = """
import json, sys
import numpy as np
from shared.contracts.specs import MetricsJobSpec
from shared.datasets import write_distributions_jsonl
from shared.platform import layout
from shared.platform.jobs import store
from shared.tasks import BUILTIN
import services.metrics.worker as worker

task, k = BUILTIN[sys.argv[1]], int(sys.argv[2])
rng = np.random.default_rng(0)
h, m = rng.dirichlet(np.ones(k), size=30), rng.dirichlet(np.ones(k), size=30)
ids = [f"i{n}" for n in range(30)]
write_distributions_jsonl(store().path("jobs", "j1", layout.METRICS_HUMAN), ids, h)
write_distributions_jsonl(store().path("jobs", "j1", layout.METRICS_MODEL), ids, m)
body = worker.evaluate_job.run.__wrapped__
summary = body(None, "j1", MetricsJobSpec(bootstrap=0, task=task))
report = store().read_json("jobs", "j1", layout.METRICS_REPORT)
pngs = {name: store().read_bytes("jobs", "j1", name)[:8].hex() for name in summary.artifacts[1:]}
print(json.dumps({"artifacts": summary.artifacts, "report": report, "pngs": pngs,
                  "h": h.tolist(), "m": m.tolist()}))
"""


def run_worker(tmp_path: Path, task: str, k: int) -> dict:
    """The metrics job's body in a process of its own (a worker's imports and series stay
    out of this one), on random rows of ``task``."""
    env = {**os.environ, "ARTIFACTS_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:9/0"}
    result = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT, task, str(k)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    ("task", "artifacts"),
    [
        ("paraphrase", ["report.json", "ternary.png", "entropy.png", "expected.png"]),
        ("md-agreement", ["report.json", "ternary.png", "entropy.png"]),
        ("nli", ["report.json", "ternary.png", "entropy.png"]),
    ],
)
def test_a_metrics_job_of_any_task_writes_its_report_and_plots(tmp_path, task, artifacts):
    k = len(BUILTIN[task].labels)
    out = run_worker(tmp_path, task, k)
    assert out["artifacts"] == artifacts
    assert all(head == b"\x89PNG\r\n\x1a\n".hex() for head in out["pngs"].values())
    report, h, m = out["report"], np.array(out["h"]), np.array(out["m"])
    assert report["n"] == 30 and report["conventions"]["label_order"] == list(
        BUILTIN[task].label_names
    )
    assert report["manhattan"]["mean"] == pytest.approx(np.abs(h - m).sum(1).mean(), rel=1e-9)
    if BUILTIN[task].ordinal:
        assert report["wasserstein"]["mean"] == pytest.approx(wasserstein(h, m), rel=1e-9)
    else:
        assert report["wasserstein"] is None
