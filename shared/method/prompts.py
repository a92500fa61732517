"""The authors' multiple-choice prompts, verbatim (MJD-Estimator, MJD-generator notebook).

Every MJD record stores :data:`TEMPLATE_VERSION`, so results made with other wording can
never be mixed up with these.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import permutations
from typing import Literal, get_args

from shared.labels import LABELS, Label
from shared.schemas import Explanation, Instance

TEMPLATE_VERSION = "chen2024-mc-v1"

#: The option words as the prompt spells them.
OPTION_WORDS = {
    Label.ENTAILMENT: "Entailment",
    Label.NEUTRAL: "Neutral",
    Label.CONTRADICTION: "Contradiction",
}
#: Letters of the three options, in the order they are listed.
OPTION_LETTERS = ("A", "B", "C")
#: Which spellings of an option letter count as the model's answer: ``bare`` ("A" only, what
#: the authors' notebook reads) or ``both`` ("A" and " A").
Letters = Literal["bare", "both"]
LETTER_CHOICES: tuple[str, ...] = get_args(Letters)
#: All 6 orders of the labels behind options A, B, C (the notebook's order).
OPTION_ORDERS: tuple[tuple[Label, ...], ...] = tuple(permutations(LABELS))

_TASK = (
    "determine whether the following statement is true (entailment), undetermined (neutral), "
    "or false (contradiction) given the context below and select ONE of the listed options "
    "and start your answer with a single letter. "
)
_PLAIN_OPENING = "Please " + _TASK
_EXPLAINED_OPENING = (
    "Please carefully and fairly base your selection on the comments below to " + _TASK
)


def _comment(index: int, explanation: Explanation, explicit: bool) -> str:
    text = f"\nComment {index}: {explanation.text} "
    if explicit:
        if explanation.label is None:
            raise ValueError("explicit prompts need a label on every explanation")
        text += f"So I choose {OPTION_WORDS[explanation.label]}. "
    return text


def prompt_head(instance: Instance, explanations: Sequence[Explanation], explicit: bool) -> str:
    """Everything before the option list: shared by the 6 option orders."""
    if not explanations:
        return f"{_PLAIN_OPENING}\nContext: {instance.premise} \nStatement: {instance.hypothesis} "
    comments = "".join(_comment(i, e, explicit) for i, e in enumerate(explanations, start=1))
    return (
        f"{_EXPLAINED_OPENING}\nContext: {instance.premise} "
        f"\nStatement: {instance.hypothesis} {comments}"
    )


def prompt_options(option_order: Sequence[Label]) -> str:
    a, b, c = (OPTION_WORDS[label] for label in option_order)
    return f"\nA. {a} \nB. {b} \nC. {c}. \nAnswer:"


def build_prompt(
    instance: Instance,
    option_order: Sequence[Label],
    explanations: Sequence[Explanation] = (),
    *,
    explicit: bool = False,
) -> str:
    """The user message for one (option order, explanation order)."""
    return prompt_head(instance, explanations, explicit) + prompt_options(option_order)
