"""LLM backends behind one small interface (:class:`services.generator.engine.Backend`)."""

from __future__ import annotations

from typing import Any

from shared.errors import DataError

BACKENDS = ("transformers", "openai")


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
