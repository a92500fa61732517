"""Predictions and the model registry, over the serving core (services.predictor): one
promoted student per task, served side by side."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any

import msgspec
from litestar import Request

from services.api.domain.tasks import TaskService
from services.api.model_schemas import (
    ModelList,
    ModelView,
    PairIn,
    PredictionOut,
    PredictOut,
    Promotion,
    ServingView,
)
from services.api.schemas import convert
from services.predictor import LoadedModel, Prediction, Predictor, QueueFull
from services.predictor.telemetry import PREDICT_REJECTED
from shared.errors import (
    Conflict,
    DataError,
    Failed,
    MjdError,
    NotFound,
    echo,
    msgspec_location,
)
from shared.metrics import entropy
from shared.platform.registry import ModelRegistry, UnknownVersion
from shared.platform.settings import Settings
from shared.tasks import NLI, Task

_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
#: NLI's model name on the OIP v2 routes; another task's is ``mjd-student-<task name>``
STUDENT = "mjd-student"


def model_name(task: str) -> str:
    """The OIP model name of a task's student (a task name or ``name@version``): NLI's is
    ``mjd-student`` (as before tasks), another's ``mjd-student-<task name>``."""
    name = task.partition("@")[0]
    return STUDENT if name == NLI.name else f"{STUDENT}-{name}"


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


class MalformedInstance(MjdError):
    """An NLI instance that does not match PairIn, the schema the request body documents
    (400, as when the body was decoded into PairIn itself)."""

    def __init__(self, message: str, field: str) -> None:
        self.message, self.field = message, field
        super().__init__(f"{field}: {message}")


@lru_cache(maxsize=64)
def instance_type(inputs: tuple[str, ...]) -> type[msgspec.Struct]:
    """The object an instance of a task with these input fields is: each field a string,
    an optional ``id``, nothing else (NLI's is PairIn)."""
    if inputs == NLI.input_names:
        return PairIn
    fields: list[Any] = [(name, str) for name in inputs]
    return msgspec.defstruct(
        "TaskInstanceIn", [*fields, ("id", str | None, None)], forbid_unknown_fields=True
    )


def instance_columns(
    instances: Sequence[dict[str, Any]], inputs: tuple[str, ...], schema_status: bool
) -> tuple[list[str | None], list[list[Any]]]:
    """The ids and, per input field, the texts of ``instances`` (objects of the task's
    fields). A missing, unknown or non-string field names ``instances[i].<field>``: a 422
    DataError, or with ``schema_status`` (NLI, whose fields the OpenAPI document fixes) the
    400 of a body that does not match its schema, as before tasks."""
    try:
        typed = msgspec.convert(list(instances), list[instance_type(inputs)])
    except msgspec.ValidationError as exc:
        detail, path = msgspec_location(str(exc))
        unknown = _UNKNOWN_FIELD.search(detail)
        where = f"instances{path or ''}" + (f".{unknown.group(1)}" if unknown else "")
        if unknown:
            detail = f"{detail}; the task's fields are {', '.join(inputs)} (and id)"
        if schema_status:
            raise MalformedInstance(detail, where) from None
        raise DataError(detail, field=where) from None
    columns = [[getattr(item, name) for item in typed] for name in inputs]
    return [item.id for item in typed], columns


