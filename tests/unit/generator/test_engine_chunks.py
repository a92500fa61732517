"""The engine hands the backend whole items, as many as a prompt budget holds."""

from __future__ import annotations

import numpy as np

from services.generator.engine import LetterScores, generate
from shared.method.runs import RunSpec


class CountingBackend:
    """Scores every prompt alike and records the groups of each call."""

    name = "counting"
    model_id = "none"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def score_groups(self, groups, letters, options):
        self.calls.append([message for group in groups for message in group])
        return [LetterScores(np.zeros((len(g), len(options))), np.ones(len(g))) for g in groups]


def test_calls_hold_whole_items_within_the_prompt_budget(explained):
    """One item per call (the worker's setting) made every call a single small tree."""
    backend = CountingBackend()
    spec = RunSpec(k=0)  # 6 prompts per item
    records = list(generate(explained[:10], backend, spec, prompts_per_call=20))
    assert [r.id for r in records] == [i.id for i in explained[:10]]
    assert [len(call) for call in backend.calls] == [18, 18, 18, 6]
    for call in backend.calls:  # each item's 6 option orders in one call
        assert len(call) % 6 == 0
    one = CountingBackend()
    list(generate(explained[:2], one, spec, prompts_per_call=4))  # an item above the budget
    assert [len(call) for call in one.calls] == [6, 6]
