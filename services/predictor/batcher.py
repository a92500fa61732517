"""Real-time distribution predictions from the promoted ONNX students (one per task): the
micro-batcher (TEI's queue) in front of the model repository
(:mod:`services.predictor.repository`, which versions are served;
:mod:`services.predictor.model` for one loaded version).

A request is rows of its task's input texts (NLI's: premise/hypothesis pairs). Requests are
micro-batched: one asyncio task drains a queue into batches of at most
``max_batch`` rows (waiting up to ``max_wait_ms`` for a batch to fill; 0 runs whatever is
queued at once, so batches grow exactly when the model is busy) and runs them on one
inference thread (a batch that mixes tasks runs one model call per model). The queue is
bounded in rows, not requests (MJD_PREDICT_MAX_QUEUE; past it,
HTTP 429), and every request has a deadline (MJD_PREDICT_TIMEOUT_MS); a request past its
deadline, or whose client has left, is dropped before inference, so abandoned work costs
nothing. Each request keeps the model it was admitted with, so a reload fails no request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from services.predictor.model import LoadedModel
from services.predictor.repository import ModelRepository, NoModel
from services.predictor.repository import NotServed as NotServed  # raised by predict()
from services.predictor.telemetry import (
    PREDICT_BATCH,
    PREDICT_DROPPED,
    PREDICT_SECONDS,
    PREDICT_WAIT,
)
from shared.errors import MjdError
from shared.platform.registry import ModelRegistry
from shared.platform.settings import Settings


class QueueFull(Exception):
    """The prediction queue is full; the client should retry later (HTTP 429)."""


class Overdue(MjdError):
    """The prediction was not answered within its deadline (HTTP 503); it was dropped."""


class ClientGone(Exception):
    """The client disconnected before its prediction ran; it was dropped."""


@dataclass(slots=True)
class Prediction:
    probabilities: np.ndarray
    truncated: list[bool]
    model: LoadedModel


@dataclass(slots=True)
class _Request:
    pairs: Sequence[Sequence[str]]
    model: LoadedModel
    future: asyncio.Future[Prediction]
    queued: float = field(default_factory=time.perf_counter)
    #: whether its rows still count against the queue bound
    waiting: bool = True


class Predictor:
    """The batcher in front of the model repository: what the API serves predictions
    through (``current``, ``registry`` and ``reload`` are the repository's)."""

    def __init__(self, registry: ModelRegistry, settings: Settings) -> None:
        self.models = ModelRepository(registry, settings)
        self.settings = settings
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="mjd-predict")
        self.queue: asyncio.Queue[_Request] | None = None  # made in start(), on its loop
        #: pairs of the requests waiting in the queue (its bound)
        self.waiting_pairs = 0
        #: the batcher and the repository's promotion watcher, from start() on
        self.tasks: list[asyncio.Task[None]] = []

    @property
    def registry(self) -> ModelRegistry:
        return self.models.registry

    @property
    def current(self) -> LoadedModel | None:
        return self.models.current

    @current.setter
    def current(self, model: LoadedModel | None) -> None:
        self.models.current = model

    @property
    def served(self) -> dict[str, LoadedModel]:
        """The model served for each task (``name@version``)."""
        return self.models.served

    async def reload(self, task: str | None = None) -> LoadedModel | None:
        return await self.models.reload(task)

    async def start(self) -> None:
        self.queue = queue = asyncio.Queue()
        await self.models.start()
        self.tasks = [
            asyncio.create_task(self._batches(queue)),
            asyncio.create_task(self.models.watch()),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def predict(
        self,
        pairs: Sequence[Sequence[str]],
        version: str | None = None,
        gone: Callable[[], Awaitable[object]] | None = None,
        task: str | None = None,
    ) -> Prediction:
        """The prediction of ``pairs`` (rows of ``task``'s input texts; default NLI's
        premise/hypothesis pairs) by the model served for ``task`` (or its pinned
        ``version``); dropped before inference when the deadline passes (Overdue) or what
        ``gone()`` returns completes first (ClientGone: the client disconnected)."""
        model = await self.models.model_for(version, task)
        if self.queue is None:  # an app run without its lifespan: fail, never hang
            raise NoModel("the predictor is not started")
        if self.waiting_pairs + len(pairs) > self.settings.predict_max_queue:
            raise QueueFull
        request = _Request(pairs, model, asyncio.get_running_loop().create_future())
        self.waiting_pairs += len(pairs)
        self.queue.put_nowait(request)
        watcher = asyncio.ensure_future(gone()) if gone is not None else None
        try:
            async with asyncio.timeout(self.settings.predict_timeout_ms / 1000):
                await asyncio.wait(
                    [request.future, *([watcher] if watcher else [])],
                    return_when=asyncio.FIRST_COMPLETED,
                )
            if not request.future.done():
                PREDICT_DROPPED.labels("disconnected").inc()
                raise ClientGone
            return request.future.result()
        except TimeoutError:
            PREDICT_DROPPED.labels("deadline").inc()
            timeout = self.settings.predict_timeout_ms
            raise Overdue(f"the prediction did not finish within {timeout:.0f} ms") from None
        finally:
            if watcher is not None:
                watcher.cancel()
            if not request.future.done():
                request.future.cancel()  # the batcher skips it
            self._release(request)

    def _release(self, request: _Request) -> None:
        """Its rows stop counting against the bound (taken into a batch, or dropped)."""
        if request.waiting:
            request.waiting = False
            self.waiting_pairs -= len(request.pairs)

    def _wanted(self, request: _Request) -> bool:
        self._release(request)
        return not request.future.done()

    async def _next_batch(self, queue: asyncio.Queue[_Request]) -> list[_Request]:
        first = await queue.get()
        while not self._wanted(first):
            first = await queue.get()
        batch = [first]
        size = len(first.pairs)
        deadline = time.perf_counter() + self.settings.predict_max_wait_ms / 1000
        while size < self.settings.predict_max_batch:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    request = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
            if self._wanted(request):
                batch.append(request)
                size += len(request.pairs)
        return batch

    async def _batches(self, queue: asyncio.Queue[_Request]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch(queue)
            started = time.perf_counter()
            for model in {id(r.model): r.model for r in batch}.values():
                group = [r for r in batch if r.model is model and not r.future.done()]
                if not group:  # every request of it was dropped while the batch filled
                    continue
                for request in group:
                    PREDICT_WAIT.observe(started - request.queued)
                pairs = [pair for request in group for pair in request.pairs]
                PREDICT_BATCH.observe(len(pairs))
                began = time.perf_counter()
                try:
                    probabilities, truncated = await loop.run_in_executor(
                        self.executor, model.predict, pairs
                    )
                except Exception as exc:
                    for request in group:
                        if not request.future.done():
                            request.future.set_exception(exc)
                    continue
                PREDICT_SECONDS.observe(time.perf_counter() - began)
                offset = 0
                for request in group:
                    end = offset + len(request.pairs)
                    if not request.future.done():  # the client may have gone
                        request.future.set_result(
                            Prediction(probabilities[offset:end], truncated[offset:end], model)
                        )
                    offset = end
