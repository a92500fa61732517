"""What ``mjd up`` prints: progress lines without a terminal (``make run > log``,
``docker logs``) say a slow step's rate and ETA every PLAIN_EVERY_SECONDS, each 10% and the
last line always print; the bootstrap hints at a smaller size when its wait is long (the
clock is passed in); and its workers leave out Celery's warning about running as root."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from services.cli import build_parser
from services.cli.bootstrap_follower import LONG_BOOTSTRAP_SECONDS, smaller_bootstrap
from services.cli.launcher import worker_command, worker_env
from services.cli.progress import PLAIN_EVERY_SECONDS, ProgressBar


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_a_slow_step_prints_a_timed_line_with_rate_and_eta(clock):
    """2,046 MJD prompts at 0.2/s showed `0/2046 0.0/s ETA ?` for minutes: a line came
    only per 10% of the work."""
    stream = io.StringIO()
    bar = ProgressBar("MJD prompts", stream, clock=clock)
    bar(0, 2046)
    for done in range(1, 31):  # 30 prompts, one per 5 s: 150 s, under 2% of the work
        clock.now += 5
        bar(done, 2046)
    lines = _lines(stream)
    assert len(lines) >= 150 / PLAIN_EVERY_SECONDS
    last = lines[-1]
    assert " 30/2046 12.0/min ETA 2h48m (2m30s elapsed)" in last, last


def test_the_rate_counts_from_the_first_report(clock):
    """`mjd up` started again follows a bootstrap already half done: its first 1,000 prompts
    were not done in the first second."""
    stream = io.StringIO()
    bar = ProgressBar("MJD prompts", stream, clock=clock)
    clock.now += 1
    bar(1000, 2046)
    clock.now += 10
    bar(1010, 2046)
    assert " 1010/2046 1.0/s ETA 17m16s " in _lines(stream)[-1]


def test_each_tenth_prints_even_between_timed_lines(clock):
    stream = io.StringIO()
    bar = ProgressBar("training steps", stream, clock=clock)
    for done in range(101):  # fast: every call within the same second
        clock.now += 0.001
        bar(done, 100)
    shown = [int(re.search(r" (\d+)/100 ", line).group(1)) for line in _lines(stream)]
    assert shown == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]


def test_the_final_line_is_printed_once_however_often_it_is_reported(clock):
    """The bootstrap's last `72/72` line never printed; reporting done == total again (the
    launcher polls a finished job) prints nothing more."""
    stream = io.StringIO()
    bar = ProgressBar("training steps", stream, clock=clock)
    bar(0, 72)
    clock.now += 1
    bar(71, 72)
    clock.now += 0.1
    for _ in range(3):
        bar(72, 72)
    lines = _lines(stream)
    assert lines[-1].startswith("training steps [" + "#" * 30 + "] 72/72 ")
    assert sum(" 72/72 " in line for line in lines) == 1
    assert bar.finished and bar.eta == 0


def test_a_terminal_gets_one_redrawn_line_ending_once(clock):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = ProgressBar("steps", stream, clock=clock)
    for done in (0, 5, 10, 10):
        clock.now += 1
        bar(done, 10)
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1


@pytest.mark.parametrize(
    ("items", "eta", "expected"),
    [
        (341, LONG_BOOTSTRAP_SECONDS - 1, None),  # not long: no hint
        (341, float("inf"), None),  # rate unknown yet
        (341, 4 * 3600, 8),  # hours: the smallest size allowed
        (341, 1800, 56),  # 30 min: a size that takes about 5 min
        (8, 7200, None),  # already the smallest
    ],
)
def test_a_long_bootstrap_suggests_a_smaller_one(items, eta, expected):
    assert smaller_bootstrap(items, eta, smallest=8) == expected


def test_workers_leave_out_celerys_warning_about_root():
    """Each start of `mjd up` as root (a container's user) printed three blocks of Celery's
    SecurityWarning, one per worker. The worker's interpreter, with its options, is given
    Celery's own warning."""
    command = worker_command("services.metrics.worker", "metrics", "metrics@test")
    interpreter = command[: command.index("-m")]
    warn = (
        "import warnings; from celery.exceptions import SecurityWarning; "
        "from celery.platforms import ROOT_DISCOURAGED; "
        "warnings.warn(SecurityWarning(ROOT_DISCOURAGED.format(uid=0, euid=0, gid=0, egid=0)))"
    )
    run = subprocess.run(
        [*interpreter, "-c", warn], env=worker_env(os.environ), capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "superuser" not in run.stderr and "SecurityWarning" not in run.stderr, run.stderr
    other = subprocess.run(
        [*interpreter, "-c", "import warnings; warnings.warn('something else')"],
        capture_output=True,
        text=True,
    )
    assert "something else" in other.stderr  # only that warning is left out


ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    ("variables", "port", "items", "bootstrap"),
    [
        ([], 8000, None, True),
        (["PORT=8010", "BOOTSTRAP_ITEMS=50"], 8010, 50, True),
        (["NO_BOOTSTRAP=1"], 8000, None, False),
    ],
)
def test_make_run_passes_the_bootstrap_size_and_no_bootstrap(variables, port, items, bootstrap):
    """`make` could not pass `--bootstrap-items` or `--no-bootstrap` to `mjd up`. The line
    `make run` would run is parsed by mjd's own parser. Run under `make test`, the child make
    inherits MAKEFLAGS and MAKELEVEL (and would print "Entering directory"), so they are left
    out."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", *variables],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    command = dry.stdout.strip().splitlines()[-1].split()
    assert command[0].endswith("/mjd"), dry.stdout
    args = build_parser().parse_args(command[1:])
    assert (args.port, args.bootstrap_items, not args.no_bootstrap) == (port, items, bootstrap)
