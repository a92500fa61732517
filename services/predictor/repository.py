"""Which student versions the predictor serves (KServe's model repository): per task, the
promoted one, hot-reloaded when a promotion is seen, side by side with the other tasks'; and
the versions pinned by MJD_PREDICT_PINNED, each loaded once by the first request that needs
it; any other version is refused without loading it. A newly promoted version is loaded
beside the old one and swapped in, so batches already running finish on the model they
started with (see :mod:`services.predictor.batcher`).

Tasks are named ``name@version`` (the registry's); a request may name a task by its name
alone, which is the newest version of it that has a model served.
"""

from __future__ import annotations

import asyncio
import logging

from services.predictor.model import LoadedModel
from services.predictor.telemetry import MODEL_INFO
from shared.errors import DataError, MjdError
from shared.platform.registry import ModelRegistry
from shared.platform.settings import Settings
from shared.tasks import NLI

log = logging.getLogger(__name__)


class NoModel(MjdError):
    """No model version is promoted yet (for the task asked for)."""


class NotServed(MjdError):
    """A published version that is neither promoted nor pinned (HTTP 409)."""


def _task_version(ref: str) -> int:
    number = ref.partition("@")[2]
    return int(number) if number.isdigit() else 0


class ModelRepository:
    """The promoted model of each task (hot-reloaded) and the pinned versions, loaded from
    ``registry``."""

    def __init__(self, registry: ModelRegistry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        #: the model served for each task (``name@version``) that has one promoted
        self.served: dict[str, LoadedModel] = {}
        #: pinned versions, each loaded once by the first request that names it
        self.pinned: dict[str, asyncio.Task[LoadedModel]] = {}
        self.reload_lock = asyncio.Lock()
        self.stamp = 0.0

    @property
    def current(self) -> LoadedModel | None:
        """The model served for NLI (the default task)."""
        return self.served.get(NLI.ref)

    @current.setter
    def current(self, model: LoadedModel | None) -> None:
        if model is None:
            self.served.pop(NLI.ref, None)
        else:
            self.served[NLI.ref] = model

    def served_task(self, task: str | None) -> str | None:
        """The served task ``task`` names (``name@version``, or a name: its newest served
        version); None when none is served (default: NLI)."""
        task = task or NLI.ref
        if task in self.served:
            return task
        name = task.partition("@")[0]
        if "@" in task:
            return None
        matches = [ref for ref in self.served if ref.partition("@")[0] == name]
        return max(matches, key=_task_version) if matches else None

    def _load(self, version: str) -> LoadedModel:
        self.registry.get(version)  # published, or UnknownVersion
        return LoadedModel.load(
            self.registry.folder(version),
            provider=self.settings.predict_provider,
            variant=self.settings.predict_variant,
            max_batch=self.settings.predict_max_batch,
            max_tokens=self.settings.predict_max_tokens,
        )

    async def start(self) -> None:
        """Load the promoted versions (a failure is logged: jobs are served without it)."""
        try:
            await self.reload()
        except Exception:  # serve jobs without predictions rather than not start
            log.exception("could not load a promoted model")

    async def reload(self, task: str | None = None) -> LoadedModel | None:
        """Load each task's promoted version that is not the one served (only ``task``'s
        when given), and return the model now served for ``task`` (default NLI). A version
        that fails to load leaves its task's model as it was and, once the other tasks are
        loaded, raises."""
        async with self.reload_lock:
            self.stamp = await asyncio.to_thread(self.registry.pointer_stamp)
            promoted = await asyncio.to_thread(self.registry.promoted_versions)
            failure: Exception | None = None
            for ref, version in promoted.items():
                if task is not None and ref != task:
                    continue
                if ref in self.served and self.served[ref].version == version:
                    continue
                try:
                    self._swap(ref, await asyncio.to_thread(self._load, version))
                except Exception as exc:
                    log.exception("could not load version %s of task %s", version, ref)
                    failure = failure or exc
            if failure is not None:
                raise failure
            return self.served.get(task or NLI.ref)

    def _swap(self, task: str, loaded: LoadedModel) -> None:
        previous, self.served[task] = self.served.get(task), loaded
        if previous is not None:
            MODEL_INFO.labels(previous.version, previous.variant, previous.provider).set(0)
        MODEL_INFO.labels(loaded.version, loaded.variant, loaded.provider).set(1)
        log.info("serving model %s for task %s on %s", loaded.version, task, loaded.provider)

    async def watch(self) -> None:
        """Pick up promotions made through other processes (other API replicas, the CLI)."""
        while True:
            await asyncio.sleep(self.settings.model_poll_seconds)
            if await asyncio.to_thread(self.registry.pointer_stamp) != self.stamp:
                try:
                    await self.reload()
                except Exception:  # a broken version must not stop serving the current one
                    log.exception("could not load a newly promoted model")

    async def model_for(self, version: str | None, task: str | None = None) -> LoadedModel:
        """The model promoted for ``task`` (default NLI), or a pinned version of it; another
        published version is refused (NotServed), one of another task is a DataError naming
        ``model``, and an unknown one is UnknownVersion, none of them loaded."""
        served_task = self.served_task(task)
        served = self.served.get(served_task) if served_task else None
        if version is None or (served is not None and version == served.version):
            if served is None:
                wanted = task or NLI.ref
                raise NoModel(
                    f"no model is promoted for task {wanted} yet: train one "
                    "(POST /v1/training-jobs)"
                )
            return served
        own = await asyncio.to_thread(self.registry.task_of, version)  # UnknownVersion
        wanted = served_task or task or NLI.ref
        if own != wanted and own.partition("@")[0] != wanted:
            raise DataError(f"version {version} predicts task {own}, not {wanted}", field="model")
        if version not in self.settings.predict_pinned:
            raise NotServed(
                f"version {version} is neither promoted nor pinned (MJD_PREDICT_PINNED)"
            )
        if version not in self.pinned:
            self.pinned[version] = asyncio.ensure_future(asyncio.to_thread(self._load, version))
        try:
            return await asyncio.shield(self.pinned[version])
        except Exception:
            self.pinned.pop(version, None)  # e.g. not published yet: a later request retries
            raise
