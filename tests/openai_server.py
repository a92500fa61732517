"""A small real HTTP server speaking the OpenAI chat/completions logprobs protocol.

Answers are derived from the prompt (so tests can predict them). Each request takes the next
behaviour of ``script``, or ``default`` once the script is used up:

- ``ok``: letters and filler in the top logprobs;
- ``429`` / ``500``: a retryable error (Retry-After 0); ``401``: a final one;
- ``sleep``: answer after ``sleep_seconds``; ``hang``: answer only once released (a server
  still working on a request the client gave up on);
- ``malformed``: a body that is not JSON; ``no-letters``: no option letter in a full list;
- ``no-logprobs``: a server that ignores the logprobs request.

A request without logprobs (text generation) gets :func:`answer_text` of its prompt.

Like OpenAI's completions API, it refuses more than ``max_logprobs`` (default 5) with a 400.
Every request is recorded (``requests``) before it is answered.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: the tokens of a "no-letters" answer: more than any request asks for, none a letter
NO_LETTERS = ("The", "It", "This", "Yes", "No", "So", "We", "My")
#: how long a "hang" request waits at most for the test to release it
HANG_LIMIT = 60.0


#: the option letters the server knows, as it spells them (" B" with a space), and filler
LETTER_TOKENS = ("A", " B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P")
FILLER = {"The": math.log(0.2), "Yes": math.log(0.1)}


def letter_logprobs(prompt: str, options: int = 3) -> dict[str, float]:
    """Deterministic log-probabilities of the first ``options`` letters ("A", " B", "C", ...:
    70% of the mass) then filler, most likely first."""
    digest = hashlib.sha256(prompt.encode()).digest()
    weights = [1 + digest[i] for i in range(options)]
    total = sum(weights)
    out = {
        token: math.log(0.7 * w / total)
        for token, w in zip(LETTER_TOKENS[:options], weights, strict=True)
    }
    out.update(FILLER)
    return dict(sorted(out.items(), key=lambda item: -item[1]))


def answer_text(prompt: str) -> str:
    """What a request without logprobs gets: a two-item list derived from the prompt."""
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    return f"- Because {digest[:8]}.\n- And {digest[8:16]}.\n"


class FakeOpenAI:
    """``options``: how many letters it scores; ``silent_cap``: list at most this many top
    logprobs whatever is asked (as servers that cap without an error do)."""

    def __init__(
        self, max_logprobs: int = 5, options: int = 3, silent_cap: int | None = None
    ) -> None:
        self.options = options
        self.silent_cap = silent_cap
        self.script: deque[str] = deque()
        self.default = "ok"
        self.requests: list[dict[str, Any]] = []
        self.sleep_seconds = 2.0
        self.max_logprobs = max_logprobs
        self.released = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append({"path": self.path, **body})
                    behaviour = server.script.popleft() if server.script else server.default
                chat = self.path.endswith("/chat/completions")
                asked = body.get("top_logprobs") if chat else body.get("logprobs")
                if isinstance(asked, int) and asked > server.max_logprobs:
                    message = f"logprobs must be at most {server.max_logprobs}, got {asked}"
                    self._send(400, {"error": {"message": message, "type": "invalid_request"}})
                    return
                if behaviour in ("429", "500"):
                    self._send(int(behaviour), {"error": "try again"}, {"Retry-After": "0"})
                    return
                if behaviour == "401":
                    self._send(401, {"error": {"message": "invalid api key"}})
                    return
                if behaviour == "sleep":
                    time.sleep(server.sleep_seconds)
                if behaviour == "hang":
                    server.released.wait(HANG_LIMIT)
                if behaviour == "malformed":
                    self._raw(200, b"{not json")
                    return
                prompt = body["messages"][0]["content"] if chat else body["prompt"]
                if not body.get("logprobs"):  # text generation
                    text = answer_text(prompt)
                    message = {"role": "assistant", "content": text}
                    self._send(200, {"choices": [{"message": message} if chat else {"text": text}]})
                    return
                top = letter_logprobs(prompt, server.options)
                if behaviour == "no-letters":
                    top = {word: math.log(0.9 / 8) for word in NO_LETTERS}
                if server.silent_cap is not None:
                    top = dict(list(top.items())[: server.silent_cap])
                if behaviour == "no-logprobs":
                    self._send(200, {"choices": [{"text": "A"}]})
                    return
                if chat:
                    entries = [{"token": t, "logprob": lp, "bytes": None} for t, lp in top.items()]
                    entries = entries[: body["top_logprobs"]]
                    choice = {
                        "logprobs": {
                            "content": [
                                {
                                    "token": entries[0]["token"],
                                    "logprob": entries[0]["logprob"],
                                    "top_logprobs": entries,
                                }
                            ]
                        }
                    }
                else:
                    choice = {
                        "text": "A",
                        "logprobs": {"top_logprobs": [dict(list(top.items())[: body["logprobs"]])]},
                    }
                self._send(200, {"choices": [choice]})

            def _send(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                self._raw(status, json.dumps(payload).encode(), headers)

            def _raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(status)
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def prompts(self) -> list[str]:
        """The prompt or user message of every request so far, in arrival order."""
        with self.lock:
            return [r["messages"][0]["content"] if "messages" in r else r["prompt"]
                    for r in self.requests]  # fmt: skip

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()
