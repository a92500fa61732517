"""Prompt text equals the authors' template byte for byte (k = 0, 2, 4; explicit or not)."""

from __future__ import annotations

import pytest

from shared.labels import Label
from shared.method.prompts import OPTION_ORDERS, TEMPLATE_VERSION, build_prompt
from shared.method.runs import RunSpec, explanation_orders, prompt_groups

WORDS = {"e": "Entailment", "n": "Neutral", "c": "Contradiction"}


def reference_prompt(premise, hypothesis, options, comments=None, explicit=False):
    """The f-strings of the MJD-generator notebook, transcribed (options: 3 option words;
    comments: [(text, letter)] in the chosen order)."""
    if comments is None:
        return (
            "Please determine whether the following statement is true (entailment), "
            "undetermined (neutral), or false (contradiction) given the context below and "
            "select ONE of the listed options and start your answer with a single letter. "
            f"\nContext: {premise} \nStatement: {hypothesis} \nA. {options[0]} "
            f"\nB. {options[1]} \nC. {options[2]}. \nAnswer:"
        )
    text = ""
    for i, (comment, letter) in enumerate(comments):
        text += f"\nComment {i + 1}: {comment} "
        if explicit:
            text = text + f"So I choose {WORDS[letter]}. "
    return (
        "Please carefully and fairly base your selection on the comments below to determine "
        "whether the following statement is true (entailment), undetermined (neutral), or "
        "false (contradiction) given the context below and select ONE of the listed options "
        "and start your answer with a single letter. "
        f"\nContext: {premise} \nStatement: {hypothesis} {text}\nA. {options[0]} "
        f"\nB. {options[1]} \nC. {options[2]}. \nAnswer:"
    )


@pytest.mark.parametrize("k", [0, 2, 4])
@pytest.mark.parametrize("explicit", [False, True])
def test_prompts_match_the_reference_byte_for_byte(explained, k, explicit):
    for item in explained[:25]:
        order = tuple(range(k))[::-1]  # a non-trivial explanation order
        for option_order in OPTION_ORDERS:
            words = [WORDS[label.letter] for label in option_order]
            comments = [
                (item.explanations[i].text, item.explanations[i].label.letter) for i in order
            ]
            expected = reference_prompt(
                item.premise, item.hypothesis, words, comments if k else None, explicit
            )
            got = build_prompt(
                item, option_order, [item.explanations[i] for i in order], explicit=explicit
            )
            assert got.encode() == expected.encode()


def test_option_orders_are_the_six_permutations_in_notebook_order():
    assert len(set(OPTION_ORDERS)) == 6
    assert OPTION_ORDERS[0] == (Label.ENTAILMENT, Label.NEUTRAL, Label.CONTRADICTION)
    assert OPTION_ORDERS[2] == (Label.NEUTRAL, Label.ENTAILMENT, Label.CONTRADICTION)
    assert TEMPLATE_VERSION


def test_explanation_orders_all_permutations_or_a_seeded_sample(explained):
    item = explained[0]
    assert len(explanation_orders(item, RunSpec(k=0))) == 1
    assert len(explanation_orders(item, RunSpec(k=2))) == 12
    assert len(explanation_orders(item, RunSpec(k=4))) == 24
    sampled = explanation_orders(item, RunSpec(k=4, max_orders=3, seed=1))
    assert len(sampled) == 3 and len(set(sampled)) == 3
    assert sampled == explanation_orders(item, RunSpec(k=4, max_orders=3, seed=1))
    others = [tuple(explanation_orders(item, RunSpec(k=4, max_orders=3, seed=s))) for s in range(6)]
    assert len(set(others)) > 1
    groups = prompt_groups(item, sampled, RunSpec(k=4))
    assert len(groups) == 3 and all(len(g) == 6 for g in groups)
