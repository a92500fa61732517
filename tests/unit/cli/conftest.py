from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.unit.cli.mjd_files import write_mjd


@pytest.fixture
def five_mjds(tmp_path, explained) -> Path:
    """``mjd generate --limit 5`` output: MJDs for the first 5 of the 341 explained items."""
    rng = np.random.default_rng(2)
    ids = [i.id for i in explained[:5]]
    return write_mjd(tmp_path / "gen5.jsonl", ids, [rng.normal(0, 2, (1, 6, 3)) for _ in ids])
