"""The student bootstrap: MJDs of the vendored explained items from the default LLM, then a
student trained on them, calibrated on 30% of them and promoted. It is recorded in the job
store, so there is one at a time: starting again (another ``mjd up``) resumes the one in
flight, and its MJD job runs in the background, giving way to users' MJD jobs between items.
"""

from __future__ import annotations

import time
from enum import StrEnum

from services.api.auth import ANONYMOUS_ADMIN, Caller
from services.api.domain.datasets import DatasetService
from services.api.domain.jobs import JobService
from services.api.domain.submissions import Submissions
from services.api.schemas import BootstrapIn, BootstrapView
from shared.contracts.specs import DataRef, MjdJobSpec, TrainingJobSpec
from shared.errors import Conflict, DataError, NotFound
from shared.platform.db.bootstraps import Bootstrap
from shared.platform.db.database import Database
from shared.platform.db.jobs import Job, JobState, Priority
from shared.platform.registry import ModelRegistry
from shared.tasks import NLI

#: the vendored dataset a student is bootstrapped from
DATASET = "explained"
#: the fewest items a bootstrap takes (30% calibrate, the rest train)
MIN_ITEMS = 8
#: a bootstrap recorded this long ago without an MJD job was interrupted while starting
START_GRACE_SECONDS = 60.0


class BootstrapState(StrEnum):
    GENERATING = "GENERATING"
    TRAINING = "TRAINING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


IN_FLIGHT = (BootstrapState.GENERATING, BootstrapState.TRAINING)


def calibration_items(items: int) -> int:
    return max(2, round(0.3 * items))


def job_failure(step: str, job: Job) -> str:
    return f"its {step} job {job.id} ended {job.state}" + (f": {job.error}" if job.error else "")


class BootstrapService:
    def __init__(
        self,
        jobs: JobService,
        datasets: DatasetService,
        submissions: Submissions,
        registry: ModelRegistry,
        db: Database,
    ) -> None:
        self.jobs = jobs
        self.datasets = datasets
        self.submissions = submissions
        self.registry = registry
        self.db = db

    def current(self) -> BootstrapView:
        latest = self.db.bootstraps.latest_bootstrap()
        if latest is None:
            raise NotFound("no bootstrap was started")
        return self.view(latest)

    def ensure(self, data: BootstrapIn, caller: Caller) -> BootstrapView:
        """The bootstrap in flight, its training queued once its MJDs are done; else a new
        one, unless a student is promoted already (409)."""
        vendored = self.datasets.vendored_instances(DATASET)
        items = len(vendored) if data.items is None else data.items
        if not MIN_ITEMS <= items <= len(vendored):
            raise DataError(f"must be between {MIN_ITEMS} and {len(vendored)}", field="items")
        latest = self.db.bootstraps.latest_bootstrap()
        if latest is not None and self.state(latest)[0] in IN_FLIGHT:
            return self.view(self.advance(latest, caller))
        if self.registry.promoted() is not None:
            raise Conflict("a student is promoted already; no bootstrap is needed")
        claimed = self.db.bootstraps.claim_bootstrap(items)
        if claimed is None:  # another request started one just now: that is the one
            return self.current()
        dataset = self.datasets.add(vendored[:items], "bootstrap", caller.key_id, NLI)
        self.db.bootstraps.note_bootstrap(claimed.number, "dataset_id", dataset.id)
        job = self.submissions.queue_mjd(
            MjdJobSpec(dataset_id=dataset.id, items=items),
            vendored[:items],
            Priority.BACKGROUND,
            caller.key_id,
        )
        self.db.bootstraps.note_bootstrap(claimed.number, "mjd_job_id", job.id)
        return self.current()

    def advance(self, bootstrap: Bootstrap, caller: Caller = ANONYMOUS_ADMIN) -> Bootstrap:
        """Queue the training once the MJD job succeeded (the API's reconciler calls this
        too, so a bootstrap finishes with nobody waiting on it)."""
        state, _ = self.state(bootstrap)
        if state != BootstrapState.TRAINING or bootstrap.training_job_id is not None:
            return bootstrap
        job = self.submissions.queue_training(
            TrainingJobSpec(
                data=DataRef(mjd_job_id=bootstrap.mjd_job_id or ""),
                calibrate_on=calibration_items(bootstrap.items),
                promote=True,
            ),
            caller.key_id,
        )
        if not self.db.bootstraps.note_bootstrap(bootstrap.number, "training_job_id", job.id):
            self.jobs.cancel(job.id, None)  # another request queued its training first
        return self.db.bootstraps.latest_bootstrap() or bootstrap

    def advance_latest(self) -> None:
        latest = self.db.bootstraps.latest_bootstrap()
        if latest is not None:
            self.advance(latest)

    def state(self, bootstrap: Bootstrap) -> tuple[BootstrapState, str | None]:
        """Where the bootstrap is, from its jobs' states, and why it failed."""
        if bootstrap.mjd_job_id is None:
            if time.time() - bootstrap.created < START_GRACE_SECONDS:
                return BootstrapState.GENERATING, None
            return BootstrapState.FAILED, "it was interrupted before its MJD job was queued"
        mjd = self.db.jobs.get_job(bootstrap.mjd_job_id)
        if mjd is None or mjd.state in (JobState.FAILED, JobState.CANCELLED):
            return BootstrapState.FAILED, job_failure("MJD", mjd) if mjd else "MJD job lost"
        if mjd.state != JobState.SUCCEEDED:
            return BootstrapState.GENERATING, None
        if bootstrap.training_job_id is None:
            return BootstrapState.TRAINING, None
        training = self.db.jobs.get_job(bootstrap.training_job_id)
        if training is None or training.state in (JobState.FAILED, JobState.CANCELLED):
            failure = job_failure("training", training) if training else "training job lost"
            return BootstrapState.FAILED, failure
        if training.state != JobState.SUCCEEDED:
            return BootstrapState.TRAINING, None
        return BootstrapState.SUCCEEDED, None

    def view(self, bootstrap: Bootstrap) -> BootstrapView:
        state, error = self.state(bootstrap)
        version = None
        if state == BootstrapState.SUCCEEDED and bootstrap.training_job_id:
            trained = self.db.jobs.get_job(bootstrap.training_job_id)
            version = str((trained.summary or {}).get("version")) if trained else None
        return BootstrapView(
            number=bootstrap.number,
            state=state,
            created=bootstrap.created,
            items=bootstrap.items,
            dataset_id=bootstrap.dataset_id,
            mjd_job_id=bootstrap.mjd_job_id,
            training_job_id=bootstrap.training_job_id,
            version=version,
            error=error,
        )
