"""The openai backend against a real local HTTP server speaking the logprobs protocol: what
it asks for, the prompt it sends, how politely it retries and stops; the endpoint settings
and how a job's choice of LLM becomes the worker's backend."""

from __future__ import annotations

import math
import socket

import numpy as np
import pytest
from transformers import AutoTokenizer

from services.cli import main
from services.generator.backends import backend_arguments, create_backend
from services.generator.backends.model_files import default_model_path
from services.generator.backends.remote import ABSENT_LOGPROB, OpenAIBackend
from services.generator.engine import generate
from shared.datasets import read_instances, vendored_path
from shared.errors import DataError, MjdError
from shared.labels import Label
from shared.method.explanations import (
    TEMPLATES,
    Decoding,
    ExplainSpec,
    explain,
    parse_list,
    plan,
)
from shared.method.runs import LLMChoice, RunSpec, explanation_orders, prompt_groups
from shared.platform.settings import Settings
from tests.openai_server import FakeOpenAI, answer_text, letter_logprobs


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def _backend(server, **options):
    return OpenAIBackend("test-model", base_url=server.url, backoff=0.01, **options)


@pytest.mark.parametrize("mode", ["chat", "completions"])
@pytest.mark.parametrize("letters", ["bare", "both"])
def test_normal_answers_give_letter_logprobs_and_mass(server, mode, letters):
    """The server spells B as " B": only ``both`` counts it, and the mass is what counts."""
    backend = _backend(server, mode=mode, template="none")
    logits, mass = backend.score_message("Which one?", letters)
    expected = letter_logprobs("Which one?")
    b = expected[" B"] if letters == "both" else ABSENT_LOGPROB
    assert logits == pytest.approx([expected["A"], b, expected["C"]])
    counted = ["A", " B", "C"] if letters == "both" else ["A", "C"]
    assert mass == pytest.approx(sum(math.exp(expected[token]) for token in counted))
    request = server.requests[-1]
    assert request["max_tokens"] == 1 and request["model"] == "test-model"
    assert request["path"] == ("/v1/chat/completions" if mode == "chat" else "/v1/completions")


def test_one_429_then_success(server):
    server.script.extend(["429"])
    logits, _ = _backend(server).score_message("retry me", "bare")
    assert len(server.requests) == 2
    assert logits[0] == pytest.approx(letter_logprobs("retry me")["A"])


def test_persistent_429_ends_in_a_clear_error(server):
    server.script.extend(["429"] * 5)
    with pytest.raises(MjdError, match="HTTP 429"):
        _backend(server, max_retries=2).score_message("x", "bare")
    assert len(server.requests) == 3


def test_timeout_is_a_clear_error_not_a_hang(server):
    server.default = "hang"
    with pytest.raises(MjdError, match="no answer within 1 s"):
        _backend(server, timeout=1, max_retries=1).score_message("x", "bare")


def test_malformed_body_and_missing_logprobs(server):
    server.script.extend(["malformed"])
    with pytest.raises(MjdError, match="malformed JSON"):
        _backend(server, max_retries=0).score_message("x", "bare")
    server.script.extend(["no-logprobs"])
    with pytest.raises(MjdError, match="top_logprobs"):
        _backend(server, max_retries=0).score_message("x", "bare")


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
    spec = RunSpec(k=2, max_orders=1, letters="both")
    record = next(generate(explained[:1], _backend(server), spec))
    assert len(server.requests) == 6
    assert np.allclose(record.missing_mass, 0.3)
    bare = next(generate(explained[:1], _backend(server), RunSpec(k=2, max_orders=1)))
    assert (np.asarray(bare.missing_mass) > 0.3).all()  # " B" does not count
    assert math.isclose(sum(record.distribution), 1.0)
    assert record.spec["backend"] == "openai" and record.spec["model"] == "test-model"
    with pytest.raises(MjdError, match="base-url"):
        OpenAIBackend("m", base_url="")


def _prompts(explained, items: int) -> list[str]:
    """The user messages of the first ``items`` explained items at k=0 (6 per item)."""
    spec = RunSpec(k=0)
    return [
        message
        for instance in explained[:items]
        for group in prompt_groups(instance, explanation_orders(instance, spec), spec)
        for message in group
    ]


