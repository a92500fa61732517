"""The datasets shipped in ``datasets/`` and where they are."""

from __future__ import annotations

from pathlib import Path

from shared.errors import DataError

#: the checkout's ``datasets/``; Settings.datasets_dir (MJD_DATASETS_DIR) may name another
DEFAULT_DATASETS_DIR = Path(__file__).resolve().parents[2] / "datasets"

#: The authors' LLM explanation sets for the explained items, by file name without extension
#: (``datasets/model_explanations/README.md`` says what each part means).
MODEL_EXPLANATION_SETS = tuple(
    f"{model}-{setting}-{selection}"
    for model in ("gpt4o", "llama3", "mixtral")
    for setting in ("label-free", "mnli-label-guided", "varierr-label-guided")
    for selection in ("first", "longest")
)

#: Datasets shipped in ``datasets/`` (see datasets/README.md for provenance and licences).
VENDORED = {
    "explained": "chaosnli_mnli_explained.jsonl",
    "dev": "chaosnli_mnli_dev.jsonl",
    "varierr": "varierr.jsonl",
    **{name: f"model_explanations/{name}.jsonl" for name in MODEL_EXPLANATION_SETS},
}


def vendored_path(name: str, datasets_dir: Path = DEFAULT_DATASETS_DIR) -> Path:
    """The file of vendored dataset ``name`` in ``datasets_dir``."""
    try:
        return datasets_dir / VENDORED[name]
    except KeyError:
        raise DataError(
            f"unknown dataset {name!r}; vendored datasets: {', '.join(VENDORED)}", field="dataset"
        ) from None
