"""Bounds on the numbers a user sets (a request, a CLI flag, a stored job spec).

Each spec checks its own fields with :func:`check_range` when it is built, so the API
refuses an out-of-range value (422 naming the field) before anything is queued, and no value
can make a worker allocate without limit or fail inside a library.
"""

from __future__ import annotations

from shared.errors import DataError

#: the largest seed any spec takes: NumPy's legacy generators and many tools stop at 2**32 - 1
MAX_SEED = 2**32 - 1


def check_range(value: float, low: float, high: float, field: str) -> None:
    """Raise a DataError naming ``field`` unless ``low <= value <= high`` (NaN is outside)."""
    if not low <= value <= high:
        raise DataError(f"must be between {low} and {high}, got {value!r}", field=field)


def check_seed(value: int, field: str = "seed") -> None:
    check_range(value, 0, MAX_SEED, field)
