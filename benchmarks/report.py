"""What every benchmark script ends with: its JSON result on stdout, and in --out if given.

The scripts run as ``python benchmarks/<name>.py``, so this folder is on sys.path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(result: dict[str, Any], out: str | None) -> None:
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        Path(out).write_text(text + "\n")


def machine(backend: Any = None) -> dict[str, Any]:
    """Where a figure was measured: Python, platform, CPUs (the machine's and those this
    process may use), torch's threads and, given a backend, its device."""
    import os
    import platform
    import sys

    import torch

    from shared.cpus import usable_cpus

    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    if backend is not None:
        info["device"] = backend.device
    return info
