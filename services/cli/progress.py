"""Progress on stderr for the long commands (generate, train) and for ``mjd up`` while it
bootstraps a student, kept apart so the launcher need not import the command line."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

#: without a terminal (a log file, ``docker logs``) a line at least this often, so a slow
#: step still shows its rate and ETA, besides one per 10% and the last one
PLAIN_EVERY_SECONDS = 10.0


class ProgressBar:
    """A one-line progress bar with rate and ETA on stderr. Without a terminal it prints a
    line every PLAIN_EVERY_SECONDS, on each 10%, and always the final one (done == total);
    ``clock`` is injectable for tests."""

    def __init__(
        self,
        label: str,
        stream: object | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = PLAIN_EVERY_SECONDS,
    ) -> None:
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock
        self.every = every
        #: when the first report came (the step's elapsed time counts from there)
        self.start: float | None = None
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_decile = -1
        self.last_printed: float | None = None
        #: when the work was last seen at its first count, and that count: the rate counts
        #: from there, not from a wait for a worker or a model load (nor from the start of a
        #: bootstrap that ``mjd up`` started again finds half done)
        self.first: tuple[float, int] | None = None
        self.finished = False
        #: seconds left at the last report (inf while the rate is unknown)
        self.eta = float("inf")

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        self.start = now if self.start is None else self.start
        elapsed = now - self.start
        if self.first is None or done <= self.first[1]:
            self.first = (now, done)
        since, before = self.first
        rate = (done - before) / (now - since) if now > since else 0.0
        measured = now - since >= self.every  # a rate over a few items says little
        self.eta = (
            0.0 if done >= total
            else (total - done) / rate if rate > 0 and measured
            else float("inf")
        )  # fmt: skip
        filled = min(30, int(30 * done / total)) if total else 30
        line = (
            f"{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} "
            f"{_rate(rate)} ETA {_duration(self.eta)}"
        )
        final = done >= total
        if self.tty:
            if not (final and self.finished):
                print("\r" + line, end="\n" if final else "", file=self.stream, flush=True)
        else:
            decile = min(10, int(10 * done / total)) if total else 10
            due = self.last_printed is None or now - self.last_printed >= self.every
            if (final and not self.finished) or (not final and (due or decile != self.last_decile)):
                print(f"{line} ({_duration(elapsed)} elapsed)", file=self.stream, flush=True)
                self.last_printed = now
            self.last_decile = decile
        self.finished = final


def _rate(per_second: float) -> str:
    """Items per second, or per minute when under one a second (0.0/s says nothing)."""
    return (
        f"{per_second:.1f}/s"
        if per_second >= 1 or per_second == 0
        else f"{60 * per_second:.1f}/min"
    )


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
