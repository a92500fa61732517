"""The MJD method without an LLM: how a run is specified (RunSpec), which prompts an item
gets (explanation orders x option orders), how letter logits become label logits and one
distribution, and the record that keeps it all (MJDRecord). Which LLM scores the prompts is
a run's :class:`LLMChoice`: a backend, a model name and an endpoint *name*, checked against
the server's MJD_OPENAI_ENDPOINTS (a request never carries a URL or a path; the worker looks
the endpoint's URL up in its own settings).

Shared by the generator (which scores the prompts), the trainer (which distils MJDs), the
API (which checks run specs before queueing) and the CLI.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import permutations
from typing import Any, Literal, get_args

import numpy as np

from shared.bounds import check_range, check_seed
from shared.endpoints import ENDPOINT_NAME, OpenAIEndpoint
from shared.errors import DataError
from shared.method.aggregation import (
    AGGREGATIONS,
    Aggregation,
    normalize_aggregate,
    softmax_aggregate,
)
from shared.method.prompts import LETTER_CHOICES, TEMPLATE_VERSION, Letters, build_prompt
from shared.schemas import Instance
from shared.tasks import MAX_LABELS, NLI, Task, option_orders

#: what to do with an item that has fewer than k explanations
Shortfall = Literal["error", "use-available"]
SHORTFALL_POLICIES: tuple[str, ...] = get_args(Shortfall)
MAX_K = 4
#: most explanation orders sampled per item (more than any item has: P(10, 4) is 5,040)
MAX_ORDERS = 10_000
#: largest softmax temperature: past it every distribution is uniform to many digits
MAX_TEMPERATURE = 100.0
#: largest label bias a spec may set (calibration fits within ±10)
MAX_BIAS = 100.0
#: how runs were scored before ``letters`` was a choice: a record's spec without it means
#: this. Kept because MJD record files (``mjd generate``'s output, benchmark caches) live
#: outside the store, with their users; reading one as "bare" would silently rescore it.
LEGACY_LETTERS: Letters = "both"


@dataclass(frozen=True, slots=True)
class RunSpec:
    """How MJDs are made; stored with every record so runs can be told apart and redone.

    The defaults are the authors' evaluation setting: bare letters, softmax at T = 20."""

    k: int = 0
    explicit: bool = False
    max_orders: int | None = None
    shortfall: Shortfall = "error"
    letters: Letters = "bare"
    aggregation: Aggregation = "softmax"
    temperature: float = 20.0
    #: one per label, in the task's order (K - 1 free: a constant shift changes nothing);
    #: empty means none
    bias: tuple[float, ...] = (0.0, 0.0, 0.0)
    seed: int = 0
    template_version: str = TEMPLATE_VERSION

    def __post_init__(self) -> None:
        if not 0 <= self.k <= MAX_K:
            raise DataError(f"k must be between 0 and {MAX_K}, got {self.k}", field="k")
        if self.max_orders is not None:
            check_range(self.max_orders, 1, MAX_ORDERS, "max_orders")
        if self.shortfall not in SHORTFALL_POLICIES:
            raise DataError(f"expected one of {', '.join(SHORTFALL_POLICIES)}", field="shortfall")
        if self.letters not in LETTER_CHOICES:
            raise DataError(f"expected one of {', '.join(LETTER_CHOICES)}", field="letters")
        if self.aggregation not in AGGREGATIONS:
            raise DataError(f"expected one of {', '.join(AGGREGATIONS)}", field="aggregation")
        if not 0 < self.temperature <= MAX_TEMPERATURE:
            raise DataError(f"must be positive and at most {MAX_TEMPERATURE}", field="temperature")
        if len(self.bias) > MAX_LABELS or not all(
            isinstance(b, int | float) and abs(b) <= MAX_BIAS for b in self.bias
        ):
            raise DataError(
                f"expected at most {MAX_LABELS} numbers within ±{MAX_BIAS:g}", field="bias"
            )
        check_seed(self.seed)

    def for_task(self, task: Task) -> RunSpec:
        """The spec checked against a task: one bias per label (all-zero biases of another
        length, such as the NLI default, become the task's zeros) and the task's template
        version."""
        k = len(task.labels)
        bias = self.bias
        if len(bias) != k:
            if any(bias):
                raise DataError(f"expected {k} values ({'/'.join(task.label_names)})", field="bias")
            bias = (0.0,) * k
        return replace(self, bias=bias, template_version=task.prompt.version)

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> RunSpec:
        """The spec a record was made with (its ``spec``; other keys are ignored): one
        written before ``letters`` existed was scored with :data:`LEGACY_LETTERS`, so a
        re-read record keeps its scoring. (Job specs decode as
        :class:`shared.contracts.specs.MjdJobSpec`; the API always stores ``letters``.)"""
        fields = {name: stored[name] for name in cls.__dataclass_fields__ if name in stored}
        fields.setdefault("letters", LEGACY_LETTERS)
        if "bias" in fields:
            fields["bias"] = tuple(fields["bias"])
        return cls(**fields)


LLMBackend = Literal["local", "openai"]
#: a model name as OpenAI-compatible servers spell them (org/name, name:tag, name@rev)
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}")


