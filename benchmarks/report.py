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
