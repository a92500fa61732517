"""The fixed label order used everywhere: entailment, neutral, contradiction (E, N, C)."""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
    ENTAILMENT = "entailment"
    NEUTRAL = "neutral"
    CONTRADICTION = "contradiction"

    @property
    def index(self) -> int:
        return LABELS.index(self)

    @property
    def letter(self) -> str:
        return self.value[0]

    @classmethod
    def parse(cls, value: str) -> Label:
        """Accept the full name or its first letter, any case ("e", "Neutral", ...)."""
        text = value.strip().lower()
        for label in LABELS:
            if text in (label.value, label.letter):
                return label
        raise ValueError(f"unknown label {value!r}; expected one of {', '.join(LABEL_NAMES)}")


LABELS: tuple[Label, ...] = (Label.ENTAILMENT, Label.NEUTRAL, Label.CONTRADICTION)
LABEL_NAMES: tuple[str, ...] = tuple(label.value for label in LABELS)
NUM_LABELS = len(LABELS)
