"""An explanation job through the real API and a real generation worker with SmolLM2 (issue
14, item 3): two VariErr items explained for their experts' labels, the result downloaded,
then used as the items of an MJD job that succeeds; a running one stops when cancelled."""

from __future__ import annotations

import json
import time

import httpx

from shared.datasets import read_instances, vendored_path
from shared.platform import jobs, layout
from tests.integration.http_jobs import job_view, succeeded, wait_for_job, working

#: far above the jobs' length: a busy machine must not end them at the soft limit
LONG_LIMITS = {"MJD_TASK_SOFT_TIME_LIMIT": "540", "MJD_TASK_TIME_LIMIT": "600"}
#: short answers keep the prompts quick on a busy CPU
MAX_NEW_TOKENS = 32


def test_an_explanation_job_feeds_an_mjd_job(serve, start_worker):
    base = serve()
    start_worker("services.generator.worker", "mjd", **LONG_LIMITS)
    items = read_instances(vendored_path("varierr"))[:2]
    created = httpx.post(
        f"{base}/v1/explanation-jobs",
        json={
            "instances": [item.to_json() for item in items],
            "mode": "label-guided",
            "per_label": 1,
            "decoding": {"max_new_tokens": MAX_NEW_TOKENS},
        },
        timeout=30,
    )
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    view = wait_for_job(base, job_id, succeeded, 600)

    download = httpx.get(f"{base}{view['links']['artifacts'][0]}", timeout=30)
    assert download.status_code == 200, download.text
    records = [json.loads(line) for line in download.text.splitlines()]
    assert [r["id"] for r in records] == [item.id for item in items]
    for item, record in zip(items, records, strict=True):
        made = record["explanation_generation"]
        experts = [e.label.value for e in item.explanations]  # VariErr: the experts' labels
        assert made["labels_given"] == experts
        assert made["decoding"]["max_new_tokens"] == MAX_NEW_TOKENS
        assert record["explanations"], record
        assert all(e["text"].strip() for e in record["explanations"])
        assert {e["label"] for e in record["explanations"]} <= set(experts)
    asked = sum(len(set(r["explanation_generation"]["labels_given"])) for r in records)
    assert view["progress"] == {"done": asked, "total": asked}  # one prompt per distinct label
    summary = view["summary"]
    assert summary["kind"] == "explanation" and summary["items"] == 2
    assert summary["explanations"] == sum(len(r["explanations"]) for r in records)
    result = httpx.get(f"{base}/v1/jobs/{job_id}/result", timeout=30).json()
    assert result["explained"] == records

    mjd = httpx.post(
        f"{base}/v1/mjd-jobs",
        json={"job_id": job_id, "run": {"k": 1, "explicit": True, "max_orders": 1}},
        timeout=30,
    )
    assert mjd.status_code == 202, mjd.text
    mjd_id = mjd.json()["id"]
    wait_for_job(base, mjd_id, succeeded, 600)
    mjds = httpx.get(f"{base}/v1/jobs/{mjd_id}/result", timeout=30).json()["records"]
    assert [r["id"] for r in mjds] == [item.id for item in items]
    for record in mjds:
        assert len(record["distribution"]) == 3 and min(record["distribution"]) >= 0
        assert abs(sum(record["distribution"]) - 1) < 1e-6
        assert record["spec"]["k"] == 1 and len(record["explanation_orders"]) == 1
    assert job_view(base, job_id)["state"] == "SUCCEEDED"  # the explanations stay


def test_a_running_explanation_job_stops_when_cancelled(serve, start_worker, client_app):
    base = serve()
    worker = start_worker("services.generator.worker", "mjd", **LONG_LIMITS)
    items = read_instances(vendored_path("varierr"))[:200]  # many chunks past the first
    body = {"instances": [i.to_json() for i in items], "decoding": {"max_new_tokens": 16}}
    job_id = httpx.post(f"{base}/v1/explanation-jobs", json=body, timeout=30).json()["id"]
    wait_for_job(base, job_id, working, 600)
    cancelled = httpx.delete(f"{base}/v1/jobs/{job_id}", timeout=30)
    assert cancelled.status_code == 202 and cancelled.json()["state"] == "CANCELLED"
    deadline = time.monotonic() + 300
    while any((client_app.control.inspect([worker.name], timeout=1).active() or {}).values()):
        assert time.monotonic() < deadline, "the cancelled task did not stop"
    view = job_view(base, job_id)
    assert view["state"] == "CANCELLED" and view["summary"] is None
    assert view["progress"]["done"] < view["progress"]["total"]
    assert not jobs.store().exists(layout.JOBS, job_id, layout.EXPLANATION_RESULT)
    assert jobs.finished_summary(job_id) is None
