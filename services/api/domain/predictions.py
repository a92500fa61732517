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
from services.api.problems import problem
from services.api.schemas import convert
from services.predictor import (
    ClientGone,
    NoModel,
    NotServed,
    Overdue,
    Prediction,
    Predictor,
    QueueFull,
)
from services.predictor.telemetry import PREDICT_REJECTED
from shared.labels import LABEL_NAMES
from shared.metrics import entropy
from shared.registry import ModelRegistry, UnknownVersion
from shared.settings import Settings


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
            raise problem(422, "must not be empty", listed)
        if len(premises) > limits.predict_max_instances:
            raise problem(
                422,
                f"{len(premises)} instances; at most {limits.predict_max_instances} per request",
                listed,
            )
        pairs = []
        for index, texts in enumerate(zip(premises, hypotheses, strict=True)):
            for template, text in zip(fields, texts, strict=True):
                name = template.format(index)
                if not isinstance(text, str) or not text.strip():
                    raise problem(422, "must be a non-empty string", name)
                if len(text) > limits.predict_max_chars:
                    raise problem(
                        422,
                        f"{len(text)} characters; at most {limits.predict_max_chars} "
                        "(texts past the model's token limit but within this are truncated)",
                        name,
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
            raise problem(
                429, "the prediction queue is full; retry shortly", headers={"Retry-After": "1"}
            ) from None
        except NoModel as exc:  # the model the request asks for (the promoted one) is missing
            raise problem(503, str(exc), "model") from None
        except Overdue as exc:
            raise problem(503, str(exc)) from None
        except ClientGone:  # nobody reads this answer
            raise problem(503, "the client disconnected") from None
        except NotServed as exc:
            raise problem(409, str(exc), "model") from None
        except UnknownVersion as exc:
            raise problem(404, exc.message, "model") from None

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
        try:
            return convert(self.registry.get(version), ModelView)
        except UnknownVersion as exc:
            raise problem(404, exc.message, "version") from None

    def delete(self, version: str) -> None:
        """A version and its files; never the promoted one nor a pinned one (409)."""
        try:
            self.registry.get(version)
        except UnknownVersion as exc:
            raise problem(404, exc.message, "version") from None
        if version == self.registry.promoted():
            raise problem(409, "the promoted version is served: promote another first", "version")
        if version in self.predictor.settings.predict_pinned:
            raise problem(409, "the version is pinned (MJD_PREDICT_PINNED)", "version")
        self.registry.delete(version)

    async def promote(self, version: str) -> Promotion:
        """Make ``version`` the served model; this server switches before answering, other
        replicas within MJD_MODEL_POLL_SECONDS."""
        self.get(version)
        pointer = self.registry.promote(version)
        try:
            loaded = await self.predictor.reload()
        except Exception as exc:
            raise problem(
                500, f"promoted, but the model failed to load: {exc}", "version"
            ) from None
        return Promotion(
            version=version, promoted=pointer["promoted"], serving=serving_view(loaded)
        )
