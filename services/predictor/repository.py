"""Which student versions the predictor serves (KServe's model repository): the promoted
one, hot-reloaded when a promotion is seen, and the versions pinned by MJD_PREDICT_PINNED,
each loaded once by the first request that needs it; any other version is refused without
loading it. A newly promoted version is loaded beside the old one and swapped in, so batches
already running finish on the model they started with (see :mod:`services.predictor.batcher`).
"""

from __future__ import annotations

import asyncio
import logging

from services.predictor.model import LoadedModel
from services.predictor.telemetry import MODEL_INFO
from shared.errors import MjdError
from shared.platform.registry import ModelRegistry
from shared.platform.settings import Settings

log = logging.getLogger(__name__)


class NoModel(MjdError):
    """No model version is promoted yet."""


class NotServed(MjdError):
    """A published version that is neither promoted nor pinned (HTTP 409)."""


class ModelRepository:
    """The promoted model (hot-reloaded) and the pinned versions, loaded from ``registry``."""

    def __init__(self, registry: ModelRegistry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        self.current: LoadedModel | None = None
        #: pinned versions, each loaded once by the first request that names it
        self.pinned: dict[str, asyncio.Task[LoadedModel]] = {}
        self.reload_lock = asyncio.Lock()
        self.stamp = 0.0

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
        """Load the promoted version (a failure is logged: jobs are served without it)."""
        try:
            await self.reload()
        except Exception:  # serve jobs without predictions rather than not start
            log.exception("could not load the promoted model")

    async def reload(self) -> LoadedModel | None:
        """Load the promoted version if it is not the one being served."""
        async with self.reload_lock:
            self.stamp = await asyncio.to_thread(self.registry.pointer_stamp)
            version = await asyncio.to_thread(self.registry.promoted)
            if version is None or (self.current and self.current.version == version):
                return self.current
            loaded = await asyncio.to_thread(self._load, version)
            previous, self.current = self.current, loaded
            if previous is not None:
                MODEL_INFO.labels(previous.version, previous.variant, previous.provider).set(0)
            MODEL_INFO.labels(loaded.version, loaded.variant, loaded.provider).set(1)
            log.info("serving model %s on %s", loaded.version, loaded.provider)
            return loaded

    async def watch(self) -> None:
        """Pick up promotions made through other processes (other API replicas, the CLI)."""
        while True:
            await asyncio.sleep(self.settings.model_poll_seconds)
            if await asyncio.to_thread(self.registry.pointer_stamp) != self.stamp:
                try:
                    await self.reload()
                except Exception:  # a broken version must not stop serving the current one
                    log.exception("could not load the newly promoted model")

    async def model_for(self, version: str | None) -> LoadedModel:
        """The promoted model, or a pinned version; another published version is refused
        (NotServed) and an unknown one is UnknownVersion, neither of them loaded."""
        if version is None or (self.current and version == self.current.version):
            if self.current is None:
                raise NoModel("no model is promoted yet: train one (POST /v1/training-jobs)")
            return self.current
        if version not in self.settings.predict_pinned:
            await asyncio.to_thread(self.registry.get, version)  # UnknownVersion when not
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