@dataclass(frozen=True, slots=True)
class LLMChoice:
    """``local``: the generator's own LLM (no model, no endpoint); ``openai``: ``model`` on
    the endpoint the server lists as ``endpoint`` (optional when it lists exactly one)."""

    backend: LLMBackend = "local"
    model: str | None = None
    endpoint: str | None = None

    def check(self, endpoints: Mapping[str, OpenAIEndpoint]) -> str | None:
        """The endpoint name this choice uses (None for local); a DataError naming the
        field when the choice is not one this server can run."""
        if self.backend not in get_args(LLMBackend):
            raise DataError(f"expected one of {', '.join(get_args(LLMBackend))}", field="backend")
        if self.backend == "local":
            for name in ("model", "endpoint"):
                if getattr(self, name) is not None:
                    raise DataError(
                        "only the openai backend takes it (the local backend runs the "
                        "generator's own LLM)",
                        field=name,
                    )
            return None
        if self.model is None:
            raise DataError("the openai backend needs the server's model name", field="model")
        if not MODEL_NAME.fullmatch(self.model) or "://" in self.model:
            raise DataError(
                f"must be a model name ({MODEL_NAME.pattern}), not a URL or path", field="model"
            )
        return self._endpoint_name(endpoints)

    def _endpoint_name(self, endpoints: Mapping[str, OpenAIEndpoint]) -> str:
        known = ", ".join(sorted(endpoints)) or "none (MJD_OPENAI_ENDPOINTS is not set)"
        if self.endpoint is None:
            if len(endpoints) == 1:
                return next(iter(endpoints))
            raise DataError(f"name one of this server's endpoints: {known}", field="endpoint")
        if not ENDPOINT_NAME.fullmatch(self.endpoint):
            raise DataError(
                f"must be the name of one of this server's endpoints ({known}), not a URL",
                field="endpoint",
            )
        if self.endpoint not in endpoints:
            raise DataError(
                f"unknown endpoint {self.endpoint!r}; this server has: {known}", field="endpoint"
            )
        return self.endpoint


def explanation_orders(
    instance: Instance, spec: RunSpec, shortfall_option: str = "--shortfall"
) -> list[tuple[int, ...]]:
    """All k-permutations of the item's explanations, or a seeded sample of ``max_orders``
    (the same item and seed always give the same sample). An item with fewer than k is an
    error that names the shortfall option as the caller spells it (a CLI flag, a request
    field)."""
    available = len(instance.explanations)
    k = spec.k
    if available < k:
        if spec.shortfall == "error":
            raise DataError(
                f"item {instance.id!r} has {available} explanation(s) but k={k} "
                f"(set {shortfall_option} to use-available to use fewer)",
                field="explanations",
            )
        k = available
    if spec.explicit and any(e.label is None for e in instance.explanations):
        raise DataError(
            f"item {instance.id!r}: explicit prompts need a label on every explanation",
            field="explanations",
        )
    orders = list(permutations(range(available), k))
    if spec.max_orders is not None and len(orders) > spec.max_orders:
        digest = hashlib.sha256(f"{spec.seed}:{instance.id}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        picked = sorted(rng.choice(len(orders), size=spec.max_orders, replace=False))
        orders = [orders[i] for i in picked]
    return orders


def prompt_groups(
    instance: Instance, orders: Sequence[tuple[int, ...]], spec: RunSpec, task: Task = NLI
) -> list[list[str]]:
    """For each explanation order, the user messages of the task's option orders."""
    return [
        [
            build_prompt(
                instance,
                option_order,
                [instance.explanations[i] for i in order],
                explicit=spec.explicit,
                task=task,
            )
            for option_order in option_orders(task, spec.seed)
        ]
        for order in orders
    ]


def to_label_logits(letter_logits: np.ndarray, task: Task = NLI, seed: int = 0) -> np.ndarray:
    """Map per-option-order letter logits (orders x K, A/B/C/...) to label logits (orders x
    K, in the task's label order)."""
    out = np.empty_like(letter_logits)
    for row, option_order in enumerate(option_orders(task, seed)):
        for position, label in enumerate(option_order):
            out[row, task.index(label)] = letter_logits[row, position]
    return out


def aggregate(label_logits: np.ndarray, spec: RunSpec) -> np.ndarray:
    if spec.aggregation == "normalize":
        return normalize_aggregate(label_logits)
    return softmax_aggregate(label_logits, spec.temperature, spec.bias)


@dataclass(slots=True)
class MJDRecord:
    """One item's MJD with everything needed to re-aggregate it without the LLM."""

    id: str
    distribution: list[float]
    label_logits: list  # [explanation order][option order][label, in the task's order]
    letter_mass: list  # [explanation order][option order]
    explanation_orders: list[list[int]]
    missing_mass: list | None
    spec: dict[str, Any] = field(default_factory=dict)
    #: the task (``name@version``), its labels, option-order policy and the label names
    #: behind A, B, C, ... of each option order; records from before are NLI's
    task: str | None = None
    labels: list[str] | None = None
    option_policy: str | None = None
    option_orders: list[list[str]] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> MJDRecord:
        return cls(**{name: record.get(name) for name in cls.__dataclass_fields__})

    @property
    def logits(self) -> np.ndarray:
        return np.asarray(self.label_logits, dtype=np.float64)
