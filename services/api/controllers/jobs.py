"""Jobs of every kind: MJD generation is submitted here; state, results, artifacts, cancel
and the listing serve all kinds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import File

from services.api import urls
from services.api.controllers import LOCATION, located
from services.api.domain.jobs import JobService
from services.api.domain.submissions import Submissions
from services.api.problems import responses
from services.api.schemas import JobList, JobResult, JobView, MjdJobIn
from shared.layout import ARTIFACT_MEDIA_TYPES
from shared.queue import JobKind, JobState


@dataclass
class ArtifactOperation(Operation):
    """The artifact download, documented in every media type a job's files can have."""

    def __post_init__(self) -> None:
        binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        if self.responses and "200" in self.responses:
            ok = self.responses["200"]
            ok.content = {
                media: OpenAPIMediaType(schema=binary) for media in ARTIFACT_MEDIA_TYPES.values()
            }  # type: ignore[union-attr]


def accepted(view: JobView) -> Response[JobView]:
    return located(view, view.links.self_, 202)


class JobController(Controller):
    tags = ("jobs",)

    @post(
        urls.MJD_JOBS,
        status_code=202,
        sync_to_thread=True,
        operation_id="createMjdJob",
        summary="Queue MJD generation for a stored dataset or inline instances",
        responses=responses(400, 404, 413, 422, 503),
        response_headers=LOCATION,
    )
    def create_mjd_job(
        self, data: JSONBody[MjdJobIn], submissions: NamedDependency[Submissions]
    ) -> Response[JobView]:
        return accepted(submissions.mjd(data))

    @get(
        urls.route(urls.JOB),
        sync_to_thread=True,
        operation_id="getJob",
        summary="A job's state, progress and summary",
        responses=responses(400, 404, 503),
    )
    def get_job(self, job_id: FromPath[str], jobs: NamedDependency[JobService]) -> JobView:
        return jobs.view(job_id)

    @get(
        urls.route(urls.JOB_RESULT),
        sync_to_thread=True,
        operation_id="getJobResult",
        summary="A finished job's result: MJD records, a metric report or the trained model",
        responses=responses(400, 404, 409, 503),
    )
    def get_result(self, job_id: FromPath[str], jobs: NamedDependency[JobService]) -> JobResult:
        return jobs.result(job_id)

    @get(
        urls.route(urls.JOB_ARTIFACT),
        sync_to_thread=True,
        operation_id="getJobArtifact",
        summary="Download a file a finished job lists in its summary",
        responses=responses(400, 404),
        operation_class=ArtifactOperation,
    )
    def get_artifact(
        self, job_id: FromPath[str], name: FromPath[str], jobs: NamedDependency[JobService]
    ) -> File:
        path, media_type = jobs.artifact(job_id, name)
        return File(path, media_type=media_type)

    @delete(
        urls.route(urls.JOB),
        status_code=202,
        sync_to_thread=True,
        operation_id="cancelJob",
        summary="Cancel a job: a queued one never runs, a running one stops at its next step",
        responses=responses(400, 404, 503),
    )
    def cancel(self, job_id: FromPath[str], jobs: NamedDependency[JobService]) -> JobView:
        return jobs.cancel(job_id)

    @get(
        urls.JOBS,
        sync_to_thread=True,
        operation_id="listJobs",
        summary="Jobs, newest first",
        responses=responses(400, 503),
    )
    def list_jobs(
        self,
        jobs: NamedDependency[JobService],
        kind: Annotated[JobKind | None, QueryParameter()] = None,
        state_filter: Annotated[JobState | None, QueryParameter(name="state")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> JobList:
        return jobs.list(kind, state_filter, limit, offset)
