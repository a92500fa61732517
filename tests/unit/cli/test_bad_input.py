"""Bad input: one clear line naming file, row and field, and exit status 2; never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from services.cli import main
from shared.datasets import vendored_path

GOOD = {"id": "a", "premise": "P.", "hypothesis": "H.", "distribution": [0.2, 0.3, 0.5]}


def _run(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    ("bad_row", "field", "reason"),
    [
        ({"id": "b", "distribution": [0.2, 0.3, 0.4]}, "distribution", "sum to 1"),
        ({"id": "b", "distribution": [1.2, -0.2, 0.0]}, "distribution", "non-negative"),
        ('{"id": "b", "distribution": [NaN, 0.5, 0.5]}', "distribution", "finite"),
        ({"id": "b", "distribution": [0.5, 0.5]}, "distribution", "expected 3 values"),
        ({"id": "b"}, "distribution", "missing distribution"),
        ({"id": "b", "counts": [0, 0, 0]}, "counts", "all be zero"),
        ({"id": "b", "counts": [1.5, 0, 1]}, "counts", "whole numbers"),
        ({"id": "a", "distribution": [0.2, 0.3, 0.5]}, "id", "duplicate id"),
        ('{"id": "b", "distribution": ', None, "invalid JSON"),
    ],
)
def test_bad_model_rows_name_file_row_and_field(capsys, write_jsonl, bad_row, field, reason):
    human = write_jsonl("human.jsonl", [GOOD, {**GOOD, "id": "b"}])
    model = write_jsonl("model.jsonl", [GOOD, bad_row])
    code, err = _run(capsys, ["evaluate", "--human", str(human), "--model", str(model)])
    assert code == 2
    assert len(err.splitlines()) == 1
    assert str(model) in err and "row 2" in err and reason in err
    if field:
        assert f"field '{field}'" in err


def test_missing_text_field_in_a_dataset_is_named(capsys, write_jsonl):
    bad = write_jsonl("x.jsonl", [{"comments": [], "chaos probs": [1, 0, 0], "premise": "P."}])
    code, err = _run(capsys, ["baselines", "--data", str(bad)])
    assert code == 2
    assert "row 1" in err and "field 'hypothesis'" in err and "missing" in err


def test_mismatched_ids_and_row_counts(capsys, write_jsonl):
    human = write_jsonl("h.jsonl", [GOOD, {**GOOD, "id": "b"}])
    other_ids = write_jsonl("m.jsonl", [GOOD, {**GOOD, "id": "c"}])
    code, err = _run(capsys, ["evaluate", "--human", str(human), "--model", str(other_ids)])
    assert code == 2 and "ids do not match" in err and "b" in err and "c" in err
    unnamed = write_jsonl("u.jsonl", [{"probs": [1, 0, 0]}])
    code, err = _run(capsys, ["evaluate", "--human", str(human), "--model", str(unnamed)])
    assert code == 2 and "row counts differ" in err


def test_empty_files(capsys, write_jsonl, tmp_path):
    human = write_jsonl("h.jsonl", [GOOD])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    blank = write_jsonl("blank.jsonl", ["", "  "])
    for path in (empty, blank):
        code, err = _run(capsys, ["evaluate", "--human", str(human), "--model", str(path)])
        assert code == 2 and str(path) in err and ("empty" in err or "no records" in err)


def test_binary_files_are_refused_not_crashed_on(capsys, write_jsonl, tmp_path):
    human = write_jsonl("h.jsonl", [GOOD])
    binary = tmp_path / "model.jsonl"
    binary.write_bytes(b'{"id": "a", "distribution": [1, 0, 0]}\n\xff\xfe\n')
    code, err = _run(capsys, ["evaluate", "--human", str(human), "--model", str(binary)])
    assert code == 2 and "not UTF-8" in err and str(binary) in err


def test_usage_errors_are_one_line_with_status_2(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--human", str(tmp_path / "nope.jsonl"), "--model", "x"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no such file" in err


def test_installed_console_script_exits_2_on_bad_data(write_jsonl):
    human = write_jsonl("h.jsonl", [GOOD])
    model = write_jsonl("m.jsonl", [{"id": "a", "distribution": [0.9, 0.9, 0.9]}])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "evaluate",
            "--human",
            str(human),
            "--model",
            str(model),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "field 'distribution'" in result.stderr


@pytest.mark.parametrize(
    ("header", "row", "columns"),
    [
        (
            "id,entailment,neutral,contradiction",
            "a,0.5,0.5,0.5",
            "entailment,neutral,contradiction",
        ),
        ("id,n_entailment,n_neutral,n_contradiction", "a,-1,2,3", "n_entailment,n_neutral"),
    ],
)
def test_a_csv_error_names_the_files_columns(capsys, tmp_path, header, row, columns):
    path = tmp_path / "model.csv"
    path.write_text(f"{header}\n{row}\n")
    argv = ["evaluate", "--human", str(vendored_path("explained")), "--model", str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{path}, row 2, field '{columns}" in err
    assert "'probs'" not in err and "'counts'" not in err
