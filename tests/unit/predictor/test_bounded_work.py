"""Issue 12: the predictor's work is bounded. Its queue counts pairs, not requests; a request
past its deadline or whose client left is dropped before inference. The model here is a
stand-in that holds each batch until the test lets it go and records what it was given."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import numpy as np
import pytest

from services.predictor import ClientGone, Overdue, Predictor, QueueFull
from shared.platform.artifacts import ArtifactStore
from shared.platform.db.database import Database
from shared.platform.registry import ModelRegistry
from shared.platform.settings import Settings

PAIR = ("A man sleeps.", "A person rests.")


class HeldModel:
    """Answers uniform distributions once ``release`` is set; ``batches`` holds the pair
    count of every batch it ran."""

    version, variant, provider, max_length = "v1", "fp32", "CPUExecutionProvider", 128

    def __init__(self) -> None:
        self.release = threading.Event()
        self.busy = threading.Event()
        self.batches: list[int] = []

    def predict(self, pairs):
        self.busy.set()
        self.release.wait(30)
        self.batches.append(len(pairs))
        return np.full((len(pairs), 3), 1 / 3), [False] * len(pairs)


@pytest.fixture
def make_predictor(tmp_path):
    def make(**changes) -> tuple[Predictor, HeldModel]:
        settings = dataclasses.replace(Settings.from_env(), artifacts_dir=tmp_path, **changes)
        registry = ModelRegistry(ArtifactStore(tmp_path), Database(f"sqlite:///{tmp_path}/j.db"))
        predictor = Predictor(registry, settings)
        model = HeldModel()
        predictor.current = model  # type: ignore[assignment]
        return predictor, model

    return make


async def _running(predictor: Predictor, model: HeldModel) -> asyncio.Task:
    """Start the predictor and a 1-pair request that holds the model."""
    await predictor.start()
    predictor.current = model  # start() found no promoted version
    first = asyncio.create_task(predictor.predict([PAIR]))
    await asyncio.to_thread(model.busy.wait, 30)
    return first


def test_the_queue_bound_counts_pairs(make_predictor):
    predictor, model = make_predictor(predict_max_queue=100, predict_max_batch=64)

    async def scenario() -> None:
        first = await _running(predictor, model)
        admitted = asyncio.create_task(predictor.predict([PAIR] * 64))
        await asyncio.sleep(0)
        with pytest.raises(QueueFull):  # 64 + 64 pairs waiting > 100
            await predictor.predict([PAIR] * 64)
        small = asyncio.create_task(predictor.predict([PAIR] * 36))  # 64 + 36 fit
        await asyncio.sleep(0)
        model.release.set()
        await asyncio.gather(first, admitted, small)
        assert predictor.waiting_pairs == 0
        await predictor.stop()

    asyncio.run(scenario())


def test_a_request_whose_client_left_is_dropped_before_inference(make_predictor):
    predictor, model = make_predictor()

    async def scenario() -> None:
        first = await _running(predictor, model)
        gone = asyncio.get_running_loop().create_future()
        abandoned = asyncio.create_task(predictor.predict([PAIR] * 64, gone=lambda: gone))
        await asyncio.sleep(0)
        assert predictor.waiting_pairs == 64
        gone.set_result(None)  # the client disconnected
        with pytest.raises(ClientGone):
            await abandoned
        assert predictor.waiting_pairs == 0  # its room is free at once
        model.release.set()
        await first
        await predictor.predict([PAIR] * 2)
        await predictor.stop()

    asyncio.run(scenario())
    assert model.batches == [1, 2]  # never its 64 pairs


def test_a_request_past_its_deadline_is_answered_and_dropped(make_predictor):
    predictor, model = make_predictor(predict_timeout_ms=200.0)

    async def scenario() -> None:
        first = await _running(predictor, model)
        with pytest.raises(Overdue):
            await predictor.predict([PAIR] * 8)  # waits behind the held batch
        model.release.set()
        with pytest.raises(Overdue):  # the first was overdue too: nobody waited 30 s
            await first
        await predictor.predict([PAIR] * 3)
        await predictor.stop()

    asyncio.run(scenario())
    assert model.batches == [1, 3]
