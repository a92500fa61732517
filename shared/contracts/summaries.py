"""What a finished job reports, one struct per kind, tagged with its kind: the worker builds
it, the job store keeps it as JSON, the API answers it (typed in the OpenAPI document)."""

from __future__ import annotations

from msgspec import Struct

from shared.metrics import Headline


def kind_tag(class_name: str) -> str:
    """A summary's ``kind``, from its class name (``MjdSummary``: ``mjd``); a test of the kinds
    table checks each is its row's kind."""
    return class_name.removesuffix("Summary").lower()


#: a summary struct says its kind in the ``kind`` field
TAGGED = {"tag_field": "kind", "tag": kind_tag, "kw_only": True}


class MjdSeconds(Struct):
    model: float
    generation: float


class MjdSummary(Struct, **TAGGED):
    job_id: str
    items: int
    model: str
    backend: str
    artifacts: list[str]
    seconds: MjdSeconds


class MetricsSummary(Struct, **TAGGED):
    job_id: str
    items: int
    summary_row: Headline
    artifacts: list[str]
    seconds: float


class TrainingSummary(Struct, **TAGGED):
    job_id: str
    version: str
    promoted: bool
    items: int
    best_epoch: int
    dev: Headline
    parity_max_abs_diff: float
    artifacts: list[str]
    seconds: float
    #: what to know before trusting the student (a dev set under 30 items, a calibration at
    #: its temperature bound); empty for jobs finished before warnings were recorded
    warnings: list[str] = []


class ExplanationSummary(Struct, **TAGGED):
    """``explanations``: how many were kept in all; ``items_without_explanations``: items
    whose LLM answer gave none (an MJD job with k >= 1 refuses them)."""

    job_id: str
    items: int
    explanations: int
    items_without_explanations: int
    model: str
    backend: str
    artifacts: list[str]
    seconds: MjdSeconds


JobSummary = MjdSummary | MetricsSummary | TrainingSummary | ExplanationSummary
