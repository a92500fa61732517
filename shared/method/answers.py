"""Reading an LLM's answer to an explanation prompt: the reasons it lists (label-guided), the
label and reason on each line (label-free), and which reasons to keep."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal, get_args

from shared.errors import DataError
from shared.tasks import NLI, Task

Selection = Literal["first", "longest", "all"]
SELECTIONS: tuple[str, ...] = get_args(Selection)

_MARKER = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")


def _labelled(task: Task) -> re.Pattern[str]:
    """A list item that starts with one of the task's label words or names: longest first,
    so "Not ironic" is not read as "ironic"."""
    spellings = {s for label in task.labels for s in (label.word, label.name)}
    alternatives = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
    return re.compile(
        rf"^[*\"'(\[]*({alternatives})[*\"')\]]*\s*[:\u2013\u2014-]\s*(.+)$",
        re.IGNORECASE,
    )


def parse_list(text: str) -> list[str]:
    """The items of the LLM's list, in order, without their markers (``-``, ``*``, ``1.``)
    and without repeats. When some lines are marked, only those count (an opening sentence
    such as "Here are some reasons:" is not a reason); otherwise every non-empty line does."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    marked = [_MARKER.sub("", line, count=1) for line in lines if _MARKER.match(line)]
    items = marked if marked else lines
    out: list[str] = []
    seen: set[str] = set()
    for item in items:
        item = item.strip()
        key = " ".join(item.lower().split())
        if item and key not in seen:
            seen.add(key)
            out.append(item)
    return out


def parse_labelled(text: str, task: Task = NLI) -> tuple[list[tuple[str, str]], int]:
    """``(label name, reason)`` per list item that starts with one of the task's label
    words, and how many items did not (kept out, and counted in the record so nothing is
    lost unseen)."""
    pattern = _labelled(task)
    found: list[tuple[str, str]] = []
    unparsed = 0
    for item in parse_list(text):
        match = pattern.match(item)
        if match and match.group(2).strip():
            found.append((task.parse_label(match.group(1)), match.group(2).strip()))
        else:
            unparsed += 1
    return found, unparsed


def select(reasons: Sequence[str], how: str, n: int) -> list[str]:
    """``first``: the first n; ``longest``: the n longest (ties: earlier first); ``all``."""
    if how == "first":
        return list(reasons[:n])
    if how == "longest":
        return sorted(reasons, key=len, reverse=True)[:n]
    if how == "all":
        return list(reasons)
    raise DataError(f"expected one of {', '.join(SELECTIONS)}", field="select")
