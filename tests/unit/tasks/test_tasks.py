"""Issue 22: a task is a value: its option orders by policy, its prompt from its template
(NLI's the authors', byte for byte, checked in tests/unit/shared/test_prompts.py), its
labels by any spelling, and a user's task file checked field by field."""

from __future__ import annotations

import json
from itertools import permutations

import msgspec
import numpy as np
import pytest

from shared.errors import DataError
from shared.method.prompts import build_prompt
from shared.method.runs import RunSpec, prompt_groups, to_label_logits
from shared.schemas import Explanation, Instance
from shared.tasks import BUILTIN, NLI, OPTION_LETTERS, Task, option_orders
from shared.tasks.files import find_task, read_task_file, task_json

PARAPHRASE = BUILTIN["paraphrase"]
CSC = BUILTIN["csc"]
MD = BUILTIN["md-agreement"]


def stance(**changes) -> dict:
    document = {
        "name": "stance",
        "version": 1,
        "description": "Stance of a tweet",
        "inputs": [{"name": "text", "shown_as": "Tweet"}],
        "labels": [{"name": n, "word": n.capitalize()} for n in ("favor", "against", "none", "x")],
        "prompt": {"version": "s1", "instruction": "pick the stance. "},
        "explanations": {"version": "v1", "label_guided": "{inputs}{word}?", "label_free": "?"},
    }
    document.update(changes)
    return document


def test_every_built_in_task_is_a_valid_value_that_round_trips():
    for task in BUILTIN.values():
        assert msgspec.convert(task_json(task), Task) == task
        assert 2 <= len(task.labels) <= len(OPTION_LETTERS)


@pytest.mark.parametrize(
    ("task", "policy", "count"),
    [(NLI, "all", 6), (MD, "all", 2), (PARAPHRASE, "scale", 2), (CSC, "scale", 2)],
)
def test_option_orders_follow_the_policy(task, policy, count):
    orders = option_orders(task)
    assert task.policy == policy and len(orders) == count
    if policy == "scale":
        assert orders == (task.label_names, task.label_names[::-1])
    for order in orders:
        assert sorted(order) == sorted(task.label_names)


def test_nominal_tasks_past_four_labels_take_the_cyclic_shifts_or_a_seeded_sample():
    six = [{"name": f"l{i}", "word": f"Word {i}"} for i in range(6)]
    cyclic = msgspec.convert(stance(labels=six), Task)
    orders = option_orders(cyclic)
    assert cyclic.policy == "cyclic" and len(orders) == 6
    assert {order[0] for order in orders} == set(cyclic.label_names)  # each label goes first
    sampled = msgspec.convert(stance(labels=six, option_orders="sample"), Task)
    drawn = option_orders(sampled, seed=3)
    assert len(set(drawn)) == 8 and drawn == option_orders(sampled, seed=3)
    assert drawn != option_orders(sampled, seed=4)
    with pytest.raises(DataError) as caught:
        msgspec.convert(stance(labels=six, option_orders="all"), Task)
    assert caught.value.field == "option_orders"


def test_an_ordinal_prompt_lists_the_scale_in_order_and_reversed():
    explanations = (Explanation("same dish", "5"), Explanation("similar", "-1"))
    inputs = {"Question1": "How to cook rice?", "Question2": "Best way to cook rice?"}
    item = Instance("q", inputs, explanations)
    forward, backward = (
        build_prompt(item, order, explanations, explicit=True, task=PARAPHRASE)
        for order in option_orders(PARAPHRASE)
    )
    assert forward.startswith("Please carefully and fairly base your selection on the comments")
    assert "\nQuestion 1: How to cook rice? \nQuestion 2: Best way to cook rice? " in forward
    assert "\nComment 1: same dish So I choose +5. \nComment 2: similar So I choose -1. " in forward
    assert forward.endswith("\nA. -5 \nB. -4 \nC. -3 \nD. -2 \nE. -1 \nF. 0 \nG. +1 \nH. +2 "
                            "\nI. +3 \nJ. +4 \nK. +5. \nAnswer:")  # fmt: skip
    assert backward.endswith("\nA. +5 \nB. +4 \nC. +3 \nD. +2 \nE. +1 \nF. 0 \nG. -1 \nH. -2 "
                             "\nI. -3 \nJ. -4 \nK. -5. \nAnswer:")  # fmt: skip
    groups = prompt_groups(item, [(0, 1), (1, 0)], RunSpec(k=2), PARAPHRASE)
    assert [len(group) for group in groups] == [2, 2]


