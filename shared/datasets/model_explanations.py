"""``model_explanations``: LLM explanations for the explained items (Chen et al., ACL
Findings 2025), line i for explained item i; joined to that item's human distributions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from shared.datasets.records import RowParser, VendoredReader, comment_pairs, text
from shared.errors import DataError
from shared.schemas import Instance

#: The key of the [explanation, label letter] pairs in a model explanation file: label-free
#: files use the first, label-guided ones either of the others.
MACHINE_COMMENT_KEYS = (
    "machine_comments",
    "machine_replaced_comments",
    "machine_generated_comments",
)


class ModelExplanationParser(RowParser):
    """Joins row i to item i of the vendored explained file."""

    def __init__(self, read_vendored: VendoredReader) -> None:
        self.explained = read_vendored("explained", "explained")

    def parse(self, record: Any, index: int) -> Instance:
        """Item ``index`` of the explained file with this row's explanations in place of the
        experts'; the row's premise (and hypothesis, where it has one) must be that item's."""
        explained = self.explained
        if index >= len(explained):
            raise DataError(f"more rows than the {len(explained)} explained items")
        item = explained[index]
        texts = (
            ("premise", "hypothesis")
            if isinstance(record, Mapping) and "hypothesis" in record
            else ("premise",)
        )
        for name in texts:
            if text(record, name) != getattr(item, name):
                raise DataError(
                    f"not the {name} of explained item {index + 1}: line i of a model "
                    "explanation file must be item i of the explained file",
                    field=name,
                )
        keys = [key for key in MACHINE_COMMENT_KEYS if key in record]
        if len(keys) != 1:
            raise DataError(
                f"expected exactly one of {', '.join(MACHINE_COMMENT_KEYS)}",
                field="machine_comments",
            )
        return dataclasses.replace(item, explanations=comment_pairs(record, keys[0]))

    def finish(self, rows: int, source: str) -> None:
        if rows != len(self.explained):
            raise DataError(
                f"{rows} rows; a model explanation file has one per explained item "
                f"({len(self.explained)})",
                source=source,
            )
