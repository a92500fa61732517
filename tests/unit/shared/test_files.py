"""The one atomic writer: the new file appears whole, a failed write leaves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.files import write_atomically


def test_writes_text_and_bytes_into_new_folders(tmp_path: Path) -> None:
    text, data = tmp_path / "a" / "t.txt", tmp_path / "b" / "d.bin"
    write_atomically(text, lambda handle: handle.write("é\n"))
    write_atomically(data, lambda handle: handle.write(b"\x00\x01"), binary=True)
    assert text.read_text(encoding="utf-8") == "é\n" and data.read_bytes() == b"\x00\x01"


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("old")

    def fail(handle: object) -> None:
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_atomically(path, fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.txt"]
