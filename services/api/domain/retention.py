"""Retention: finished jobs and datasets older than MJD_RETENTION_DAYS are deleted (files and
records) by a round of the API's reconciler, which also reports the artifact store's size
(``mjd_artifacts_bytes``). Model versions are deleted only on request."""

from __future__ import annotations

import logging
import time

from services.api.observability import ARTIFACTS_BYTES
from shared.platform import layout
from shared.platform.artifacts import ArtifactStore
from shared.platform.db.database import Database

log = logging.getLogger(__name__)
DAY = 86_400.0


class Retention:
    def __init__(self, store: ArtifactStore, db: Database, days: float) -> None:
        self.store = store
        self.db = db
        self.days = days

    def run(self, now: float | None = None) -> dict[str, int]:
        """One round: what it deleted."""
        removed = {"jobs": 0, "datasets": 0}
        if self.days > 0:
            cutoff = (time.time() if now is None else now) - self.days * DAY
            for job_id in self.db.jobs.finished_before(cutoff):
                if self.db.jobs.delete_job(job_id):
                    self.store.remove(layout.JOBS, job_id)
                    removed["jobs"] += 1
            for dataset_id in self.db.datasets.datasets_before(cutoff):
                if self.db.datasets.delete_dataset(dataset_id):
                    self.store.remove(layout.DATASETS, dataset_id)
                    removed["datasets"] += 1
        if any(removed.values()):
            log.info("retention: deleted %(jobs)d job(s) and %(datasets)d dataset(s)", removed)
        ARTIFACTS_BYTES.set(self.store.size())
        return removed
