"""Issue 22: a task a user defines (a 4-label stance over one text) end to end through the
real API and real workers: added as a task, items stored as a dataset of it, MJDs made by
SmolLM2 (4 labels: all 24 option orders), human and model compared by a metrics job, a
student trained on the human soft labels, promoted for the task and answering with its
labels on /v1/predict."""

from __future__ import annotations

import time

import httpx
import numpy as np

from tests.integration.http_jobs import succeeded, wait_for_job

LONG_LIMITS = {"MJD_TASK_SOFT_TIME_LIMIT": "540", "MJD_TASK_TIME_LIMIT": "600"}
LABELS = ["favor", "against", "neutral", "unrelated"]
STANCE = {
    "name": "stance",
    "version": 1,
    "description": "Stance of a tweet towards renewable energy",
    "inputs": [{"name": "text", "shown_as": "Tweet"}],
    "labels": [{"name": n, "word": n.capitalize()} for n in LABELS],
    "prompt": {
        "version": "stance-v1",
        "instruction": "determine the stance of the tweet towards renewable energy and select "
        "ONE of the listed options and start your answer with a single letter. ",
    },
    "explanations": {
        "version": "v1",
        "label_guided": '{inputs}A reader chose {word}. Give short reasons, each starting "- ".',
        "label_free": "{inputs}Which of {words} would a reader choose?",
    },
}
TWEETS = [
    "Solar panels on every roof, now!",
    "Wind farms ruin the view and the birds.",
    "The council meets on Tuesday about the new wind farm.",
    "My cat slept all day again.",
    "Cheaper batteries make renewables unstoppable.",
    "Subsidies for solar are a waste of money.",
    "Read the report on energy prices before you decide.",
    "Best pizza in town is two streets down.",
]


def _items() -> list[dict]:
    rng = np.random.default_rng(0)
    return [
        {"id": f"t{i}", "text": text, "probs": rng.dirichlet(np.ones(4)).tolist()}
        for i, text in enumerate(TWEETS)
    ]


def _predicted(base: str, body: dict, within: float = 120) -> httpx.Response:
    """The answer once the API has loaded the promoted model (it polls the registry every
    MJD_MODEL_POLL_SECONDS): 503 until then."""
    deadline = time.monotonic() + within
    while True:
        answer = httpx.post(f"{base}/v1/predict", json=body, timeout=60)
        if answer.status_code != 503 or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.text
            return answer
        time.sleep(1)


def test_a_user_task_runs_end_to_end(serve, start_worker):
    base = serve()
    start_worker("services.generator.worker", "mjd", **LONG_LIMITS)
    start_worker("services.metrics.worker", "metrics")
    start_worker("services.trainer.worker", "training")
    made = httpx.post(f"{base}/v1/tasks", json=STANCE, timeout=30)
    assert made.status_code == 201, made.text
    items = _items()
    dataset = httpx.post(
        f"{base}/v1/datasets", json={"instances": items, "task": "stance"}, timeout=30
    ).json()
    assert dataset["task"] == "stance@1", dataset

    mjd = httpx.post(f"{base}/v1/mjd-jobs", json={"dataset_id": dataset["id"]}, timeout=30)
    assert mjd.status_code == 202, mjd.text
    done = wait_for_job(base, mjd.json()["id"], succeeded, 600)
    assert done["progress"]["total"] == len(items) * 24  # 4! option orders, k = 0
    records = httpx.get(f"{base}/v1/jobs/{done['id']}/result", timeout=30).json()["records"]
    assert [r["id"] for r in records] == [i["id"] for i in items]
    assert all(r["labels"] == LABELS and len(r["distribution"]) == 4 for r in records)

    metrics = httpx.post(
        f"{base}/v1/metrics-jobs",
        json={"human": {"dataset_id": dataset["id"]}, "model": {"job_id": done["id"]}},
        timeout=30,
    )
    assert metrics.status_code == 202, metrics.text
    scored = wait_for_job(base, metrics.json()["id"], succeeded, 300)
    report = httpx.get(f"{base}/v1/jobs/{scored['id']}/result", timeout=30).json()["report"]
    assert report["conventions"]["label_order"] == LABELS and report["n"] == len(items)
    assert report["manhattan"]["mean"] > 0 and report.get("wasserstein") is None

    training = httpx.post(
        f"{base}/v1/training-jobs",
        json={
            "data": {"dataset_id": dataset["id"]},
            "train": {"epochs": 1, "dev_fraction": 0.25, "max_length": 32},
            "quantize": False,
            "promote": True,
        },
        timeout=30,
    )
    assert training.status_code == 202, training.text
    assert training.json()["task"] == "stance@1"
    wait_for_job(base, training.json()["id"], succeeded, 600)
    answer = _predicted(
        base, {"task": "stance", "instances": [{"text": "Go solar!"}, {"text": "Hm."}]}
    )
    body = answer.json()
    assert body["labels"] == LABELS and body["task"] == "stance@1"
    assert [len(p["distribution"]) for p in body["predictions"]] == [4, 4]
