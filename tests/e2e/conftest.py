"""End-to-end tests use the integration suite's real Redis, workers and API servers."""

from tests.integration.conftest import (  # noqa: F401  (fixtures, found by name)
    client_app,
    redis_url,
    serve,
    service_env,
    start_worker,
)