@pytest.mark.parametrize("mode", ["chat", "completions"])
def test_the_default_logprobs_request_is_within_the_servers_limit_of_five(server, mode):
    """OpenAI's completions API allows at most 5 logprobs (the server refuses more, 400);
    A/B/C need no more."""
    backend = OpenAIBackend("m", base_url=server.url, mode=mode, template="none")
    logits, _ = backend.score_message("Which one?", "bare")
    request = server.requests[-1]
    asked = request["top_logprobs"] if mode == "chat" else request["logprobs"]
    assert asked <= server.max_logprobs == 5
    assert logits[0] == pytest.approx(letter_logprobs("Which one?")["A"])
    with pytest.raises(MjdError, match=r"HTTP 400: .*at most 5"):
        _backend(server, mode=mode, template="none", top_logprobs=6).score_message("x", "bare")
    with pytest.raises(DataError, match="between 1 and 20"):
        _backend(server, top_logprobs=21)


def test_completions_mode_sends_the_local_backends_chat_templated_prompt(server, explained):
    path = default_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    messages = _prompts(explained, 1)
    records = list(generate(explained[:1], _backend(server, mode="completions"), RunSpec()))
    received = server.prompts()
    expected = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": m}], tokenize=False, add_generation_prompt=True
        )
        for m in messages
    ]
    assert sorted(received) == sorted(expected)
    assert all(p.startswith("<|im_start|>") and p.endswith("<|im_start|>assistant\n")
               for p in received)  # fmt: skip
    assert len(records) == 1
    _backend(server, mode="completions", template="none").score_message(messages[0], "bare")
    assert server.prompts()[-1] == messages[0]


def test_a_read_timeout_is_not_retried(server, explained):
    """A server still working on a request the client gave up on gets no second copy of it:
    each prompt is sent at most once, and the run stops with the timeout's error."""
    server.default = "hang"
    with pytest.raises(MjdError, match="not retried"):
        list(generate(explained[:1], _backend(server, timeout=1, concurrency=1), RunSpec()))
    assert len(server.requests) == 1
    with pytest.raises(MjdError, match="no answer within"):
        list(generate(explained[:2], _backend(server, timeout=1, concurrency=12), RunSpec()))
    prompts = server.prompts()[1:]
    assert 1 <= len(prompts) == len(set(prompts)) <= 12


def test_the_first_final_error_stops_further_requests(server, explained):
    server.default = "401"
    with pytest.raises(MjdError, match="HTTP 401"):
        list(generate(explained[:2], _backend(server, concurrency=1), RunSpec()))
    assert len(server.requests) == 1  # not 12
    with pytest.raises(MjdError, match="HTTP 401"):
        list(generate(explained[:4], _backend(server, concurrency=3), RunSpec()))
    assert len(server.requests) <= 1 + 3  # those already in flight, not 24


def test_retryable_errors_are_retried_and_connect_errors_end_clearly(server, explained):
    server.script.extend(["500", "429"])
    records = list(generate(explained[:1], _backend(server, concurrency=1), RunSpec()))
    assert len(server.requests) == 6 + 2 and len(records) == 1
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    backend = OpenAIBackend("m", base_url=closed, endpoint="lab", max_retries=2, backoff=0.01)
    with pytest.raises(MjdError, match=r"^endpoint 'lab': cannot connect \(3 attempts\)$"):
        backend.score_message("x", "bare")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", {}),
        ("lab=http://10.0.0.5:8000/v1/, openai=https://api.openai.com/v1",
         {"lab": "http://10.0.0.5:8000/v1", "openai": "https://api.openai.com/v1"}),
        ('{"lab": {"url": "http://gpu:8000/v1", "mode": "completions", "top_logprobs": 20}}',
         {"lab": "http://gpu:8000/v1"}),
    ],
)  # fmt: skip
def test_endpoints_setting_names_base_urls(monkeypatch, value, expected):
    monkeypatch.setenv("MJD_OPENAI_ENDPOINTS", value)
    endpoints = Settings.from_env().openai_endpoints
    assert {n: e.backend_options(n)["base_url"] for n, e in endpoints.items()} == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lab", "name=url"),
        ("lab=ftp://host/v1", "http"),
        ("Lab=http://host/v1", "endpoint names"),
        ("lab=http://host/v1?key=1", "query"),
        ('{"lab": {"url": "http://h/v1", "concurrency": 1000}}', "concurrency"),
        ('{"lab": {"url": "http://h/v1", "colour": "red"}}', "optionally mode"),
        ('{"lab": ', "not valid JSON"),
    ],
)
def test_bad_endpoints_settings_are_refused_at_start(monkeypatch, value, message):
    monkeypatch.setenv("MJD_OPENAI_ENDPOINTS", value)
    with pytest.raises(MjdError, match=message):
        Settings.from_env()


