"""`mjd up` from scratch with REDIS_URL unset (embedded Redis): it bootstraps a student
through the real queues (on 12 items here, to keep CI short), then is driven over HTTP the
way the README's curl session does, and stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def stack(tmp_path):
    port = _free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")
    }
    env["ARTIFACTS_DIR"] = str(tmp_path / "artifacts")
    log = (tmp_path / "up.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "up",
            "--port",
            str(port),
            "--bootstrap-items",
            "12",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:  # up, and done bootstrapping the student
        assert process.poll() is None, (tmp_path / "up.log").read_text()[-3000:]
        if "ready; POST" in (tmp_path / "up.log").read_text():
            break
        time.sleep(0.5)
    else:
        raise AssertionError((tmp_path / "up.log").read_text()[-3000:])
    yield base, process
    if process.poll() is None:  # a failed test: SIGTERM stops its children too (their own
        process.send_signal(signal.SIGTERM)  # sessions, which a group SIGKILL would orphan)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_readme_session_against_mjd_up(stack, tmp_path):
    base, process = stack
    log = (tmp_path / "up.log").read_text()
    for step in ("no promoted student", "MJD prompts", "training steps", "student v1 promoted"):
        assert step in log, log[-3000:]
    # issue 13: each step's last progress line; no GGUF conversion bar, no Celery root warning
    assert re.search(r"^MJD prompts \[#{30}\] 72/72 ", log, re.MULTILINE), log[-3000:]
    assert re.search(r"^training steps \[#{30}\] (\d+)/\1 ", log, re.MULTILINE), log[-3000:]
    assert "de-quantizing" not in log and "SecurityWarning" not in log, log[-3000:]
    with httpx.Client(base_url=base, timeout=30) as http:
        models = http.get("/v1/models").json()
        assert models["promoted"] == "v1" and models["serving"]["version"] == "v1"
        bootstrapped = models["models"][0]["training_data"]
        assert bootstrapped["targets"] == "mjd" and bootstrapped["calibration"]["fitted_items"] == 4
        predicted = http.post(
            "/v1/predict",
            json={"instances": [{"premise": "A dog runs.", "hypothesis": "An animal moves."}]},
        ).json()
        assert predicted["model"]["version"] == "v1"
        assert abs(sum(predicted["predictions"][0]["distribution"]) - 1) < 1e-5
        items = [
            {
                "id": f"i{n}",
                "premise": f"A dog runs in park {n}.",
                "hypothesis": "An animal moves.",
                "probs": [0.7, 0.2, 0.1],
            }
            for n in range(3)
        ]
        dataset = http.post("/v1/datasets", json={"instances": items}).json()
        job = http.post("/v1/mjd-jobs", json={"dataset_id": dataset["id"], "run": {"k": 0}})
        assert job.status_code == 202
        job_id = job.json()["id"]
        deadline = time.monotonic() + 180
        while (view := http.get(f"/v1/jobs/{job_id}").json())["state"] not in (
            "SUCCEEDED",
            "FAILED",
        ):
            assert time.monotonic() < deadline, view
            time.sleep(0.5)
        assert view["state"] == "SUCCEEDED", view
        records = http.get(f"/v1/jobs/{job_id}/result").json()["records"]
        assert [r["id"] for r in records] == ["i0", "i1", "i2"]
        report = http.post(
            "/v1/metrics",
            json={
                "human": [i["probs"] for i in items],
                "model": [r["distribution"] for r in records],
            },
        ).json()
        assert report["n"] == 3 and report["kl"]["mean"] > 0
        scrape = http.get("/metrics").text
        for series in (
            'mjd_requests_total{app_name="mjd",method="POST",path="/v1/mjd-jobs",'
            'status_code="202"} 1.0',  # this one: the bootstrap's came through /v1/bootstrap
            'mjd_requests_total{app_name="mjd",method="POST",path="/v1/bootstrap",'
            'status_code="202"}',
            'mjd_jobs_submitted_total{queue="mjd"} 2.0',  # the bootstrap's and this one
            'mjd_jobs_finished_total{queue="mjd",state="SUCCEEDED"} 2.0',
            'mjd_jobs_finished_total{queue="training",state="SUCCEEDED"} 1.0',
            'mjd_predictor_model_info{provider="CPUExecutionProvider",variant="fp32",'
            'version="v1"} 1.0',
            'mjd_queue_depth{queue="mjd"} 0.0',
        ):
            assert series in scrape, series
        assert "mjd_job_duration_seconds_bucket" in scrape
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(60) == 0
