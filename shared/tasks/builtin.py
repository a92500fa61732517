"""The tasks mjd knows without being told: ``nli`` (the authors' prompt, byte for byte) and
one task per LeWiDi dataset (prompt wording of mjd's own, stating each scale's meaning)."""

from __future__ import annotations

from shared.tasks.model import ExplanationTemplates, PromptTemplate, Task, TaskInput, TaskLabel

_ANSWER = "and select ONE of the listed options and start your answer with a single letter. "

NLI = Task(
    name="nli",
    version=1,
    description="Natural language inference: is the statement true, undetermined or false "
    "given the context (ChaosNLI, VariErr, LeWiDi's VariErrNLI).",
    inputs=[
        TaskInput("premise", "Context", aliases=["context"]),
        TaskInput("hypothesis", "Statement", aliases=["statement"]),
    ],
    labels=[
        TaskLabel("entailment", "Entailment", "true (entailment)", aliases=["e"]),
        TaskLabel("neutral", "Neutral", "undetermined (neutral)", aliases=["n"]),
        TaskLabel("contradiction", "Contradiction", "false (contradiction)", aliases=["c"]),
    ],
    prompt=PromptTemplate(
        version="chen2024-mc-v1",
        instruction="determine whether the following statement is true (entailment), "
        "undetermined (neutral), or false (contradiction) given the context below " + _ANSWER,
    ),
    explanations=ExplanationTemplates(
        version="v1",
        label_guided="{inputs}A reader judged the statement {gloss} given the context. Give "
        "short reasons why a reader would choose {word}, as a list: one reason per line, each "
        'starting with "- ".',
        label_free="{inputs}Is the statement true (entailment), undetermined (neutral) or "
        "false (contradiction) given the context? Readers may disagree. For each label a "
        'reader could reasonably choose, write one line "- <label>: <short reason>", where '
        "<label> is Entailment, Neutral or Contradiction.",
    ),
    lewidi_names=["natural language inference"],
    primary_metric="kl",
)

_LABEL_GUIDED = (
    "{inputs}A reader chose {word} ({gloss}). Give short reasons why a reader would choose "
    '{word}, as a list: one reason per line, each starting with "- ".'
)


def _label_free(question: str) -> str:
    return (
        "{inputs}" + question + " Readers may disagree. For each answer a reader could "
        'reasonably choose, write one line "- <answer>: <short reason>", where <answer> is '
        "one of {words}."
    )


def _scale(low: int, high: int, glosses: dict[int, str], signed: bool) -> list[TaskLabel]:
    def word(value: int) -> str:
        return f"+{value}" if signed and value > 0 else str(value)

    return [
        TaskLabel(str(value), word(value), glosses.get(value, f"{word(value)} on the scale"))
        for value in range(low, high + 1)
    ]


def _binary(no: str, yes: str, gloss_no: str, gloss_yes: str) -> list[TaskLabel]:
    return [
        TaskLabel("0", no, gloss_no, aliases=[no.lower()]),
        TaskLabel("1", yes, gloss_yes, aliases=[yes.lower()]),
    ]


def _explanations(question: str) -> ExplanationTemplates:
    return ExplanationTemplates("v1", _LABEL_GUIDED, _label_free(question))


PARAPHRASE = Task(
    name="paraphrase",
    version=1,
    description="LeWiDi 2025 Paraphrase: how far two questions ask the same thing, on a "
    "Likert scale from -5 (completely different) to +5 (the same).",
    inputs=[TaskInput("Question1", "Question 1"), TaskInput("Question2", "Question 2")],
    labels=_scale(
        -5,
        5,
        {
            -5: "they ask completely different things",
            0: "unsure: partly the same",
            5: "they ask exactly the same thing",
        },
        signed=True,
    ),
    ordinal=True,
    prompt=PromptTemplate(
        version="mjd-paraphrase-v1",
        instruction="rate how well question 2 paraphrases question 1 on a scale from -5 "
        "(they ask completely different things) through 0 (unsure) to +5 (they ask exactly "
        "the same thing) " + _ANSWER,
    ),
    explanations=_explanations(
        "From -5 (completely different) to +5 (the same), how far do the two questions ask "
        "the same thing?"
    ),
    lewidi_names=["paraphrase detection"],
    primary_metric="wasserstein",
)

CSC = Task(
    name="csc",
    version=1,
    description="LeWiDi 2025 CSC (Conversational Sarcasm Corpus): how sarcastic a response "
    "is in its context, from 1 (not at all) to 6 (completely).",
    inputs=[TaskInput("context", "Context"), TaskInput("response", "Response")],
    labels=_scale(1, 6, {1: "not at all sarcastic", 6: "completely sarcastic"}, signed=False),
    ordinal=True,
    prompt=PromptTemplate(
        version="mjd-csc-v1",
        instruction="rate how sarcastic the response is given the context, on a scale from "
        "1 (not at all sarcastic) to 6 (completely sarcastic), " + _ANSWER,
    ),
    explanations=_explanations(
        "From 1 (not at all) to 6 (completely), how sarcastic is the response in its context?"
    ),
    lewidi_names=["sarcasm detection"],
    primary_metric="wasserstein",
)

MP = Task(
    name="mp",
    version=1,
    description="LeWiDi 2025 MultiPico: is a reply to a social-media post ironic (9 languages).",
    inputs=[TaskInput("post", "Post"), TaskInput("reply", "Reply")],
    labels=_binary("Not ironic", "Ironic", "the reply is meant literally", "the reply is ironic"),
    prompt=PromptTemplate(
        version="mjd-mp-v1",
        instruction="determine whether the reply is ironic given the post it answers " + _ANSWER,
    ),
    explanations=_explanations("Is the reply ironic given the post it answers?"),
    lewidi_names=["irony detection"],
)

MD_AGREEMENT = Task(
    name="md-agreement",
    version=1,
    description="LeWiDi 2023 MD-Agreement: is a tweet offensive.",
    inputs=[TaskInput("text", "Tweet")],
    labels=_binary("Not offensive", "Offensive", "no one would be offended", "it is offensive"),
    prompt=PromptTemplate(
        version="mjd-md-agreement-v1",
        instruction="determine whether the following tweet is offensive " + _ANSWER,
    ),
    explanations=_explanations("Is the tweet offensive?"),
    lewidi_names=["offensiveness detection"],
)

CONVABUSE = Task(
    name="convabuse",
    version=1,
    description="LeWiDi 2023 ConvAbuse: is the user's last turn in a dialogue with a "
    "conversational agent abusive.",
    inputs=[
        TaskInput("prev_agent", "Agent (earlier)"),
        TaskInput("prev_user", "User (earlier)"),
        TaskInput("agent", "Agent"),
        TaskInput("user", "User (the turn to judge)"),
    ],
    labels=_binary("Not abusive", "Abusive", "the turn is not abusive", "the turn is abusive"),
    prompt=PromptTemplate(
        version="mjd-convabuse-v1",
        instruction="determine whether the user's last turn in the dialogue below is "
        "abusive " + _ANSWER,
    ),
    explanations=_explanations("Is the user's last turn in the dialogue abusive?"),
    lewidi_names=["abusivness detection", "abusiveness detection"],
)

BUILTIN: dict[str, Task] = {
    task.name: task for task in (NLI, PARAPHRASE, CSC, MP, MD_AGREEMENT, CONVABUSE)
}
