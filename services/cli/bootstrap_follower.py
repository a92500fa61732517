"""``mjd up``'s bootstrap follower: through the API, makes sure a student is promoted,
starting (or resuming) the bootstrap when none is, and prints its progress until it ends.
Apart from the supervisor (:mod:`services.cli.launcher`), which only runs the processes;
paths come from :mod:`services.api.urls` and states from :class:`BootstrapState`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from services.api import urls
from services.api.domain.bootstrap import IN_FLIGHT, MIN_ITEMS, BootstrapState
from services.cli.progress import ProgressBar

#: a bootstrap whose MJD step alone would take longer than this says once how to make it
#: smaller, and suggests a size that would take about BOOTSTRAP_HINT_TARGET seconds
LONG_BOOTSTRAP_SECONDS = 15 * 60
BOOTSTRAP_HINT_TARGET = 5 * 60


def smaller_bootstrap(items: int, eta: float, smallest: int) -> int | None:
    """The bootstrap size to suggest when its MJD step has ``eta`` seconds to go on
    ``items`` items: one that would take about BOOTSTRAP_HINT_TARGET seconds; None when the
    wait is not long (or unknown yet)."""
    if eta <= LONG_BOOTSTRAP_SECONDS or eta == float("inf"):
        return None
    smaller = max(smallest, int(items * BOOTSTRAP_HINT_TARGET / eta))
    return smaller if smaller < items else None


def _follow(client: Any, job_id: str, bar: ProgressBar) -> None:
    job = client.get(urls.JOB.format(job_id=job_id)).raise_for_status().json()
    if job.get("progress"):
        bar(job["progress"]["done"], job["progress"]["total"])


def bootstrap_student(base: str, items: int | None = None) -> str | None:
    """Make sure a student is promoted; if none is, have the API bootstrap one (or go on
    with the bootstrap in flight, recorded in its job store): MJDs from the default LLM on
    the vendored explained items, in the background, calibrated (temperature and bias) on
    30% of them, a student trained on those MJDs, exported and promoted. Returns the version
    trained, or None when one was already promoted."""
    import httpx

    with httpx.Client(base_url=base, timeout=60) as client:
        if client.get(urls.MODELS).raise_for_status().json()["promoted"]:
            return None
        started = client.post(urls.BOOTSTRAP, json={"items": items}).raise_for_status().json()
        print(
            f"no promoted student: bootstrap {started['number']} trains one on "
            f"{started['items']} explained items (MJDs -> calibration -> training -> ONNX "
            "export -> promote)",
            flush=True,
        )
        bootstrap = watch_bootstrap(client, started)
        if bootstrap["state"] != BootstrapState.SUCCEEDED:
            raise RuntimeError(f"bootstrap {bootstrap['number']} failed: {bootstrap['error']}")
        version = str(bootstrap["version"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the API picks up the promotion by polling
            serving = client.get(urls.MODELS).json().get("serving") or {}
            if serving.get("version") == version:
                break
            time.sleep(0.5)
        trained = client.get(urls.JOB.format(job_id=bootstrap["training_job_id"])).json()
        dcorr = trained["summary"]["dev"]["dcorr"]
        print(f"student {version} promoted; dev D.Corr {dcorr:.3f}", flush=True)
        for warning in trained["summary"].get("warnings", []):  # e.g. a tiny dev set
            print(f"warning: {warning}", flush=True)
        return version


def watch_bootstrap(
    client: Any,
    started: dict[str, Any],
    wait: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Follow a bootstrap until it ends, polling through ``client`` (an httpx client of the
    API): a progress bar per job, each ending on its done == total line, and once a hint at
    a smaller bootstrap when the MJD step would take long. Returns the bootstrap's last view."""
    bars = {"mjd_job_id": ProgressBar("MJD prompts", clock=clock),
            "training_job_id": ProgressBar("training steps", clock=clock)}  # fmt: skip
    hinted = False
    bootstrap = started
    while bootstrap["state"] in IN_FLIGHT:
        wait(1)
        bootstrap = client.get(urls.BOOTSTRAP).raise_for_status().json()
        if bootstrap["state"] == BootstrapState.TRAINING and not bootstrap["training_job_id"]:
            bootstrap = client.post(urls.BOOTSTRAP, json={}).raise_for_status().json()
        _follow_all(client, bootstrap, bars)
        eta = bars["mjd_job_id"].eta
        smaller = smaller_bootstrap(started["items"], eta, MIN_ITEMS)
        generating = bootstrap["state"] == BootstrapState.GENERATING
        if not hinted and smaller is not None and generating:
            mjd_job = str(client.base_url).rstrip("/") + urls.JOB.format(
                job_id=bootstrap["mjd_job_id"]
            )
            print(
                f"mjd: note: at this rate the MJD step alone takes about {round(eta / 60)} "
                "more minutes. For a quicker first student cancel this bootstrap (curl -X "
                f"DELETE {mjd_job}), "
                "stop with "
                f"Ctrl-C and start again with `mjd up --bootstrap-items {smaller}` (make run "
                f"BOOTSTRAP_ITEMS={smaller})",
                file=sys.stderr,
                flush=True,
            )
            hinted = True
    _follow_all(client, bootstrap, bars)  # it may have ended between two polls
    return bootstrap


def _follow_all(client: Any, bootstrap: dict[str, Any], bars: dict[str, ProgressBar]) -> None:
    """Each of the bootstrap's jobs so far onto its bar (a bar prints its final line once)."""
    for step, bar in bars.items():
        if bootstrap[step] and not bar.finished:
            _follow(client, bootstrap[step], bar)
