"""Domain errors are raised by the domain and mapped to HTTP once (services.api.problems'
ANSWERS; OIP's routes from the same table with a bad value as 400): the domain layer knows no
status code, no problem details and nothing of Litestar."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from services.api import problems
from services.api.controllers.oip_v2 import OIP_ANSWERS
from services.predictor import ClientGone, NoModel, NotServed, Overdue, QueueFull
from shared import errors
from shared.errors import Conflict, DataError, NotFound, TooLarge, Unavailable, Unsupported
from shared.platform.queue import QueueUnavailable
from shared.platform.registry import UnknownVersion

DOMAIN = Path(problems.__file__).parent / "domain"


def test_the_domain_layer_raises_no_http_errors_and_imports_no_litestar_exceptions():
    """Before: 70 ``problem(status, ...)`` calls in services/api/domain picked statuses."""
    found = []
    for path in sorted(DOMAIN.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in (
                "problem",
                "data_error",
                "oip_problem",
            ):
                found.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and (
                node.module in ("services.api.problems", "litestar.exceptions")
                or (node.module or "").startswith("litestar.plugins.problem_details")
            ):
                found.append(f"{path.name}:{node.lineno} imports {node.module}")
    assert found == []


@pytest.mark.parametrize(
    ("error", "status", "field"),
    [
        (DataError("bad", field="k"), 422, "k"),
        (NotFound("gone", field="job_id"), 404, "job_id"),
        (UnknownVersion("v9"), 404, "version"),
        (Conflict("busy", field="job_id"), 409, "job_id"),
        (TooLarge("big", field="instances"), 413, "instances"),
        (Unsupported("no", field="content-type"), 415, "content-type"),
        (Unavailable("down"), 503, None),
        (QueueUnavailable("the job queue is unavailable"), 503, None),
        (errors.Failed("broke", field="version"), 500, "version"),
        (errors.MjdError("plain"), 400, None),
        (QueueFull(), 429, None),
        (NoModel("no model"), 503, "model"),
        (Overdue("late"), 503, None),
        (ClientGone(), 503, None),
        (NotServed("not served"), 409, "model"),
    ],
)
def test_every_domain_error_has_one_status_and_its_field(error, status, field):
    answer = problems.domain_problem(error)
    assert (answer.status_code, answer.extra["field"]) == (status, field)
    assert answer.detail


def test_oip_answers_a_bad_value_as_400_and_the_rest_as_rest_does():
    assert problems.domain_problem(DataError("bad"), OIP_ANSWERS).status_code == 400
    assert problems.domain_problem(NotFound("gone"), OIP_ANSWERS).status_code == 404
    assert problems.domain_problem(TooLarge("big"), OIP_ANSWERS).status_code == 413
    assert problems.domain_problem(QueueFull(), OIP_ANSWERS).headers == {"Retry-After": "1"}


def test_a_located_error_keeps_its_class_row_and_message():
    moved = NotFound("no dataset 'x'", row=3, field="dataset_id").located("human.")
    assert type(moved) is NotFound and moved.row == 3 and moved.message == "no dataset 'x'"
    assert moved.field == "human.dataset_id"
    assert str(moved) == "row 3, field 'human.dataset_id': no dataset 'x'"
    assert DataError("bad").located("run.").field == "run"


def test_a_row_reaches_the_problem_body():
    answer = problems.domain_problem(DataError("bad label", row=4, field="label"))
    assert answer.extra == {"field": "label", "row": 4}
