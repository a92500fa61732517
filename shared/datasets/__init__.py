"""Readers and writers for label-distribution data of any task, one module per format behind the
reader registry (:mod:`shared.datasets.registry`). Readers validate every row and raise
:class:`DataError` naming the file, row and field; no row is ever dropped silently.

The names below are the package's public interface.
"""

from shared.datasets.align import align, id_mismatch
from shared.datasets.detect import detect_format
from shared.datasets.generic import instance_from_record
from shared.datasets.lewidi import soft_label_probs
from shared.datasets.model_explanations import MACHINE_COMMENT_KEYS
from shared.datasets.readers import (
    Dataset,
    DistributionSet,
    read_dataset,
    read_distributions,
    read_instances,
    read_row_field,
)
from shared.datasets.records import located, utf8_text
from shared.datasets.registry import FORMATS, READERS, Reader, reader_for
from shared.datasets.vendored import (
    DEFAULT_DATASETS_DIR,
    MODEL_EXPLANATION_SETS,
    VENDORED,
    vendored_path,
)
from shared.datasets.writers import (
    write_distributions_csv,
    write_distributions_jsonl,
    write_instances_jsonl,
    write_jsonl,
)

__all__ = [
    "DEFAULT_DATASETS_DIR",
    "FORMATS",
    "MACHINE_COMMENT_KEYS",
    "MODEL_EXPLANATION_SETS",
    "READERS",
    "VENDORED",
    "Dataset",
    "DistributionSet",
    "Reader",
    "align",
    "detect_format",
    "id_mismatch",
    "instance_from_record",
    "located",
    "read_dataset",
    "read_distributions",
    "read_instances",
    "read_row_field",
    "reader_for",
    "soft_label_probs",
    "utf8_text",
    "vendored_path",
    "write_distributions_csv",
    "write_distributions_jsonl",
    "write_instances_jsonl",
    "write_jsonl",
]
