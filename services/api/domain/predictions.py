"""Predictions and the model registry, over the serving core (services.predictor)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from litestar import Request

from services.api.model_schemas import (
    ModelList,
    ModelView,
    PredictionOut,
    PredictOut,
    Promotion,
    ServingView,
)
from services.api.schemas import convert
from services.predictor import (
    Prediction,
    Predictor,
    QueueFull,
)
from services.predictor.telemetry import PREDICT_REJECTED
from shared.errors import Conflict, DataError, Failed, NotFound
from shared.labels import LABEL_NAMES
from shared.metrics import entropy
from shared.platform.registry import ModelRegistry, UnknownVersion
from shared.platform.settings import Settings


def serving_view(model: Any) -> ServingView | None:
    return msgspec.convert(model.describe(), ServingView) if model is not None else None


#: what a prediction is given to learn that its client left: called only once the request
#: is queued, so a request refused earlier leaves no coroutine behind
Disconnect = Callable[[], Awaitable[object]]


def client_gone(request: Request) -> Disconnect:
    """For ``request``: a wait that returns once its client has disconnected."""

    async def gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    return gone


class Predictions:
    def __init__(self, predictor: Predictor, settings: Settings) -> None:
        self.predictor = predictor
        self.settings = settings

    def checked_pairs(
        self, premises: Sequence[Any], hypotheses: Sequence[Any], fields: tuple[str, str]
    ) -> list[tuple[str, str]]:
        """Pairs within the server's limits; errors name the offending field, where
        ``fields`` are format strings taking the row index."""
        limits = self.settings
        listed = fields[0].split("[")[0]
        if not premises:
            raise DataError("must not be empty", field=listed)
        if len(premises) > limits.predict_max_instances:
            raise DataError(
                f"{len(premises)} instances; at most {limits.predict_max_instances} per request",
                field=listed,
            )
        pairs = []
        for index, texts in enumerate(zip(premises, hypotheses, strict=True)):
            for template, text in zip(fields, texts, strict=True):
                name = template.format(index)
                if not isinstance(text, str) or not text.strip():
                    raise DataError("must be a non-empty string", field=name)
                if len(text) > limits.predict_max_chars:
                    raise DataError(
                        f"{len(text)} characters; at most {limits.predict_max_chars} "
                        "(texts past the model's token limit but within this are truncated)",
                        field=name,
                    )
            pairs.append((texts[0], texts[1]))
        return pairs

    async def run(
        self, pairs: list[tuple[str, str]], version: str | None, gone: Disconnect
    ) -> Prediction:
        """The prediction, or the problem that says why there is none; what ``gone()``
        returns completes when the client disconnects (its request is then dropped)."""
        try:
            return await self.predictor.predict(pairs, version, gone)
        except QueueFull:
            PREDICT_REJECTED.inc()
            raise
        except UnknownVersion as exc:
            raise NotFound(exc.message, field="model") from None

    async def predict(
        self, instances: Sequence[Any], version: str | None, gone: Disconnect
    ) -> PredictOut:
        """Distributions for ``instances`` (objects with premise, hypothesis and id)."""
        pairs = self.checked_pairs(
            [i.premise for i in instances],
            [i.hypothesis for i in instances],
            ("instances[{}].premise", "instances[{}].hypothesis"),
        )
        result = await self.run(pairs, version, gone)
        rows = zip(
            instances, result.probabilities, entropy(result.probabilities), result.truncated,
            strict=True,
        )  # fmt: skip
        return PredictOut(
            model=serving_view(result.model),
            labels=list(LABEL_NAMES),
            predictions=[
                PredictionOut(id=i.id, distribution=p.tolist(), entropy=float(h), truncated=t)
                for i, p, h, t in rows
            ],
            warnings=[
                f"instances[{i}]: longer than {result.model.max_length} tokens; truncated "
                "(longest text first)"
                for i, flag in enumerate(result.truncated)
                if flag
            ],
        )


class Models:
    def __init__(self, registry: ModelRegistry, predictor: Predictor) -> None:
        self.registry = registry
        self.predictor = predictor

    def list(self) -> ModelList:
        return ModelList(
            promoted=self.registry.promoted(),
            serving=serving_view(self.predictor.current),
            models=[convert(m, ModelView) for m in self.registry.versions()],
        )

    def get(self, version: str) -> ModelView:
        return convert(self.registry.get(version), ModelView)  # UnknownVersion: 404

    def delete(self, version: str) -> None:
        """A version and its files; never the promoted one nor a pinned one (409)."""
        self.registry.get(version)
        if version == self.registry.promoted():
            raise Conflict("the promoted version is served: promote another first", field="version")
        if version in self.predictor.settings.predict_pinned:
            raise Conflict("the version is pinned (MJD_PREDICT_PINNED)", field="version")
        self.registry.delete(version)

    async def promote(self, version: str) -> Promotion:
        """Make ``version`` the served model; this server switches before answering, other
        replicas within MJD_MODEL_POLL_SECONDS."""
        self.get(version)
        pointer = self.registry.promote(version)
        try:
            loaded = await self.predictor.reload()
        except Exception as exc:
            raise Failed(
                f"promoted, but the model failed to load: {exc}", field="version"
            ) from None
        return Promotion(
            version=version, promoted=pointer["promoted"], serving=serving_view(loaded)
        )
