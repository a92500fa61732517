"""LLM backends behind one small interface (:class:`services.generator.engine.Backend`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.endpoints import OpenAIEndpoint
from shared.errors import DataError
from shared.method.runs import LLMChoice

BACKENDS = ("transformers", "openai")
#: a run's LLM backend (as requests name it) -> the backend that runs it
LLM_BACKENDS: dict[str, str] = {"local": "transformers", "openai": "openai"}


def backend_arguments(
    choice: LLMChoice, endpoints: Mapping[str, OpenAIEndpoint]
) -> tuple[str, str | None, dict[str, Any]]:
    """:func:`create_backend`'s name, model and options for a run's LLM choice (checked
    against this worker's endpoints; an endpoint name becomes its URL and options)."""
    name = choice.check(endpoints)
    if name is None:
        return LLM_BACKENDS[choice.backend], None, {}
    return LLM_BACKENDS[choice.backend], choice.model, endpoints[name].backend_options(name)


def create_backend(name: str, model: str | None = None, **options: Any) -> Any:
    """Build a backend by name; options go to its constructor."""
    if name == "transformers":
        from services.generator.backends.local import TransformersBackend

        return TransformersBackend(model, **options)
    if name == "openai":
        from services.generator.backends.remote import OpenAIBackend

        return OpenAIBackend(model, **options)
    raise DataError(
        f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}", field="backend"
    )
