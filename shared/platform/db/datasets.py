"""Stored datasets: what each holds and whose it is (its instances stay in the artifact
store)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete

from shared.platform.db.models import DatasetRow
from shared.platform.db.repository import Repository


@dataclass(frozen=True, slots=True)
class Dataset:
    id: str
    name: str | None
    instances: int
    with_human: int
    with_explanations: int
    created: float
    #: ``name@version`` of the task its items are of
    task: str = "nli@1"


class DatasetRepository(Repository):
    def add_dataset(self, dataset: Dataset, owner: str | None = None) -> None:
        values = {f: getattr(dataset, f) for f in Dataset.__slots__}
        with self._tx() as session:
            session.add(DatasetRow(**values, owner=owner))

    def delete_dataset(self, dataset_id: str) -> bool:
        with self._tx() as session:
            result = session.execute(delete(DatasetRow).where(DatasetRow.id == dataset_id))
            return bool(result.rowcount)

    def datasets_before(self, when: float, limit: int = 1000) -> list[str]:
        """Ids of datasets made before ``when`` (for retention), oldest first."""
        return self._oldest_ids(DatasetRow.created, when, limit)

    def get_dataset(self, dataset_id: str, owner: str | None = None) -> Dataset | None:
        """The dataset; None when it does not exist or, given ``owner``, is not theirs."""
        with self.session() as session:
            row = session.get(DatasetRow, dataset_id)
            if row is None or (owner is not None and row.owner != owner):
                return None
            return Dataset(**{f: getattr(row, f) for f in Dataset.__slots__})
