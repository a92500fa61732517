"""OpenAI-compatible servers (vLLM, llama.cpp server, OpenAI) through logprobs.

One request per prompt asks for a single token with ``top_logprobs`` (at most 20). The letter
tokens found there are kept; letters absent from the list get probability ~0, so the
distribution is renormalised over the letters found, and the probability the found letters do
not cover is recorded as the missing mass.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np

from services.generator.engine import LetterScores, split_into_groups
from shared.errors import MjdError
from shared.method.prompts import OPTION_LETTERS

MAX_TOP_LOGPROBS = 20
#: Log-probability given to a letter missing from top_logprobs (effectively zero).
ABSENT_LOGPROB = -100.0
RETRY_STATUSES = {429, 500, 502, 503, 504}
MODES = ("chat", "completions")


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        model: str | None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        mode: str = "chat",
        top_logprobs: int = MAX_TOP_LOGPROBS,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        concurrency: int = 8,
    ) -> None:
        if not model:
            raise MjdError("the openai backend needs --model (the server's model name)")
        if mode not in MODES:
            raise MjdError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not 1 <= top_logprobs <= MAX_TOP_LOGPROBS:
            raise MjdError(f"top_logprobs must be between 1 and {MAX_TOP_LOGPROBS}")
        self.model_id = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "").rstrip("/")
        if not self.base_url:
            raise MjdError("the openai backend needs --base-url or OPENAI_BASE_URL")
        key = api_key or os.environ.get("OPENAI_API_KEY")
        self.mode = mode
        self.top_logprobs = top_logprobs
        self.max_retries = max_retries
        self.backoff = backoff
        self.concurrency = max(1, concurrency)
        self.client = httpx.Client(
            timeout=timeout,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            limits=httpx.Limits(max_connections=self.concurrency),
        )

    def score_groups(self, groups: Sequence[Sequence[str]]) -> list[LetterScores]:
        messages = [m for group in groups for m in group]
        with ThreadPoolExecutor(self.concurrency) as pool:
            rows = list(pool.map(self.score_message, messages))
        logits = np.array([row[0] for row in rows])
        mass = np.array([row[1] for row in rows])
        return split_into_groups(groups, logits, mass, missing=1.0 - mass)

    def score_message(self, message: str) -> tuple[list[float], float]:
        """Letter log-probabilities (log-sum-exp over each letter's variants) and their mass."""
        top = self._top_logprobs(self._post(self._request(message)))
        letters = [
            [lp for token, lp in top if token.strip() == letter] for letter in OPTION_LETTERS
        ]
        logits = [
            float(np.logaddexp.reduce(found)) if found else ABSENT_LOGPROB for found in letters
        ]
        mass = sum(math.exp(lp) for found in letters for lp in found)
        return logits, min(mass, 1.0)

    # ------------------------------------------------------------------ protocol

    def _request(self, message: str) -> tuple[str, dict[str, Any]]:
        common = {"model": self.model_id, "max_tokens": 1, "temperature": 0}
        if self.mode == "chat":
            return "/chat/completions", {
                **common,
                "messages": [{"role": "user", "content": message}],
                "logprobs": True,
                "top_logprobs": self.top_logprobs,
            }
        return "/completions", {**common, "prompt": message, "logprobs": self.top_logprobs}

    def _top_logprobs(self, body: Any) -> list[tuple[str, float]]:
        try:
            choice = body["choices"][0]
            if self.mode == "chat":
                entries = choice["logprobs"]["content"][0]["top_logprobs"]
                pairs = [(e["token"], e["logprob"]) for e in entries]
            else:
                pairs = list(choice["logprobs"]["top_logprobs"][0].items())
            return [(str(token), float(lp)) for token, lp in pairs]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise MjdError(
                f"{self.base_url}: response has no {self.mode} top_logprobs "
                f"({type(exc).__name__}: {exc}); does the server support logprobs?"
            ) from None

    def _post(self, request: tuple[str, dict[str, Any]]) -> Any:
        path, payload = request
        url = self.base_url + path
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self.client.post(url, json=payload)
            except httpx.TimeoutException:
                if last:
                    raise MjdError(
                        f"{url}: timed out after {self.client.timeout.read}s "
                        f"({self.max_retries + 1} attempts)"
                    ) from None
            except httpx.TransportError as exc:
                if last:
                    raise MjdError(f"{url}: cannot connect ({exc})") from None
            else:
                if response.status_code in RETRY_STATUSES and not last:
                    time.sleep(self._delay(attempt, response.headers.get("retry-after")))
                    continue
                if response.status_code >= 400:
                    raise MjdError(
                        f"{url}: HTTP {response.status_code}: {response.text[:200].strip()}"
                    )
                try:
                    return response.json()
                except ValueError:
                    raise MjdError(
                        f"{url}: malformed JSON body: {response.text[:120].strip()!r}"
                    ) from None
            time.sleep(self._delay(attempt, None))
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Exponential backoff; a server's Retry-After (seconds) wins, capped at 30 s."""
        if retry_after:
            try:
                return min(float(retry_after), 30.0)
            except ValueError:
                pass
        return self.backoff * 2**attempt
