"""The API's /metrics as Prometheus and people read it (one content type, one charset, the
format negotiated), and each process registering only its own series."""

from __future__ import annotations

import os
import subprocess
import sys

from shared.platform.telemetry import API_SERIES, WORKER_SERIES
from tests.conftest import OPENMETRICS_EXPOSITION, PROMETHEUS_ACCEPT, TEXT_EXPOSITION


def test_api_metrics_content_type_has_one_charset(api):
    """Issue 13: /metrics answered `text/plain; version=1.0.0; charset=utf-8; charset=utf-8`."""
    api.get("/healthz")  # a request, so the request series have a sample
    plain = api.get("/metrics")
    assert plain.status_code == 200
    assert plain.headers.get_list("content-type") == [TEXT_EXPOSITION]
    assert "mjd_requests_total{" in plain.text
    scraped = api.get("/metrics", headers={"accept": PROMETHEUS_ACCEPT})
    assert scraped.headers.get_list("content-type") == [OPENMETRICS_EXPOSITION]
    assert scraped.text.count("# EOF") == 1 and scraped.text.endswith("# EOF\n")


def registered_series(*modules: str) -> set[str]:
    """The mjd series a fresh process registers once it has imported ``modules`` (by family
    name, as prometheus_client lists them: a counter without ``_total``)."""
    code = (
        "import importlib, sys\n"
        "from prometheus_client import REGISTRY\n"
        "for name in sys.argv[1:]: importlib.import_module(name)\n"
        "print(' '.join(f.name for f in REGISTRY.collect() if f.name.startswith('mjd_')))"
    )
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0"}  # named, never contacted
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", code, *modules],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return set(result.stdout.split())


def families(names: tuple[str, ...]) -> set[str]:
    return {name.removesuffix("_total") for name in names}


def test_workers_register_only_worker_series():
    """Issue 13: every worker exposed the API's mjd_predictor_* series (as zeros)."""
    workers = ("services.generator.worker", "services.metrics.worker", "services.trainer.worker")
    assert registered_series(*workers) == families(WORKER_SERIES)


def test_the_api_registers_its_series_and_no_supervisor_series():
    registered = registered_series("services.api.app")
    assert registered <= families(API_SERIES)
    assert {"mjd_predictor_batch_size", "mjd_jobs_submitted"} <= registered
    assert "mjd_worker_restarts" not in registered  # mjd up's own, counted in its process
