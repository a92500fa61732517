"""Where tests find the LeWiDi files (no stated licence: read by path, never copied into the
repository) and the small fixtures of the same shapes that the project's tests own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the organisers' files: ``MJD_LEWIDI_DIR``, else ``../shared/data/lewidi`` beside the checkout
LEWIDI_DIR = Path(os.environ.get("MJD_LEWIDI_DIR", ROOT.parent / "shared" / "data" / "lewidi"))
FIXTURES = ROOT / "tests" / "fixtures" / "lewidi"
TASK_FIXTURES = ROOT / "tests" / "fixtures" / "tasks"

needs_lewidi = pytest.mark.skipif(
    not LEWIDI_DIR.is_dir(),
    reason=f"the LeWiDi files are not at {LEWIDI_DIR} (set MJD_LEWIDI_DIR to their folder)",
)


def lewidi_file(name: str) -> Path:
    """``2025/Paraphrase_dev.json`` and the like, under :data:`LEWIDI_DIR`."""
    return LEWIDI_DIR / name
