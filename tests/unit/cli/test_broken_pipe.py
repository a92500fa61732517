"""`mjd … | head`: a reader that left ends the command quietly, without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from services.cli import EXIT_BROKEN_PIPE

ROOT = Path(__file__).resolve().parents[3]


def test_a_reader_that_left_ends_the_command_quietly():
    """`mjd evaluate … | head` ended in a BrokenPipeError traceback. The pipe's read end is
    closed before the command starts, so its first write finds no reader."""
    read, write = os.pipe()
    os.close(read)
    try:
        command = ["evaluate", "--human", "explained", "--model", "explained", "--bootstrap", "0"]
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", *command],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            check=False,
        )
    finally:
        os.close(write)
    assert result.returncode == EXIT_BROKEN_PIPE
    assert result.stderr == ""
