"""The module Celery's own tools load (``celery -A shared.platform.celery_app …``): an app on the
broker from the environment, with task events on, made without loading any model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from shared.errors import MjdError
from shared.platform import celery_app


def test_celery_tools_find_an_app_on_the_environment_broker_without_loading_models():
    """Issue 13: `celery -A shared.platform.celery_app` failed (no attribute 'celery'). Celery's own
    lookup (find_app, as `-A` does it) in a fresh process; importing it loads no model."""
    code = (
        "import json, sys\n"
        "from celery.app.utils import find_app\n"
        "app = find_app('shared.platform.celery_app')\n"
        "print(json.dumps({'broker': app.conf.broker_url,\n"
        "    'events': [app.conf.worker_send_task_events, app.conf.task_send_sent_event],\n"
        "    'loaded': sorted({'torch', 'transformers', 'onnxruntime'} & set(sys.modules))}))"
    )
    broker = "redis://127.0.0.1:1/7"  # named, never contacted
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "REDIS_URL": broker},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout)
    assert found == {"broker": broker, "events": [True, True], "loaded": []}


def test_without_a_broker_the_tools_app_says_which_variable_to_set(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    celery_app.tools_app.cache_clear()
    with pytest.raises(MjdError, match="REDIS_URL is not set"):
        _ = celery_app.celery
    celery_app.tools_app.cache_clear()
    with pytest.raises(AttributeError):
        _ = celery_app.app  # absent, so Celery's -A (which tries `app` first) takes `celery`