def test_a_jobs_llm_choice_becomes_the_workers_backend_by_endpoint_name(monkeypatch):
    monkeypatch.setenv(
        "MJD_OPENAI_ENDPOINTS", '{"lab": {"url": "http://gpu:8000/v1/", "timeout": 5}}'
    )
    endpoints = Settings.from_env().openai_endpoints
    assert backend_arguments(LLMChoice(), endpoints) == ("transformers", None, {})
    name, model, options = backend_arguments(LLMChoice("openai", "org/m-7b"), endpoints)
    assert (name, model, options["base_url"], options["timeout"]) == (
        "openai",
        "org/m-7b",
        "http://gpu:8000/v1",
        5,
    )
    assert options["endpoint"] == "lab" and options["top_logprobs"] == 5
    backend = create_backend(name, model, **options)  # as the worker builds it
    assert (backend.model_id, backend.base_url, backend.where) == (
        "org/m-7b",
        "http://gpu:8000/v1",
        "endpoint 'lab'",
    )
    for choice, field in [
        (LLMChoice("openai", "m", "nope"), "endpoint"),
        (LLMChoice("openai", "m", "http://evil.example/v1"), "endpoint"),
        (LLMChoice("openai", "http://evil.example/v1"), "model"),
        (LLMChoice("openai"), "model"),
        (LLMChoice("local", "/etc/passwd"), "model"),
    ]:
        with pytest.raises(DataError) as caught:
            backend_arguments(choice, endpoints)
        assert caught.value.field == field
        assert "gpu" not in caught.value.message


def test_mjd_generate_drives_the_openai_backend_with_bounded_flags(server, capsys, tmp_path):
    out = tmp_path / "mjd.jsonl"
    common = ["generate", "--input", "explained", "--limit", "1", "--out", str(out),
              "--backend", "openai", "--model", "m", "--base-url", server.url]  # fmt: skip
    flags = ["--openai-mode", "completions", "--chat-template", "none", "--top-logprobs", "3",
             "--concurrency", "2", "--timeout", "5", "--max-retries", "0"]  # fmt: skip
    assert main([*common, *flags]) == 0
    assert len(out.read_text().splitlines()) == 1 and len(server.requests) == 6
    assert {r["logprobs"] for r in server.requests} == {3}
    capsys.readouterr()
    assert main([*common, "--concurrency", "100"]) == 2
    err = capsys.readouterr().err
    assert err == "mjd: error: field 'concurrency': must be between 1 and 64, got 100\n"


@pytest.mark.parametrize("mode", ["chat", "completions"])
def test_generated_texts_are_greedy_bounded_and_in_order(server, mode):
    backend = _backend(server, mode=mode, template="none", concurrency=4)
    messages = [f"Explain {i}." for i in range(6)]
    seen = []
    texts = backend.generate_texts(
        messages, Decoding(max_new_tokens=40), lambda done, total: seen.append((done, total))
    )
    assert texts == [answer_text(m).strip() for m in messages]
    assert sorted(seen) == [(i, 6) for i in range(1, 7)]
    for request in server.requests:
        assert (request["max_tokens"], request["temperature"]) == (40, 0)
        assert "logprobs" not in request and "seed" not in request
    server.requests.clear()
    backend.generate_texts(["x"], Decoding(sample=True, temperature=0.7, top_p=0.9, seed=5))
    (request,) = server.requests
    assert (request["temperature"], request["top_p"], request["seed"]) == (0.7, 0.9, 5)


def test_explanations_through_the_openai_backend(server):
    """The pure explain function with the openai backend: one request per distinct label."""
    item = read_instances(vendored_path("explained"))[0]
    spec = ExplainSpec(per_label=2)
    backend = _backend(server, concurrency=1)
    (record,) = explain([item], plan([item], spec), backend.generate_texts, spec, run={})
    asked = server.prompts()
    assert asked == [TEMPLATES["label-guided"].render(item, Label.NEUTRAL)]
    assert [e["text"] for e in record["explanations"]] == parse_list(answer_text(asked[0]))


def test_a_final_error_stops_text_generation(server):
    server.script.extend(["401"])
    with pytest.raises(MjdError, match="HTTP 401"):
        _backend(server, max_retries=0, concurrency=1).generate_texts(["a", "b", "c"], Decoding())
    assert len(server.requests) == 1
