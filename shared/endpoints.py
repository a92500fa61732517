"""OpenAI-compatible servers an MJD job may name: an endpoint's options and their bounds.
The operator lists them (MJD_OPENAI_ENDPOINTS, read by shared.platform.settings); a request
names one, and the method checks the name (shared.method.runs.LLMChoice)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.bounds import check_range
from shared.errors import DataError

OPENAI_MODES = ("chat", "completions")
#: what an OpenAI-compatible server is asked for and how hard: (low, high) of each option
OPENAI_BOUNDS = {
    "top_logprobs": (1, 20),
    "concurrency": (1, 64),
    "timeout": (1.0, 600.0),
    "max_retries": (0, 10),
}
#: an endpoint's name, the only thing a request says about where its LLM is
ENDPOINT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def check_openai_options(mode: str, **options: float) -> None:
    """The openai backend's mode and bounded options (DataError naming the option)."""
    if mode not in OPENAI_MODES:
        raise DataError(f"must be one of {', '.join(OPENAI_MODES)}, got {mode!r}", field="mode")
    for name, value in options.items():
        low, high = OPENAI_BOUNDS[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DataError(f"must be a number, got {value!r}", field=name)
        check_range(value, low, high, name)


@dataclass(frozen=True, slots=True)
class OpenAIEndpoint:
    """An OpenAI-compatible server an MJD job may use by name. ``template``: in completions
    mode, whose chat template wraps the prompt: ``local`` (the local backend's model, so both
    backends score the same prompt), ``none`` (the raw prompt) or a tokenizer folder or .gguf
    file on the worker. Requests never carry a URL or a path; the operator sets these."""

    url: str
    mode: str = "chat"
    template: str = "local"
    top_logprobs: int = 5
    concurrency: int = 8
    timeout: float = 60.0
    max_retries: int = 3

    def __post_init__(self) -> None:
        parts = urlsplit(self.url) if isinstance(self.url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise DataError("must be an http(s) URL with a host", field="url")
        if parts.query or parts.fragment:
            raise DataError("must have no query or fragment", field="url")
        if not isinstance(self.template, str) or not self.template:
            raise DataError("must be local, none or a tokenizer path", field="template")
        check_openai_options(
            self.mode,
            top_logprobs=self.top_logprobs,
            concurrency=self.concurrency,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def backend_options(self, name: str) -> dict[str, Any]:
        """The openai backend's keyword arguments (its errors name the endpoint, not the URL)."""
        return {
            "endpoint": name,
            "base_url": self.url.rstrip("/"),
            "mode": self.mode,
            "template": self.template,
            "top_logprobs": self.top_logprobs,
            "concurrency": self.concurrency,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }
