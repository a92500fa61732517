"""Progress on stderr for the long commands (generate, train) and for ``mjd up`` while it
bootstraps a student, kept apart so the launcher need not import the command line."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """A one-line progress bar with rate and ETA on stderr (a line per 10% when not a TTY)."""

    def __init__(self, label: str, stream: object = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.start = time.monotonic()
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("inf")
        filled = int(30 * done / total) if total else 30
        line = (
            f"{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} "
            f"{rate:.1f}/s ETA {_duration(eta)}"
        )
        decile = int(10 * done / total) if total else 10
        if self.tty:
            print("\r" + line, end="\n" if done >= total else "", file=self.stream, flush=True)
        elif decile != self.last_decile:
            print(line, file=self.stream, flush=True)
        self.last_decile = decile


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
