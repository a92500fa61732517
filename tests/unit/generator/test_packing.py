"""The prefix-tree packer (torch-free): rows rebuild every prompt once, each token sees
exactly its own path at its own position, shared prefixes run once, budgets hold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.generator.packing import (
    TreeRow,
    common_prefix_length,
    group_rows,
    pack_rows,
    prefix_tree,
)


def _path(row, token):
    """The tokens a row token sees, in order: its path up from the row's start."""
    path = []
    while token >= 0:
        path.append(row.tokens[token])
        token = row.parents[token]
    return path[::-1]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 3), min_size=1, max_size=30),
        min_size=1,
        max_size=12,
        unique_by=tuple,
    ),
    st.integers(1, 40),
)
def test_packed_rows_rebuild_every_sequence_once(sequences, row_tokens):
    rows = pack_rows(sequences, row_tokens)
    rebuilt = {}
    for row in rows:
        assert len(row.tokens) <= max(row_tokens, max(map(len, sequences)))
        assert len(row.tokens) == len(row.parents) == len(row.depths)
        seen = row.visibility()
        for token, parent in enumerate(row.parents):
            assert parent < token and row.depths[token] == len(_path(row, token)) - 1
            # a token attends to exactly its own path
            assert seen[token].sum() == len(_path(row, token)) and seen[token, token]
        for sequence, token in row.ends.items():
            assert sequence not in rebuilt
            rebuilt[sequence] = _path(row, token)
    assert rebuilt == {i: list(s) for i, s in enumerate(sequences)}
    calls = group_rows(rows, 2 * row_tokens)
    assert sorted(id(r) for call in calls for r in call) == sorted(id(r) for r in rows)
    for call in calls:
        width = max(len(r.tokens) for r in call)
        assert len(call) == 1 or len(call) * width <= 2 * row_tokens


def _items(count, head=40, options=6, suffix=12):
    """Prompts shaped like the engine's: per item a head shared by its option orders."""
    out = []
    for item in range(count):
        start = [1000 + item, *range(100, 100 + head)]
        out.append([[*start, *range(200 + o * suffix, 200 + (o + 1) * suffix)] for o in range(6)])
    return out


def test_items_are_packed_whole_and_each_shared_token_runs_once():
    """Batches of 16 prompts split items (6 option orders each) and ran an item's shared
    prompt once per batch it fell into; rows hold whole items now."""
    items = _items(9)
    flat = [s for item in items for s in item]
    rows = pack_rows(flat, row_tokens=200)
    tree_tokens = sum(node.size for node in prefix_tree(flat))
    assert sum(len(row.tokens) for row in rows) == tree_tokens
    for i in range(len(items)):
        assert len({id(r) for r in rows for s in r.ends if s // 6 == i}) == 1


def test_an_item_bigger_than_a_row_is_split_below_its_shared_head():
    flat = [s for item in _items(1, head=40, suffix=30) for s in item]  # 41 + 6 * 30 tokens
    rows = pack_rows(flat, row_tokens=110)
    assert len(rows) == 3  # two option orders (41 + 60 tokens) per row
    assert all(row.tokens[:41] == flat[0][:41] for row in rows)


def test_shared_prefix_is_one_node_with_the_sequences_below_it():
    (root,) = prefix_tree([[1, 2, 3, 4], [1, 2, 5], [1, 2]])
    assert root.tokens == [1, 2] and root.ends == [2]
    assert [child.tokens for child in root.children] == [[3, 4], [5]]
    assert [child.ends for child in root.children] == [[0], [1]]
    assert root.size == 5


def test_sequences_with_no_common_first_token_are_separate_trees():
    roots = prefix_tree([[1, 2], [3, 4], [1, 5]])
    assert [root.tokens for root in roots] == [[1], [3, 4]]
    assert [child.tokens for child in roots[0].children] == [[2], [5]]


def test_an_empty_sequence_is_refused():
    with pytest.raises(ValueError, match="empty token sequence"):
        prefix_tree([[1], []])


def test_one_row_parents_depths_and_mask_of_a_small_tree():
    (row,) = pack_rows([[7, 8, 9], [7, 8, 6]], row_tokens=10)
    assert row.tokens == [7, 8, 9, 6]
    assert row.parents == [-1, 0, 1, 1]
    assert row.depths == [0, 1, 2, 2]  # the siblings sit at the same position
    assert row.ends == {0: 2, 1: 3}
    expected = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 0, 1]], dtype=bool)
    np.testing.assert_array_equal(row.visibility(), expected)


def test_a_sequence_that_is_a_prefix_of_another_ends_inside_it():
    (row,) = pack_rows([[4, 5, 6], [4, 5]])
    assert row.tokens == [4, 5, 6] and row.ends == {0: 2, 1: 1}


def test_a_prompt_longer_than_a_row_is_a_row_of_its_own():
    rows = pack_rows([[1] * 12, [2, 3]], row_tokens=5)
    assert [len(row.tokens) for row in rows] == [12, 2]
    assert [row.ends for row in rows] == [{0: 11}, {1: 1}]


def test_a_sequence_ending_on_a_repeated_head_belongs_to_the_first_row():
    rows = pack_rows([[1, 2], [1, 2, 3, 4], [1, 2, 5, 6]], row_tokens=4)
    assert len(rows) == 2 and all(row.tokens[:2] == [1, 2] for row in rows)
    assert [sorted(row.ends) for row in rows] == [[0, 1], [2]]


def test_rows_are_grouped_longest_first_within_the_call_budget():
    rows = [TreeRow(tokens=[0] * n) for n in (2, 5, 3, 5)]
    calls = group_rows(rows, call_tokens=10)
    assert [[len(r.tokens) for r in call] for call in calls] == [[5, 5], [3, 2]]
    (alone,) = group_rows([TreeRow(tokens=[0] * 30)], call_tokens=10)
    assert len(alone) == 1


def test_common_prefix_length():
    assert common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_length([[1, 2], [3]]) == 0
    assert common_prefix_length([[5, 6]]) == 2
    assert common_prefix_length([(1, 2, 3), [1, 2, 3, 4]]) == 3


def test_importing_the_packer_does_not_import_torch():
    code = "import sys, services.generator.packing; print('torch' in sys.modules)"
    root = Path(__file__).resolve().parents[3]  # this checkout, not an installed copy
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root, env=env
    )
    assert out.stdout.strip() == "False"