class Predictions:
    def __init__(self, predictor: Predictor, settings: Settings) -> None:
        self.predictor = predictor
        self.settings = settings
        self.tasks = TaskService(predictor.registry.db)

    def checked_rows(
        self, columns: Sequence[Sequence[Any]], fields: Sequence[str]
    ) -> list[tuple[str, ...]]:
        """Rows of texts (one per input field, the columns given in the task's order) within
        the server's limits; errors name the offending field, where ``fields`` are format
        strings taking the row index (``instances[{}].premise``, ``premise[{}]``)."""
        limits = self.settings
        listed = fields[0].split("[")[0]
        count = len(columns[0])
        if not count:
            raise DataError("must not be empty", field=listed)
        if count > limits.predict_max_instances:
            raise DataError(
                f"{count} instances; at most {limits.predict_max_instances} per request",
                field=listed,
            )
        rows = []
        for index, texts in enumerate(zip(*columns, strict=True)):
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
            rows.append(tuple(texts))
        return rows

    def checked_pairs(
        self, premises: Sequence[Any], hypotheses: Sequence[Any], fields: tuple[str, str]
    ) -> list[tuple[str, ...]]:
        """NLI's rows: :meth:`checked_rows` of premise and hypothesis columns."""
        return self.checked_rows([premises, hypotheses], fields)

    def task(self, name: str | None) -> Task:
        """The task a request names (404 naming ``task`` when none is known; default NLI)."""
        return self.tasks.resolve(name)

    def served_model(self, task: str) -> LoadedModel | None:
        """The model served for ``task`` (a name: its newest served version; or a ref)."""
        served = self.predictor.models.served_task(task)
        return self.predictor.served[served] if served else None

    def oip_task(self, name: str) -> Task:
        """The task an OIP model name stands for (see :func:`model_name`); an unknown one is
        404 naming ``name``, with the models this server has."""
        if name == STUDENT:
            return NLI
        prefix = f"{STUDENT}-"
        task_name = name.removeprefix(prefix) if name.startswith(prefix) else ""
        if task_name and task_name != NLI.name and "@" not in task_name:
            try:
                return self.task(task_name)
            except NotFound:
                pass
        served = sorted({model_name(ref) for ref in self.predictor.served} | {STUDENT})
        raise NotFound(
            f"unknown model {echo(name)}; this server has {', '.join(map(repr, served))}",
            field="name",
        )

    async def run(
        self,
        rows: list[tuple[str, ...]],
        version: str | None,
        gone: Disconnect,
        task: str | None = None,
    ) -> Prediction:
        """The prediction, or the problem that says why there is none; what ``gone()``
        returns completes when the client disconnects (its request is then dropped)."""
        try:
            return await self.predictor.predict(rows, version, gone, task)
        except QueueFull:
            PREDICT_REJECTED.inc()
            raise
        except UnknownVersion as exc:
            raise NotFound(exc.message, field="model") from None

    async def predict(
        self,
        instances: Sequence[dict[str, Any]],
        version: str | None,
        gone: Disconnect,
        task_name: str | None = None,
    ) -> PredictOut:
        """Distributions for ``instances`` (objects of the task's input fields and an
        optional id) from the model promoted for the task (default NLI)."""
        task = self.task(task_name)
        wanted = task_name if task_name and "@" in task_name else task.name
        model = self.served_model(wanted)
        inputs = model.inputs if model is not None else task.input_names
        ids, columns = instance_columns(instances, inputs, schema_status=task.ref == NLI.ref)
        rows = self.checked_rows(columns, [f"instances[{{}}].{name}" for name in inputs])
        result = await self.run(rows, version, gone, wanted)
        probabilities = result.probabilities
        flags = zip(ids, probabilities, entropy(probabilities), result.truncated, strict=True)
        return PredictOut(
            model=serving_view(result.model),
            labels=list(result.model.labels),
            predictions=[
                PredictionOut(id=i, distribution=p.tolist(), entropy=float(h), truncated=t)
                for i, p, h, t in flags
            ],
            warnings=[
                f"instances[{i}]: longer than {result.model.max_length} tokens; truncated "
                "(longest text first)"
                for i, flag in enumerate(result.truncated)
                if flag
            ],
            task=result.model.task,
        )


class Models:
    def __init__(self, registry: ModelRegistry, predictor: Predictor) -> None:
        self.registry = registry
        self.predictor = predictor

    def list(self) -> ModelList:
        served = self.predictor.served
        return ModelList(
            promoted=self.registry.promoted(),
            serving=serving_view(self.predictor.current),
            models=[convert(m, ModelView) for m in self.registry.versions()],
            promoted_by_task=self.registry.promoted_versions(),
            served=[serving_view(served[task]) for task in sorted(served)],  # type: ignore[misc]
        )

    def get(self, version: str) -> ModelView:
        return convert(self.registry.get(version), ModelView)  # UnknownVersion: 404

    def delete(self, version: str) -> None:
        """A version and its files; never one promoted for a task nor a pinned one (409)."""
        self.registry.get(version)
        if version in self.registry.promoted_versions().values():
            raise Conflict(
                "the promoted version is served: promote another of its task first",
                field="version",
            )
        if version in self.predictor.settings.predict_pinned:
            raise Conflict("the version is pinned (MJD_PREDICT_PINNED)", field="version")
        self.registry.delete(version)

    async def promote(self, version: str, task: str | None = None) -> Promotion:
        """Make ``version`` the served model of its task (``task``, when given, must be that
        one: 422 otherwise); this server switches before answering, other replicas within
        MJD_MODEL_POLL_SECONDS."""
        self.get(version)
        pointer = self.registry.promote(version, task)
        try:
            loaded = await self.predictor.reload(pointer["task"])
        except Exception as exc:
            raise Failed(
                f"promoted, but the model failed to load: {exc}", field="version"
            ) from None
        return Promotion(
            version=version,
            promoted=pointer["promoted"],
            serving=serving_view(loaded),
            task=pointer["task"],
        )