def test_letter_logits_map_back_to_the_tasks_label_order():
    k = len(PARAPHRASE.labels)
    letters = np.array([np.arange(k), np.arange(k) + 100.0])  # A highest last, in both orders
    labels = to_label_logits(letters, PARAPHRASE)
    assert labels[0].tolist() == list(range(k))  # scale order: A is -5
    assert labels[1].tolist() == [100.0 + k - 1 - i for i in range(k)]  # reversed: A is +5


def test_labels_are_read_by_name_word_alias_or_number():
    assert PARAPHRASE.parse_label("+5") == "5" and PARAPHRASE.parse_label("5.0") == "5"
    assert MD.parse_label("Offensive") == "1" and MD.parse_label("1.0") == "1"
    assert NLI.parse_label("e") == "entailment"
    with pytest.raises(DataError, match="expected one of -5, -4"):
        PARAPHRASE.parse_label("6")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"explanations": {"version": "v", "label_guided": "{inputs.__init__}", "label_free": ""}},
         "explanations.label_guided"),
        ({"prompt": {"version": "s", "instruction": "x {secret}"}}, "prompt.instruction"),
        ({"prompt": {"version": "s", "instruction": "x", "option": "{letter!r}"}}, "prompt.option"),
        ({"inputs": [{"name": "a", "shown_as": "A"}, {"name": "a", "shown_as": "B"}]},
         "inputs[1].name"),
        ({"ordinal": False, "primary_metric": "wasserstein"}, "primary_metric"),
    ],
)  # fmt: skip
def test_a_task_file_is_checked_field_by_field(tmp_path, changes, field):
    path = tmp_path / "task.json"
    path.write_text(json.dumps(stance(**changes)))
    with pytest.raises(DataError) as caught:
        read_task_file(path)
    assert caught.value.field == field and caught.value.source == str(path)


def test_task_files_in_toml_and_json_are_the_same_task(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(stance()))
    labels = "\n".join(
        f'[[labels]]\nname = "{n}"\nword = "{n.capitalize()}"'
        for n in ("favor", "against", "none", "x")
    )
    (tmp_path / "a.toml").write_text(
        'name = "stance"\nversion = 1\ndescription = "Stance of a tweet"\n'
        'inputs = [{name = "text", shown_as = "Tweet"}]\n'
        '[prompt]\nversion = "s1"\ninstruction = "pick the stance. "\n'
        '[explanations]\nversion = "v1"\nlabel_guided = "{inputs}{word}?"\nlabel_free = "?"\n'
        + labels
    )
    task = read_task_file(tmp_path / "a.json")
    assert read_task_file(tmp_path / "a.toml") == task and task.policy == "all"
    assert len(option_orders(task)) == len(list(permutations(range(4))))
    assert find_task("stance@1", [task]) is task
    with pytest.raises(DataError, match="built-in"):
        (tmp_path / "nli.json").write_text(json.dumps(stance(name="nli")))
        read_task_file(tmp_path / "nli.json")


def test_an_unknown_task_name_on_the_cli_lists_the_known_ones(tmp_path, capsys):
    from services.cli import main

    data = tmp_path / "items.jsonl"
    data.write_text('{"id": "1", "premise": "P.", "hypothesis": "H.", "probs": [1, 0, 0]}\n')
    assert main(["baselines", "--data", str(data), "--task", "nope"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "unknown task 'nope'; known: convabuse, csc" in error
