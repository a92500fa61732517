"""The multiple-choice prompt of any task, from its template (shared.tasks): for ``nli``
the authors' prompts, verbatim (MJD-Estimator, MJD-generator notebook).

Every MJD record stores its task's template version, so results made with other wording can
never be mixed up with these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from shared.labels import Label
from shared.schemas import Explanation, Instance
from shared.tasks import NLI, Task, option_orders

TEMPLATE_VERSION = NLI.prompt.version

#: The NLI option words as the prompt spells them.
OPTION_WORDS = {label: NLI.word(label) for label in Label}
#: Which spellings of an option letter count as the model's answer: ``bare`` ("A" only, what
#: the authors' notebook reads) or ``both`` ("A" and " A").
Letters = Literal["bare", "both"]
LETTER_CHOICES: tuple[str, ...] = get_args(Letters)
#: All 6 orders of the NLI labels behind options A, B, C (the notebook's order).
OPTION_ORDERS: tuple[tuple[Label, ...], ...] = tuple(
    tuple(Label(name) for name in order) for order in option_orders(NLI)
)


def _comment(task: Task, index: int, explanation: Explanation, explicit: bool) -> str:
    text = task.prompt.comment.format(index=index, text=explanation.text)
    if explicit:
        if explanation.label is None:
            raise ValueError("explicit prompts need a label on every explanation")
        text += task.prompt.explicit_choice.format(word=task.word(explanation.label))
    return text


def prompt_head(
    instance: Instance, explanations: Sequence[Explanation], explicit: bool, task: Task = NLI
) -> str:
    """Everything before the option list: shared by the option orders."""
    template = task.prompt
    opening = template.explained_prefix if explanations else template.plain_prefix
    inputs = "".join(
        template.input_line.format(shown_as=field.shown_as, value=instance.inputs[field.name])
        for field in task.inputs
    )
    comments = "".join(_comment(task, i, e, explicit) for i, e in enumerate(explanations, 1))
    return opening + template.instruction + inputs + comments


def prompt_options(option_order: Sequence[str], task: Task = NLI) -> str:
    """The option list: the label words behind A, B, C, ... in ``option_order``."""
    template = task.prompt
    options = template.option_separator.join(
        template.option.format(letter=letter, word=task.word(label))
        for letter, label in zip(task.letters, option_order, strict=True)
    )
    return options + template.answer_cue


def build_prompt(
    instance: Instance,
    option_order: Sequence[str],
    explanations: Sequence[Explanation] = (),
    *,
    explicit: bool = False,
    task: Task = NLI,
) -> str:
    """The user message for one (option order, explanation order)."""
    return prompt_head(instance, explanations, explicit, task) + prompt_options(option_order, task)
