"""The prefix-tree packer behind tree scoring: prompts as their radix forest, cut into rows
of a scoring call (each token seeing only its own path) and grouped into calls by a token
budget. Torch-free, so it can be tested and reasoned about without loading a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: The most tokens one row of a scoring call holds (an item's prompt tree is split below this:
#: the dense tree-attention mask costs attention work that grows with the square of a row).
ROW_TOKENS = 384
#: The most positions, padding included, one scoring call runs through the model.
CALL_TOKENS = 2048


@dataclass(slots=True)
class PrefixNode:
    """A run of tokens shared by every sequence below it in the prefix tree; ``ends`` lists
    the sequences whose last token is this node's last token."""

    tokens: list[int]
    ends: list[int] = field(default_factory=list)
    children: list[PrefixNode] = field(default_factory=list)
    size: int = 0  # tokens in this node and all below it


def prefix_tree(
    sequences: Sequence[Sequence[int]], members: list[int] | None = None, offset: int = 0
) -> list[PrefixNode]:
    """Radix forest of ``sequences[i][offset:]`` for i in members (all longer than offset)."""
    if members is None:
        if any(len(s) == 0 for s in sequences):
            raise ValueError("cannot score an empty token sequence")
        members = list(range(len(sequences)))
    by_token: dict[int, list[int]] = {}
    for i in members:
        by_token.setdefault(sequences[i][offset], []).append(i)
    nodes = []
    for group in by_token.values():
        end = offset + 1
        while (
            all(len(sequences[i]) > end for i in group)
            and len({sequences[i][end] for i in group}) == 1
        ):
            end += 1
        node = PrefixNode(list(sequences[group[0]][offset:end]))
        node.ends = [i for i in group if len(sequences[i]) == end]
        rest = [i for i in group if len(sequences[i]) > end]
        if rest:
            node.children = prefix_tree(sequences, rest, end)
        node.size = len(node.tokens) + sum(child.size for child in node.children)
        nodes.append(node)
    return nodes


@dataclass(slots=True)
class TreeRow:
    """Prompts packed into one row of a scoring call as their flattened prefix tree: each
    token sees only the tokens on its own path (``parents``), so a shared segment is computed
    once for every prompt below it. ``ends`` maps a sequence to the index of its last token."""

    tokens: list[int] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)  # -1: the token follows the stem
    depths: list[int] = field(default_factory=list)  # tokens before it on its path
    ends: dict[int, int] = field(default_factory=dict)

    def add(self, node: PrefixNode, parent: int, depth: int, *, subtree: bool) -> None:
        """Append ``node`` below token ``parent`` (and all below it when ``subtree``)."""
        for token in node.tokens:
            self.tokens.append(token)
            self.parents.append(parent)
            self.depths.append(depth)
            parent, depth = len(self.tokens) - 1, depth + 1
        for sequence in node.ends:
            self.ends.setdefault(sequence, parent)
        if subtree:
            for child in node.children:
                self.add(child, parent, depth, subtree=True)

    def visibility(self) -> np.ndarray:
        """(L, L) booleans: row token i may attend to row token j (its path, itself included)."""
        seen = np.zeros((len(self.tokens), len(self.tokens)), dtype=bool)
        for i, parent in enumerate(self.parents):
            if parent >= 0:
                seen[i] = seen[parent]
            seen[i, i] = True
        return seen


def pack_rows(sequences: Sequence[Sequence[int]], row_tokens: int = ROW_TOKENS) -> list[TreeRow]:
    """The sequences' prefix tree cut into rows of at most ``row_tokens`` tokens where it can
    be: whole subtrees share a row; a subtree too big for one row is split below its top
    node, whose tokens then start each of those rows (computed once per row). Every sequence
    ends in exactly one row."""
    rows: list[TreeRow] = []
    claimed: set[int] = set()

    def row_for(path: list[PrefixNode], subtrees: list[PrefixNode]) -> TreeRow:
        row, parent = TreeRow(), -1
        for node in path:
            row.add(node, parent, len(row.tokens), subtree=False)
            parent = len(row.tokens) - 1
        for node in subtrees:
            row.add(node, parent, parent + 1, subtree=True)
        # a sequence that ends on a path shared by several rows belongs to the first of them
        row.ends = {sequence: at for sequence, at in row.ends.items() if sequence not in claimed}
        claimed.update(row.ends)
        return row

    def place(nodes: list[PrefixNode], path: list[PrefixNode]) -> None:
        above = sum(len(node.tokens) for node in path)
        batch: list[PrefixNode] = []
        used = above
        for node in nodes:
            if above + node.size > row_tokens:
                if node.children:
                    place(node.children, [*path, node])
                else:  # a single prompt longer than a row is a row of its own
                    rows.append(row_for(path, [node]))
                continue
            if used + node.size > row_tokens and batch:
                rows.append(row_for(path, batch))
                batch, used = [], above
            batch.append(node)
            used += node.size
        if batch:
            rows.append(row_for(path, batch))

    place(prefix_tree(sequences), [])
    return rows


def group_rows(rows: Sequence[TreeRow], call_tokens: int = CALL_TOKENS) -> list[list[TreeRow]]:
    """Rows into calls of similar length, each at most ``call_tokens`` positions with padding
    (a longer row is a call of its own)."""
    calls: list[list[TreeRow]] = []
    for row in sorted(rows, key=lambda r: len(r.tokens), reverse=True):
        if calls and (len(calls[-1]) + 1) * len(calls[-1][0].tokens) <= call_tokens:
            calls[-1].append(row)
        else:
            calls.append([row])
    return calls


def common_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    first = sequences[0]
    length = min(len(s) for s in sequences)
    for sequence in sequences[1:]:
        n = 0
        while n < length and sequence[n] == first[n]:
            n += 1
        length = n
    return length
