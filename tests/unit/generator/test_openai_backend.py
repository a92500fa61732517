"""The openai backend against a real local HTTP server speaking the logprobs protocol."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from services.generator.backends.remote import ABSENT_LOGPROB, OpenAIBackend
from services.generator.engine import generate
from shared.errors import MjdError
from shared.method.runs import RunSpec
from tests.openai_server import FakeOpenAI, letter_logprobs


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def _backend(server, **options):
    return OpenAIBackend("test-model", base_url=server.url, backoff=0.01, **options)


@pytest.mark.parametrize("mode", ["chat", "completions"])
def test_normal_answers_give_letter_logprobs_and_mass(server, mode):
    backend = _backend(server, mode=mode)
    logits, mass = backend.score_message("Which one?")
    expected = letter_logprobs("Which one?")
    assert logits == pytest.approx([expected["A"], expected[" B"], expected["C"]])
    assert mass == pytest.approx(0.7)
    request = server.requests[-1]
    assert request["max_tokens"] == 1 and request["model"] == "test-model"
    assert request["path"] == ("/v1/chat/completions" if mode == "chat" else "/v1/completions")


def test_one_429_then_success(server):
    server.script.extend(["429"])
    logits, _ = _backend(server).score_message("retry me")
    assert len(server.requests) == 2
    assert logits[0] == pytest.approx(letter_logprobs("retry me")["A"])


def test_persistent_429_ends_in_a_clear_error(server):
    server.script.extend(["429"] * 5)
    with pytest.raises(MjdError, match="HTTP 429"):
        _backend(server, max_retries=2).score_message("x")
    assert len(server.requests) == 3


def test_timeout_is_a_clear_error_not_a_hang(server):
    server.script.extend(["sleep"] * 3)
    server.sleep_seconds = 1.0
    start = time.monotonic()
    with pytest.raises(MjdError, match="timed out"):
        _backend(server, timeout=0.2, max_retries=1).score_message("x")
    assert time.monotonic() - start < 5


def test_malformed_body_and_missing_logprobs(server):
    server.script.extend(["malformed"])
    with pytest.raises(MjdError, match="malformed JSON"):
        _backend(server, max_retries=0).score_message("x")
    server.script.extend(["no-logprobs"])
    with pytest.raises(MjdError, match="top_logprobs"):
        _backend(server, max_retries=0).score_message("x")


def test_letters_missing_from_top_logprobs_record_the_missing_mass(server, explained):
    server.script.extend(["no-letters"] * 6)
    records = list(generate(explained[:1], _backend(server, concurrency=1), RunSpec(k=0)))
    (record,) = records
    missing = np.asarray(record.missing_mass)
    assert missing.shape == (1, 6)
    assert np.allclose(missing, 1.0)  # no letter seen in any of the 6 prompts
    assert np.allclose(record.label_logits, ABSENT_LOGPROB)
    assert np.allclose(record.distribution, 1 / 3)


def test_generate_through_the_server_maps_letters_to_labels(server, explained):
    record = next(generate(explained[:1], _backend(server), RunSpec(k=2, max_orders=1)))
    assert len(server.requests) == 6
    assert np.allclose(record.missing_mass, 0.3)
    assert math.isclose(sum(record.distribution), 1.0)
    assert record.spec["backend"] == "openai" and record.spec["model"] == "test-model"
    with pytest.raises(MjdError, match="base-url"):
        OpenAIBackend("m", base_url="")
