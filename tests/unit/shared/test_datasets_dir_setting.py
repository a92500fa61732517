"""MJD_DATASETS_DIR reaches the readers only through Settings (the core reads no variable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.datasets import DEFAULT_DATASETS_DIR, VENDORED, read_instances, vendored_path
from shared.platform.settings import Settings, datasets_dir_from_env


def test_the_default_is_the_checkouts_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MJD_DATASETS_DIR", raising=False)
    assert Settings.from_env().datasets_dir == DEFAULT_DATASETS_DIR == datasets_dir_from_env()
    assert (DEFAULT_DATASETS_DIR / VENDORED["explained"]).is_file()


def test_a_configured_folder_is_where_vendored_sets_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MJD_DATASETS_DIR", str(tmp_path))
    folder = Settings.from_env().datasets_dir
    assert folder == tmp_path
    first_item = vendored_path("explained").read_text(encoding="utf-8").splitlines()[0]
    (tmp_path / VENDORED["explained"]).write_text(first_item + "\n", encoding="utf-8")
    assert len(read_instances(vendored_path("explained", folder))) == 1
