"""Issue 22: jobs for tasks beyond NLI through the real API and a real generation worker with
SmolLM2: an 11-way MJD job on Paraphrase-shaped items (the annotators' explanations, k = 2),
and a 2-label task explained by the LLM, then given MJDs from those explanations."""

from __future__ import annotations

import httpx

from shared.tasks import BUILTIN, option_orders
from tests.integration.http_jobs import succeeded, wait_for_job

#: far above the jobs' length: a busy machine must not end them at the soft limit
LONG_LIMITS = {"MJD_TASK_SOFT_TIME_LIMIT": "540", "MJD_TASK_TIME_LIMIT": "600"}
PARAPHRASE = [
    {
        "id": "p1",
        "Question1": "How can I learn to cook rice?",
        "Question2": "What is the best way to cook rice?",
        "soft_label": {"3": 0.5, "5": 0.5},
        "explanations": [
            {"text": "Both ask how to cook rice.", "label": "5"},
            {"text": "One asks for the best way only.", "label": "3"},
        ],
    },
    {
        "id": "p2",
        "Question1": "Why is the sky blue?",
        "Question2": "How far away is the moon?",
        "soft_label": {"-5": 1.0},
        "explanations": ["Different topics.", "Nothing in common."],
    },
]
TWEETS = [
    {"id": "t1", "text": "<user> you are a disgrace, get lost", "labels": ["1", "1", "0"]},
    {"id": "t2", "text": "What a lovely morning in the park", "labels": ["0"]},
]


def test_an_mjd_job_on_an_ordinal_task_gives_eleven_way_mjds(serve, start_worker):
    base = serve()
    start_worker("services.generator.worker", "mjd", **LONG_LIMITS)
    body = {"instances": PARAPHRASE, "task": "paraphrase", "run": {"k": 2}}
    created = httpx.post(f"{base}/v1/mjd-jobs", json=body, timeout=30)
    assert created.status_code == 202, created.text
    assert created.json()["task"] == "paraphrase@1"
    view = wait_for_job(base, created.json()["id"], succeeded, 600)
    assert view["progress"]["total"] == 2 * 2 * 2  # items x explanation orders x 2 orders
    records = httpx.get(f"{base}/v1/jobs/{view['id']}/result", timeout=30).json()["records"]
    scale = list(BUILTIN["paraphrase"].label_names)
    for record in records:
        assert len(record["distribution"]) == 11 and abs(sum(record["distribution"]) - 1) < 1e-6
        assert record["labels"] == scale and record["option_policy"] == "scale"
        assert record["option_orders"] == [scale, scale[::-1]]
        assert len(record["explanation_orders"]) == 2  # P(2, 2)


def test_a_binary_task_is_explained_then_given_mjds(serve, start_worker):
    base = serve()
    start_worker("services.generator.worker", "mjd", **LONG_LIMITS)
    body = {
        "instances": TWEETS,
        "task": "md-agreement",
        "mode": "label-guided",
        "decoding": {"max_new_tokens": 32},
    }
    created = httpx.post(f"{base}/v1/explanation-jobs", json=body, timeout=30)
    assert created.status_code == 202, created.text
    explained = wait_for_job(base, created.json()["id"], succeeded, 600)
    result = httpx.get(f"{base}/v1/jobs/{explained['id']}/result", timeout=30).json()
    for record, item in zip(result["explained"], TWEETS, strict=True):
        assert record["explanation_generation"]["task"] == "md-agreement@1"
        assert record["explanation_generation"]["labels_given"] == item["labels"]
        assert {e["label"] for e in record["explanations"]} <= set(item["labels"])
    run = {"k": 1, "max_orders": 1, "shortfall": "use-available", "explicit": True}
    mjd = httpx.post(
        f"{base}/v1/mjd-jobs", json={"job_id": explained["id"], "run": run}, timeout=30
    )
    assert mjd.status_code == 202, mjd.text
    assert mjd.json()["task"] == "md-agreement@1"
    done = wait_for_job(base, mjd.json()["id"], succeeded, 600)
    records = httpx.get(f"{base}/v1/jobs/{done['id']}/result", timeout=30).json()["records"]
    orders = [list(o) for o in option_orders(BUILTIN["md-agreement"])]
    for record in records:
        assert len(record["distribution"]) == 2 and record["option_orders"] == orders
        assert abs(sum(record["distribution"]) - 1) < 1e-6
