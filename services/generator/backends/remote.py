"""OpenAI-compatible servers (vLLM, llama.cpp server, OpenAI) through logprobs.

One request per prompt asks for a single token with ``top_logprobs`` (default 5, the most
OpenAI's completions API allows; the letters A/B/C are all the scoring needs). The letter
tokens found there are kept (``bare`` letters: the token "A" itself; ``both``: also with
whitespace around it, " A"); letters absent from the list get probability ~0, so the
distribution is renormalised over the letters found, and the probability the found letters do
not cover is recorded as the missing mass.

Completions mode sends text, so the chat template is applied here (by default the local
backend's, so both backends score the same prompt); chat mode leaves it to the server.

Politeness: connect errors, 429 and 5xx are retried with bounded backoff; a read timeout is
not (the server may still be working on the request, and a retry only adds to its queue);
the first error that is final stops the run: no request is sent after it.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

import httpx
import numpy as np

from services.generator.engine import LetterScores, split_into_groups
from shared.endpoints import check_openai_options
from shared.errors import MjdError
from shared.method.explanations import Decoding, Progress
from shared.method.prompts import Letters
from shared.platform.settings import env_setting
from shared.tasks import NLI

#: Log-probability given to a letter missing from top_logprobs (effectively zero).
ABSENT_LOGPROB = -100.0
RETRY_STATUSES = {429, 500, 502, 503, 504}
#: the longest wait before a retry, whatever a server's Retry-After says
MAX_DELAY = 30.0
T = TypeVar("T")


class Stopped(MjdError):
    """A request not sent because another one failed for good."""


@functools.cache
def template_tokenizer(template: str) -> Any:
    """The tokenizer whose chat template wraps completions prompts: ``local`` (the local
    backend's default model) or a model folder / .gguf file; loaded once per process."""
    from transformers import AutoTokenizer

    from services.generator.backends.model_files import model_location

    _, directory, extra = model_location(None if template == "local" else template)
    return AutoTokenizer.from_pretrained(directory, **extra)


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        model: str | None,
        *,
        base_url: str | None = None,
        endpoint: str | None = None,
        api_key: str | None = None,
        mode: str = "chat",
        template: str = "local",
        top_logprobs: int = 5,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        concurrency: int = 8,
    ) -> None:
        """``endpoint``: its name, which errors show instead of the URL (a job's error reaches
        its client, the server's addresses must not); ``template``: completions mode only."""
        if not model:
            raise MjdError("the openai backend needs --model (the server's model name)")
        check_openai_options(
            mode,
            top_logprobs=top_logprobs,
            concurrency=concurrency,
            timeout=timeout,
            max_retries=max_retries,
        )
        self.model_id = model
        self.base_url = (base_url or env_setting("openai_base_url") or "").rstrip("/")
        if not self.base_url:
            raise MjdError("the openai backend needs --base-url or OPENAI_BASE_URL")
        self.where = f"endpoint {endpoint!r}" if endpoint else self.base_url
        key = api_key or env_setting("openai_api_key")
        self.mode = mode
        self.tokenizer = (
            template_tokenizer(template) if mode == "completions" and template != "none" else None
        )
        self.top_logprobs = top_logprobs
        self.max_retries = max_retries
        self.backoff = backoff
        self.concurrency = concurrency
        self.client = httpx.Client(
            timeout=timeout,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            limits=httpx.Limits(max_connections=self.concurrency),
        )

    def score_groups(
        self,
        groups: Sequence[Sequence[str]],
        letters: Letters,
        options: Sequence[str] = NLI.letters,
    ) -> list[LetterScores]:
        """Score every message (see :meth:`_each`)."""
        rows = self._each(
            [m for group in groups for m in group],
            lambda message, stop: self.score_message(message, letters, stop, options),
        )
        logits = np.array([row[0] for row in rows])
        mass = np.array([row[1] for row in rows])
        return split_into_groups(groups, logits, mass, missing=1.0 - mass)

    def generate_texts(
        self, messages: Sequence[str], decoding: Decoding, progress: Progress = None
    ) -> list[str]:
        """The server's answer to each message: greedy (temperature 0) unless
        ``decoding.sample``, which sends its temperature, top_p and seed (servers that honour
        ``seed`` repeat their draws)."""
        settings: dict[str, Any] = {"max_tokens": decoding.max_new_tokens, "temperature": 0}
        if decoding.sample:
            settings.update(
                temperature=decoding.temperature, top_p=decoding.top_p, seed=decoding.seed
            )

        def answer(message: str, stop: threading.Event) -> str:
            return self._text(self._post(self._request(message, settings, logprobs=False), stop))

        return self._each(messages, answer, progress)

    def _each(
        self,
        messages: Sequence[str],
        call: Callable[[str, threading.Event], T],
        progress: Progress = None,
    ) -> list[T]:
        """``call`` on every message, ``concurrency`` at a time; the first final error stops
        the rest (requests in flight finish or time out, none is sent after it) and is
        raised. ``progress(done, total)`` counts answers as they come."""
        stop = threading.Event()
        lock = threading.Lock()
        finished = 0

        def one(message: str) -> T:
            nonlocal finished
            try:
                result = call(message, stop)
            except BaseException:
                stop.set()  # before this thread takes the next message
                raise
            if progress is not None:
                with lock:
                    finished += 1
                    progress(finished, len(messages))
            return result

        with ThreadPoolExecutor(self.concurrency) as pool:
            futures = [pool.submit(one, m) for m in messages]
            wait(futures, return_when=FIRST_EXCEPTION)
            failure = first_failure(futures)
            if failure is not None:
                stop.set()
                for future in futures:
                    future.cancel()
        if failure is not None:
            raise failure
        return [future.result() for future in futures]

    def score_message(
        self,
        message: str,
        letters: Letters,
        stop: threading.Event | None = None,
        options: Sequence[str] = NLI.letters,
    ) -> tuple[list[float], float]:
        """Letter log-probabilities (log-sum-exp over each letter's counted spellings) and the
        probability those spellings hold together. At least one top logprob per option is
        asked for; a letter absent from a list the server cut short (its cap) is an error
        naming the cap, never a silent zero. A letter absent from a full list is below every
        listed token: it gets ABSENT_LOGPROB and the record keeps the mass not covered."""
        asked = max(self.top_logprobs, len(options))
        top = self._top_logprobs(
            self._post(self._request(message, top=asked), stop or threading.Event(), asked)
        )
        found = [[lp for token, lp in top if spells(token, letter, letters)] for letter in options]
        absent = [letter for letter, lps in zip(options, found, strict=True) if not lps]
        if absent and len(top) < asked:
            raise MjdError(
                f"{self.where}: the server listed {len(top)} top logprobs of the {asked} asked "
                f"(its cap) and option letter(s) {', '.join(absent)} are not among them; "
                f"{len(options)} options need a server that lists at least {len(options)}"
            )
        logits = [float(np.logaddexp.reduce(lps)) if lps else ABSENT_LOGPROB for lps in found]
        mass = sum(math.exp(lp) for lps in found for lp in lps)
        return logits, min(mass, 1.0)

    # ------------------------------------------------------------------ protocol

    def prompt(self, message: str) -> str:
        """What completions mode sends: the message through the chat template."""
        if self.tokenizer is None:
            return message
        from services.generator.backends.local import chat_prompt

        return chat_prompt(self.tokenizer, message)

    def _request(
        self,
        message: str,
        settings: Mapping[str, Any] | None = None,
        *,
        logprobs: bool = True,
        top: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """One request: the scoring one (a single token and its ``top`` logprobs, by default
        the endpoint's count) by default."""
        common = {"model": self.model_id, **(settings or {"max_tokens": 1, "temperature": 0})}
        top = top or self.top_logprobs
        if self.mode == "chat":
            chat = {**common, "messages": [{"role": "user", "content": message}]}
            if logprobs:
                chat.update(logprobs=True, top_logprobs=top)
            return "/chat/completions", chat
        completion = {**common, "prompt": self.prompt(message)}
        if logprobs:
            completion["logprobs"] = top
        return "/completions", completion

    def _text(self, body: Any) -> str:
        try:
            choice = body["choices"][0]
            text = choice["message"]["content"] if self.mode == "chat" else choice["text"]
        except (KeyError, IndexError, TypeError) as exc:
            raise MjdError(
                f"{self.where}: response has no {self.mode} text ({type(exc).__name__}: {exc})"
            ) from None
        if not isinstance(text, str):
            raise MjdError(f"{self.where}: response text is {type(text).__name__}, not text")
        return text.strip()

    def _top_logprobs(self, body: Any) -> list[tuple[str, float]]:
        try:
            choice = body["choices"][0]
            if self.mode == "chat":
                entries = choice["logprobs"]["content"][0]["top_logprobs"]
                pairs = [(e["token"], e["logprob"]) for e in entries]
            else:
                pairs = list(choice["logprobs"]["top_logprobs"][0].items())
            return [(str(token), float(lp)) for token, lp in pairs]
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise MjdError(
                f"{self.where}: response has no {self.mode} top_logprobs "
                f"({type(exc).__name__}: {exc}); does the server support logprobs?"
            ) from None

    def _post(
        self, request: tuple[str, dict[str, Any]], stop: threading.Event, asked: int = 0
    ) -> Any:
        """One request, retried only when the server surely did not work on it or asked to
        be asked again (connect errors, 429, 5xx); never after a read timeout. ``asked``:
        the top logprobs it asks for, named in the error when the server refuses them."""
        path, payload = request
        for attempt in range(self.max_retries + 1):
            if stop.is_set():
                raise Stopped(f"{self.where}: not sent, an earlier request failed")
            last = attempt == self.max_retries
            retry_after = None
            try:
                response = self.client.post(self.base_url + path, json=payload)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if last:
                    raise MjdError(
                        f"{self.where}: cannot connect ({self.max_retries + 1} attempts)"
                    ) from None
            except httpx.TimeoutException:
                raise MjdError(
                    f"{self.where}: no answer within {self.client.timeout.read:g} s "
                    "(not retried: the server may still be working on it; a slower server "
                    "needs a longer timeout or less concurrency)"
                ) from None
            except httpx.TransportError as exc:
                raise MjdError(f"{self.where}: {type(exc).__name__} during {path}") from None
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    return self._body(response, path, asked)
                retry_after = response.headers.get("retry-after")
            stop.wait(self._delay(attempt, retry_after))
        raise AssertionError("unreachable")

    def _body(self, response: httpx.Response, path: str, asked: int = 0) -> Any:
        if response.status_code >= 400:
            refused = (
                f" (it was asked for {asked} top logprobs, more than the endpoint's "
                f"{self.top_logprobs}: a task's options need one each; a server whose cap is "
                "lower cannot score it)"
                if response.status_code == 400 and asked > self.top_logprobs
                else ""
            )
            raise MjdError(
                f"{self.where}: {path}: HTTP {response.status_code}: "
                f"{response.text[:200].strip()}{refused}"
            )
        try:
            return response.json()
        except ValueError:
            raise MjdError(
                f"{self.where}: malformed JSON body: {response.text[:120].strip()!r}"
            ) from None

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Exponential backoff; a server's Retry-After (seconds) wins; both capped."""
        if retry_after:
            try:
                seconds = float(retry_after)
            except ValueError:
                seconds = math.nan
            if math.isfinite(seconds):
                return min(max(seconds, 0.0), MAX_DELAY)
        return min(self.backoff * 2**attempt, MAX_DELAY)


def spells(token: str, letter: str, letters: Letters) -> bool:
    """Does a top_logprobs token count as the option ``letter``? bare: only the letter itself
    (what the authors' notebook reads); both: also with whitespace around it (" A")."""
    return token == letter if letters == "bare" else token.strip() == letter


def first_failure(futures: Sequence[Future[Any]]) -> BaseException | None:
    """The error of a finished call, preferring one that is not a :class:`Stopped`."""
    errors = [f.exception() for f in futures if f.done() and not f.cancelled()]
    errors = [e for e in errors if e is not None]
    return next((e for e in errors if not isinstance(e, Stopped)), errors[0] if errors else None)
