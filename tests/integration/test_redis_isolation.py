"""The suite writes to no Redis it did not start unless MJD_TEST_REDIS_URL names one
(finding 8 of issue 11)."""

from __future__ import annotations

import os
from pathlib import Path

import redis


def _process_age() -> float:
    """Seconds since this test process started (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return float(Path("/proc/uptime").read_text().split()[0]) - int(stat[19]) / ticks


def test_finding_8_the_suite_uses_only_a_redis_it_started_or_was_given(redis_url):
    named = os.environ.get("MJD_TEST_REDIS_URL")
    if named:
        assert redis_url == named
        return
    ours = redis.Redis.from_url(redis_url).info("server")
    assert ours["uptime_in_seconds"] <= _process_age() + 1  # started by this session
    try:
        machine = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).info("server")
    except redis.RedisError:
        return  # no Redis on the default port: nothing else to tell apart
    assert machine["run_id"] != ours["run_id"], "the tests use the machine's Redis"
