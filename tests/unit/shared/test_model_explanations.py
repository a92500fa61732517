"""The 18 vendored LLM explanation sets (Chen et al., ACL Findings 2025): checksums, the
counts their README documents, alignment with the explained items, and clear refusals."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from shared.contracts.specs import DataRef
from shared.datasets import (
    DEFAULT_DATASETS_DIR as DATASETS,
)
from shared.datasets import (
    MODEL_EXPLANATION_SETS,
    VENDORED,
    read_distributions,
    read_instances,
    vendored_path,
)
from shared.errors import DataError
from shared.labels import LABELS, Label
from shared.platform.artifacts import ArtifactStore
from shared.platform.targets import resolve

SETTINGS = ("label-free", "mnli-label-guided", "varierr-label-guided")


def _manifest() -> dict[str, str]:
    """datasets/SHA256SUMS as {relative path: digest} (``sha256sum`` output)."""
    lines = (DATASETS / "SHA256SUMS").read_text().splitlines()
    return {path: digest for digest, path in (line.split("  ", 1) for line in lines)}


def _documented_counts() -> dict[str, int]:
    """Explanations per item of each setting, as the sets' README states them."""
    readme = (DATASETS / "model_explanations" / "README.md").read_text()
    found = re.findall(r"- `([a-z-]+)`:[^(]*\((\d+) per\s+item", readme)
    return {setting: int(count) for setting, count in found}


def _raw_lines(name: str) -> list[dict]:
    return [json.loads(line) for line in vendored_path(name).read_text().splitlines()]


def test_every_vendored_file_matches_the_checksum_manifest():
    manifest = _manifest()
    assert set(VENDORED.values()) <= set(manifest)
    assert "model_explanations/LICENSE-MJD-Estimator.txt" in manifest
    for path, digest in manifest.items():
        assert hashlib.sha256((DATASETS / path).read_bytes()).hexdigest() == digest, path


def test_the_18_files_are_vendored_under_their_names():
    files = {p.stem for p in (DATASETS / "model_explanations").glob("*.jsonl")}
    assert len(files) == 18 and set(MODEL_EXPLANATION_SETS) == files
    assert {n for n in VENDORED if vendored_path(n).parent.name == "model_explanations"} == files


@pytest.mark.parametrize("name", MODEL_EXPLANATION_SETS)
def test_set_loads_aligned_with_the_explained_items_and_documented_counts(name, explained):
    documented = _documented_counts()
    assert set(documented) == set(SETTINGS)
    setting = next(s for s in SETTINGS if f"-{s}-" in name)
    raw = _raw_lines(name)
    instances = read_instances(vendored_path(name))
    assert len(instances) == len(raw) == len(explained) == 341
    for line, item, source in zip(raw, instances, explained, strict=True):
        assert (line["premise"], line["hypothesis"]) == (source.premise, source.hypothesis)
        assert (item.id, item.premise, item.hypothesis) == (
            source.id,
            source.premise,
            source.hypothesis,
        )
        assert item.human == source.human and item.references == source.references
        assert len(item.explanations) == documented[setting]
        pairs = next(v for k, v in line.items() if k.startswith("machine_"))
        assert [(e.text, e.label) for e in item.explanations] == [
            (text, Label.parse(letter)) for text, letter in pairs
        ]
        counts = tuple(sum(e.label == label for e in item.explanations) for label in LABELS)
        if setting == "label-free":  # one explanation under each label
            assert counts == (1, 1, 1)
        else:  # the given labels: the 5 MNLI annotators' or the 4 VariErr experts'
            assert counts == source.references[setting.split("-")[0]].counts
    assert read_distributions(vendored_path(name)).ids == [i.id for i in explained]


def test_a_training_request_can_name_a_set(tmp_path, explained):
    source = resolve(ArtifactStore(tmp_path), DataRef(vendored="llama3-label-free-longest"))
    assert [i.human for i in source.instances] == [i.human for i in explained]
    assert source.provenance == {"vendored": "llama3-label-free-longest"}


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(DataError) as caught:
        vendored_path("gpt4o-varierr-label-guided")
    assert caught.value.field == "dataset"
    assert all(name in caught.value.message for name in ("explained", *MODEL_EXPLANATION_SETS))


def _copy(write_jsonl, name: str, edit) -> Path:
    """A copy of vendored set ``name`` with ``edit`` applied to its parsed lines."""
    lines = _raw_lines(name)
    edit(lines)
    return write_jsonl("set.jsonl", lines)


@pytest.mark.parametrize(
    ("edit", "row", "field", "says"),
    [
        (lambda ls: ls.insert(0, ls.pop(1)), 1, "premise", "explained item 1"),
        (lambda ls: ls[6].update(hypothesis="Something else."), 7, "hypothesis", "item 7"),
        (lambda ls: ls[2].pop("machine_replaced_comments"), 3, "machine_comments", "exactly one"),
        (lambda ls: ls[2].update(machine_comments=[]), 3, "machine_comments", "exactly one"),
        (lambda ls: ls[4]["machine_replaced_comments"][1].__setitem__(1, "x"), 5,
         "machine_replaced_comments[1]", "unknown label"),
        (lambda ls: ls[4]["machine_replaced_comments"][0].__setitem__(0, " "), 5,
         "machine_replaced_comments[0]", "empty"),
        (lambda ls: ls.append(ls[0]), 342, None, "more rows than the 341"),
    ],
)  # fmt: skip
def test_a_misaligned_or_broken_file_is_refused_naming_row_and_field(
    write_jsonl, edit, row, field, says
):
    path = _copy(write_jsonl, "gpt4o-varierr-label-guided-first", edit)
    with pytest.raises(DataError) as caught:
        read_instances(path)
    assert (caught.value.row, caught.value.field) == (row, field)
    assert says in caught.value.message and caught.value.source == str(path)


def test_a_truncated_file_is_refused_and_one_without_hypotheses_aligns_on_premises(write_jsonl):
    path = _copy(write_jsonl, "mixtral-mnli-label-guided-first", lambda ls: ls.pop())
    with pytest.raises(DataError, match=r"340 rows; .* one per explained item \(341\)"):
        read_instances(path)

    def drop_hypotheses(lines: list[dict]) -> None:
        for line in lines:
            del line["hypothesis"]

    path = _copy(write_jsonl, "mixtral-mnli-label-guided-first", drop_hypotheses)
    assert [i.explanations for i in read_instances(path)] == [
        i.explanations for i in read_instances(vendored_path("mixtral-mnli-label-guided-first"))
    ]
