"""benchmarks/serving.py in its smoke mode: a real export served by two real API processes,
every request answered 200 (it stopped starting its API once models lived in the job store,
and got 401s once keys existed, without any test noticing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_the_serving_benchmark_runs_and_every_request_is_answered(tmp_path):
    out = tmp_path / "serving.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "serving.py"), "--rounds", "1",
         "--pairs", "64", "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["pairs"] == 64 and report["http"]["non_200"] == 0
    assert report["http"]["batching_off"]["mean_batch_size"] == 1.0
    assert report["raw_onnxruntime"]["batch32_pairs_per_s"] > 0
