"""The student bootstrap's record: one at a time, resumed across restarts."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from shared.platform.db.models import BootstrapRow
from shared.platform.db.repository import Repository


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """A student bootstrap as the store records it (its jobs say how far it got)."""

    number: int
    created: float
    items: int
    dataset_id: str | None
    mjd_job_id: str | None
    training_job_id: str | None


class BootstrapRepository(Repository):
    def claim_bootstrap(self, items: int) -> Bootstrap | None:
        """Record a new bootstrap, numbered after the latest; None when another starter
        recorded that number first (it bootstraps, this one does not)."""
        with self.session() as session:
            latest = session.scalar(select(func.max(BootstrapRow.number)))
        row = BootstrapRow(number=(latest or 0) + 1, created=time.time(), items=items)
        try:
            with self._tx() as session:
                session.add(row)
        except IntegrityError:
            return None
        return _bootstrap(row)

    def note_bootstrap(self, number: int, column: str, value: str) -> bool:
        """Note a bootstrap's dataset, MJD job or training job, unless one is noted already
        (then False: another request got there first)."""
        field = {
            "dataset_id": BootstrapRow.dataset_id,
            "mjd_job_id": BootstrapRow.mjd_job_id,
            "training_job_id": BootstrapRow.training_job_id,
        }[column]
        with self._tx() as session:
            result = session.execute(
                update(BootstrapRow)
                .where(BootstrapRow.number == number, field.is_(None))
                .values({field: value})
            )
            return bool(result.rowcount)

    def latest_bootstrap(self) -> Bootstrap | None:
        with self.session() as session:
            row = session.scalars(
                select(BootstrapRow).order_by(BootstrapRow.number.desc()).limit(1)
            ).first()
            return _bootstrap(row) if row is not None else None


def _bootstrap(row: BootstrapRow) -> Bootstrap:
    return Bootstrap(**{name: getattr(row, name) for name in Bootstrap.__slots__})
