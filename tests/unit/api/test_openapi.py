"""The OpenAPI document as a client generator reads it: valid, every route named and
summarised, every error documented as problem details, bodies typed (enums, binary upload,
artifact media types, Location on 201/202). The generated client itself runs in tests/e2e."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from services.api.app import create_app
from shared.platform.queue import MemoryQueue


@pytest.fixture(scope="module")
def document() -> dict:
    return create_app(queue=MemoryQueue()).openapi_schema.to_schema()


def _operations(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_the_document_is_valid_openapi(document):
    validate(document)


def test_every_route_has_an_explicit_id_a_summary_and_a_tag(document):
    ids = []
    for name, operation in _operations(document):
        assert operation.get("summary") and operation.get("tags"), name
        assert operation["operationId"][0].islower() and "{" not in operation["operationId"], name
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids)) >= 20


def test_errors_are_problem_details_and_successes_are_typed(document):
    for name, operation in _operations(document):
        for status, response in operation["responses"].items():
            content = response.get("content") or {}
            if (
                status.startswith(("4", "5"))
                and name not in ("GET /readyz",)
                and "ready" not in name
            ):
                # OIP's clients read errors only as exactly application/json
                media = "application/json" if " /v2" in name else "application/problem+json"
                schema = content[media]["schema"]
                assert schema == {"$ref": "#/components/schemas/ProblemDetails"}, (name, status)
            elif (
                status.startswith("2") and "application/json" in content and "artifacts" not in name
            ):
                schema = content["application/json"]["schema"]
                assert "$ref" in schema, (name, status, schema)
            if status in ("201", "202"):
                assert "Location" in response["headers"], name


def test_choices_are_enums_and_the_upload_is_a_binary_file(document):
    schemas = document["components"]["schemas"]
    assert schemas["JobState"]["enum"] == ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]
    assert {"mjd", "metrics", "training", "explanation"} == set(schemas["JobKind"]["enum"])
    aggregation = schemas["RunIn"]["properties"]["aggregation"]
    assert set(aggregation["enum"]) == {"softmax", "normalize"}
    letters = schemas["RunIn"]["properties"]["letters"]
    assert (set(letters["enum"]), letters["default"]) == ({"bare", "both"}, "bare")
    assert schemas["RunIn"]["properties"]["temperature"]["default"] == 20.0
    assert set(schemas["TrainIn"]["properties"]["early_stopping"]["enum"]) == {"dcorr", "kl"}
    upload = document["paths"]["/v1/datasets/upload"]["post"]["requestBody"]["content"]
    form = upload["multipart/form-data"]["schema"]
    file_schema = schemas[form["$ref"].rsplit("/", 1)[1]]["properties"]["file"]
    assert any(s.get("format") == "binary" for s in file_schema["oneOf"]), file_schema
    artifact = document["paths"]["/v1/jobs/{job_id}/artifacts/{name}"]["get"]
    assert set(artifact["responses"]["200"]["content"]) == {
        "application/json",
        "application/x-ndjson",
        "image/png",
    }
