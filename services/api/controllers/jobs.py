"""Jobs of every kind: MJD generation and explanation writing are submitted here; state,
results, artifacts, cancel and the listing serve all kinds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, delete, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import File

from services.api import urls
from services.api.controllers import Accepted, Calling, Submit, accepted, route, submission
from services.api.domain.jobs import JobService
from services.api.schemas import ExplanationJobIn, JobList, JobResult, JobView, MjdJobIn
from shared.contracts import JobKind
from shared.platform.auth import Scope
from shared.platform.db.jobs import JobState
from shared.platform.layout import ARTIFACT_MEDIA_TYPES


@dataclass
class Download(Operation):
    """The artifact download, documented in every media type a job's files can have."""

    def __post_init__(self) -> None:
        binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        if self.responses and "200" in self.responses:
            ok = self.responses["200"]
            ok.content = {
                media: OpenAPIMediaType(schema=binary) for media in ARTIFACT_MEDIA_TYPES.values()
            }  # type: ignore[union-attr]


Jobs = NamedDependency[JobService]


PURGED = {204: ResponseSpec(None, description="The finished job's files and record are deleted")}

#: the deepest page a listing serves (a database offset must fit its integer type)
MAX_OFFSET = 10**9


class JobController(Controller):
    tags = ("jobs",)

    @submission(urls.MJD_JOBS, "createMjdJob", "Queue MJD generation")
    def create_mjd_job(
        self, data: JSONBody[MjdJobIn], submissions: Submit, caller: Calling
    ) -> Accepted:
        """For a stored dataset, inline instances or a finished explanation job's items (its
        ``job_id``); k and labels are checked first."""
        return accepted(submissions.mjd(data, caller))

    @submission(urls.EXPLANATION_JOBS, "createExplanationJob", "Queue explanations by an LLM")
    def create_explanation_job(
        self, data: JSONBody[ExplanationJobIn], submissions: Submit, caller: Calling
    ) -> Accepted:
        """Label-guided (reasons for each given label) or label-free (the LLM picks the
        labels) explanations for a stored dataset or inline instances, on the generation
        queue; every item's labels are checked first. The result is an explained dataset:
        its file is the job's artifact, and an MJD job takes the job's id as its items."""
        return accepted(submissions.explanation(data, caller))

    @route(
        get, urls.JOB, "getJob", "A job's state, progress and summary", 400, 404, 503,
        scope=Scope.READ,
    )  # fmt: skip
    def get_job(self, job_id: FromPath[str], jobs: Jobs, caller: Calling) -> JobView:
        return jobs.view(job_id, caller.sees)

    @route(
        get, urls.JOB_RESULT, "getJobResult", "A finished job's result", 400, 404, 409, 503,
        scope=Scope.READ,
    )  # fmt: skip
    def get_result(self, job_id: FromPath[str], jobs: Jobs, caller: Calling) -> JobResult:
        """MJD records, a metric report, the trained model's metadata, or the explained
        items."""
        return jobs.result(job_id, caller.sees)

    @route(
        get, urls.JOB_ARTIFACT, "getJobArtifact", "A job's file", 400, 404,
        scope=Scope.READ, operation_class=Download,
    )  # fmt: skip
    def get_artifact(
        self, job_id: FromPath[str], name: FromPath[str], jobs: Jobs, caller: Calling
    ) -> File:
        """A file the finished job lists among its summary's artifacts."""
        path, media_type = jobs.artifact(job_id, name, caller.sees)
        return File(path, media_type=media_type)

    @route(
        delete, urls.JOB, "cancelJob", "Cancel a job, or purge a finished one", 400, 404, 409,
        503, scope=Scope.SUBMIT, status_code=202, responses=PURGED,
    )  # fmt: skip
    def cancel(
        self,
        job_id: FromPath[str],
        jobs: Jobs,
        caller: Calling,
        purge: Annotated[bool, QueryParameter()] = False,
    ) -> Response[JobView]:  # or 204 without a body (documented in PURGED)
        """A queued job never runs; a running one stops at its next progress report. With
        ``purge=true`` a finished job's files and record are deleted (204; 409 while it may
        still run). A submit key cancels and purges its own jobs, an admin key any."""
        if purge:
            jobs.purge(job_id, caller.sees)
            return Response(None, status_code=204)  # type: ignore[arg-type]
        return Response(jobs.cancel(job_id, caller.sees), status_code=202)

    @route(get, urls.JOBS, "listJobs", "Jobs, newest first", 400, 503, scope=Scope.READ)
    def list_jobs(
        self,
        jobs: Jobs,
        caller: Calling,
        kind: Annotated[JobKind | None, QueryParameter()] = None,
        state_filter: Annotated[JobState | None, QueryParameter(name="state")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> JobList:
        """A submit or read key sees its own jobs, an admin key everyone's."""
        return jobs.list(kind, state_filter, limit, offset, caller.sees)
