"""benchmarks/tasks.py in its smoke mode (4 items per LeWiDi set, a 1-epoch student): every
run succeeds, the ordinal runs take 2 prompts per explanation order, the scores carry
Wasserstein exactly for the ordinal tasks, and the students answer the scale's 11 labels."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.lewidi_data import LEWIDI_DIR, ROOT, needs_lewidi

pytestmark = [pytest.mark.slow, needs_lewidi]
SCRIPT = ROOT / "benchmarks" / "tasks.py"


def test_the_smoke_run_succeeds_and_reports_every_task(tmp_path):
    out = tmp_path / "tasks.json"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--out", str(out), "--lewidi", str(LEWIDI_DIR)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=1200,
    )
    result = json.loads(out.read_text())
    assert result["failed"] == []
    runs = result["runs"]
    assert set(runs) == {
        "paraphrase_k0", "paraphrase_k4", "paraphrase_k4_labels", "csc_k0", "md_agreement_k0",
    }  # fmt: skip
    for name, run in runs.items():
        assert run["items"] == 4
        assert run["prompts_per_explanation_order"] == 2  # the scale both ways; binary: 2! = 2
        ordinal = not name.startswith("md_agreement")
        assert (run["mjd"]["wasserstein"] is not None) == ordinal
        assert run["option_policy"] == ("scale" if ordinal else "all")
    assert runs["paraphrase_k4"]["prompts"] == 4 * 1 * 2  # one explanation order each
    for baseline in result["baselines"]["paraphrase_dev"].values():
        assert baseline["manhattan"] > 0 and baseline["wasserstein"] > 0
    for name in ("student_human", "student_mjd"):
        assert result["students"][name]["labels"] == [str(v) for v in range(-5, 6)]
