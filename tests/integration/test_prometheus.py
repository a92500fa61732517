"""A real Prometheus with the project's scrape config and alert rules, pointed at a running
API and workers on this machine: every target up; every PromQL expression of the Grafana
dashboard and of the rules evaluates, and names only series that exist after some traffic;
promtool accepts the config and the rules."""

from __future__ import annotations

import shutil
import subprocess
import time

import httpx
import pytest
import yaml

from shared.platform import jobs
from shared.platform.registry import ModelRegistry
from tests.conftest import publish_copy
from tests.deploy.test_manifests import DEPLOY, expressions, metric_names
from tests.integration.conftest import free_port

PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    not (PROMETHEUS and PROMTOOL),
    reason="needs Debian's prometheus package (installed by .ci/run); not installable here",
)
RULES = DEPLOY / "prometheus" / "mjd-rules.yml"
SCRAPE = DEPLOY / "prometheus" / "prometheus.yml"


def test_promtool_accepts_the_config_and_the_rules():
    for command in (["check", "config", str(SCRAPE)], ["check", "rules", str(RULES)]):
        result = subprocess.run([PROMTOOL, *command], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def local_config(api: str, workers: dict[str, str]) -> dict:
    """The project's scrape config with the compose host names replaced by local addresses
    (job names, labels, paths and rules kept)."""
    config = yaml.safe_load(SCRAPE.read_text())
    config["global"] = {"scrape_interval": "2s", "evaluation_interval": "2s"}
    config["rule_files"] = [str(RULES)]
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            queue = static.get("labels", {}).get("queue")
            static["targets"] = [workers[queue] if queue else api]
    return config


def query(base: str, expression: str) -> dict:
    answer = httpx.get(f"{base}/api/v1/query", params={"query": expression}, timeout=10).json()
    assert answer["status"] == "success", (expression, answer)
    return answer["data"]


def test_live_prometheus_scrapes_everything_the_dashboard_and_rules_use(
    service_env, serve, start_worker, student_model, tmp_path
):
    registry = ModelRegistry(jobs.store(), jobs.database())
    registry.promote(publish_copy(registry, student_model))
    api = serve(MJD_MODEL_POLL_SECONDS="1")
    workers = {}
    for module, queue in (
        ("services.generator.worker", "mjd"),
        ("services.metrics.worker", "metrics"),
        ("services.trainer.worker", "training"),
    ):
        port = free_port()
        metrics_dir = tmp_path / f"metrics-{queue}"
        metrics_dir.mkdir()
        start_worker(
            module,
            queue,
            MJD_WORKER_METRICS_PORT=str(port),
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        )
        workers[queue] = f"127.0.0.1:{port}"
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(local_config(api.removeprefix("http://"), workers)))
    check = subprocess.run([PROMTOOL, "check", "config", str(config)], capture_output=True)
    assert check.returncode == 0, check.stdout
    port = free_port()
    prometheus = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=(tmp_path / "prometheus.log").open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        # traffic: predictions (one refused as malformed), and a metrics job through a worker
        with httpx.Client(base_url=api, timeout=30) as client:
            pair = {"premise": "A man sleeps.", "hypothesis": "A person rests."}
            for _ in range(5):
                assert client.post("/v1/predict", json={"instances": [pair]}).status_code == 200
            assert client.post("/v1/predict", json={"instances": []}).status_code == 422
            job = client.post(
                "/v1/metrics-jobs",
                json={
                    "human": {"distributions": [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]]},
                    "model": {"distributions": [[0.5, 0.3, 0.2], [0.3, 0.4, 0.3]]},
                    "plot": False,
                    "bootstrap": 10,
                },
            ).json()
            deadline = time.monotonic() + 120
            while client.get(f"/v1/jobs/{job['id']}").json()["state"] != "SUCCEEDED":
                assert time.monotonic() < deadline
                time.sleep(0.5)
        deadline = time.monotonic() + 60
        while True:  # scraped after the traffic
            try:
                finished = query(base, 'mjd_jobs_finished_total{queue="metrics"}')["result"]
                predicted = query(base, 'mjd_predictor_batch_size_count{job="mjd-api"}')["result"]
                if finished and predicted and float(predicted[0]["value"][1]) >= 5:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (finished, predicted)
            time.sleep(0.5)

        deadline = time.monotonic() + 30
        while True:  # every target up at one scrape (a loaded 2-core machine may time one out)
            targets = httpx.get(f"{base}/api/v1/targets").json()["data"]["activeTargets"]
            if all(t["health"] == "up" for t in targets) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert all(t["health"] == "up" for t in targets), [
            (t["scrapeUrl"], t["health"], t["lastError"]) for t in targets
        ]
        assert len(targets) == 4
        assert {t["labels"]["job"] for t in targets} == {"mjd-api", "mjd-workers"}
        assert {t["labels"].get("queue") for t in targets} == {None, "mjd", "metrics", "training"}

        names = set(httpx.get(f"{base}/api/v1/label/__name__/values").json()["data"])
        for expression in expressions():
            query(base, expression.replace("$__rate_interval", "1m"))
            missing = metric_names(expression) - names
            assert not missing, (expression, missing)
        rules = httpx.get(f"{base}/api/v1/rules").json()["data"]["groups"]
        loaded = [rule for group in rules for rule in group["rules"]]
        assert len(loaded) == len(yaml.safe_load(RULES.read_text())["groups"][0]["rules"])
        assert all(rule["health"] == "ok" for rule in loaded), loaded
    finally:
        prometheus.terminate()
        prometheus.wait(20)
