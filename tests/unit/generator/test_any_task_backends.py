"""Issue 22: both backends score the K option letters of any task. An OpenAI-compatible
server that caps its top logprobs below K, silently or with an error, fails the item with an
error naming the cap: never a silent zero for the letters it left out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.generator.backends.local import TransformersBackend
from services.generator.backends.remote import OpenAIBackend
from services.generator.engine import generate
from shared.errors import MjdError
from shared.method.runs import RunSpec
from shared.schemas import Explanation, Instance
from shared.tasks import BUILTIN, option_orders
from tests.openai_server import FakeOpenAI, letter_logprobs

PARAPHRASE = BUILTIN["paraphrase"]
BINARY = BUILTIN["md-agreement"]
ITEMS = [
    Instance(
        f"q{i}",
        {"Question1": f"How do I learn {w}?", "Question2": f"Best way to learn {w}?"},
        (Explanation("the same goal", "5"), Explanation("nearly", "3")),
    )
    for i, w in enumerate(("Python", "Rust"))
]


def _backend(server, **options):
    return OpenAIBackend("m", base_url=server.url, backoff=0.01, **options)


def test_eleven_letters_are_asked_for_and_mapped_back_to_the_scale():
    with FakeOpenAI(max_logprobs=20, options=11) as server:
        records = list(
            generate(ITEMS, _backend(server, top_logprobs=5), RunSpec(k=2), task=PARAPHRASE)
        )
        asked = {request["top_logprobs"] for request in server.requests}
        prompts = server.prompts()
    assert asked == {11}  # at least one per option, though the endpoint's default is 5
    assert len(prompts) == 2 * 2 * 2  # items x explanation orders x the 2 scale orders
    first = records[0]
    assert first.labels == list(PARAPHRASE.label_names) and first.task == "paraphrase@1"
    assert first.option_policy == "scale"
    assert first.option_orders == [list(o) for o in option_orders(PARAPHRASE)]
    assert np.asarray(first.label_logits).shape == (2, 2, 11)
    assert math.isclose(sum(first.distribution), 1.0) and len(first.distribution) == 11
    # forward order: letter A is label -5; reversed: letter A is label +5
    expected = letter_logprobs(prompts[0], 11)
    assert first.label_logits[0][0][0] == pytest.approx(expected["A"])
    assert first.spec["template_version"] == PARAPHRASE.prompt.version
    assert list(first.spec["bias"]) == [0.0] * 11


def test_a_server_that_refuses_k_top_logprobs_fails_naming_the_cap():
    with (
        FakeOpenAI(max_logprobs=5, options=11) as server,
        pytest.raises(MjdError, match=r"asked for 11 top logprobs, more than the endpoint's 5"),
    ):
        list(generate(ITEMS[:1], _backend(server, max_retries=0), RunSpec(), task=PARAPHRASE))


def test_a_server_that_cuts_the_list_short_fails_naming_the_cap():
    with (
        FakeOpenAI(max_logprobs=20, options=11, silent_cap=5) as server,
        pytest.raises(MjdError, match=r"listed 5 top logprobs of the 11 asked \(its cap\)"),
    ):
        list(generate(ITEMS[:1], _backend(server), RunSpec(), task=PARAPHRASE))


def test_a_binary_task_needs_two_letters():
    item = Instance("t", {"text": "you are all idiots"})
    with FakeOpenAI(options=2) as server:
        (record,) = generate([item], _backend(server), RunSpec(letters="both"), task=BINARY)
    assert len(record.distribution) == 2 and record.option_orders == [["0", "1"], ["1", "0"]]
    assert np.allclose(record.missing_mass, 0.3)  # the filler; both letters were listed


def test_the_local_backend_scores_k_letters(tiny_llm):
    backend = TransformersBackend(tiny_llm, batch_size=8)
    ids = backend.letter_ids("bare", PARAPHRASE.letters)
    assert len(ids) == 11 and len({i for (i,) in ids}) == 11
    records = list(generate(ITEMS, backend, RunSpec(k=1, max_orders=1), task=PARAPHRASE))
    assert [len(r.distribution) for r in records] == [11, 11]
    assert np.asarray(records[0].letter_mass).shape == (1, 2)
    assert all(0 < m <= 1 for row in records[0].letter_mass for m in row)
