"""torch's threads for MJD scoring: as many as the CPUs the process may use, waiting passively."""

from __future__ import annotations

import os
import subprocess
import sys

import torch

from services.generator.backends import local


def _wait_policy(env: dict[str, str]) -> str:
    code = "import os, services; print(os.environ['OMP_WAIT_POLICY'])"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_openmp_threads_wait_passively_unless_told_otherwise():
    """With spinning waits one busy process beside a 2-thread run made it 3x slower
    (benchmarks/generator.py --busy 1); every entry point imports ``services`` first."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _wait_policy(env) == "PASSIVE"
    assert _wait_policy({**env, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"


def test_the_backend_sizes_torch_threads_by_the_usable_cpus(monkeypatch, tiny_llm):
    """torch sized its pool by the machine, not by the CPUs a container may use."""
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(local, "usable_cpus", lambda: 1)
    try:
        local.TransformersBackend(tiny_llm, batch_size=1)
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the operator's setting wins
        torch.set_num_threads(2)
        local.TransformersBackend(tiny_llm, batch_size=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
