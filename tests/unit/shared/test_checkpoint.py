"""An MJD job's checkpoint, read back through the one JSON lines reader."""

from __future__ import annotations

from pathlib import Path

from shared.platform.artifacts import ArtifactStore
from shared.platform.layout import append_checkpoint, checkpoint_records, checkpointed_records


def test_a_line_cut_short_and_what_follows_are_dropped(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    checkpoint_records(store, "j1", [{"id": "a"}, {"id": "b"}])
    with store.path("jobs", "j1", "checkpoint.jsonl").open("ab") as handle:
        handle.write('{"id": "c", "text": "caf\u00e9'.encode()[:-1])  # cut inside é
    assert checkpointed_records(store, "j1", ["a", "b", "c"]) == [{"id": "a"}, {"id": "b"}]


def test_records_stop_at_the_first_id_out_of_order(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    checkpoint_records(store, "j2", [{"id": "a"}])
    append_checkpoint(store, "j2", {"id": "x"})
    assert checkpointed_records(store, "j2", ["a", "b"]) == [{"id": "a"}]
