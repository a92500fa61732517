"""Issue 13, a new user's first hour with the CLI: ``calibrate --format table``, ``evaluate
--subset`` (and calibrate saying the same about a subset), ``predict`` naming where it looked
for a model version, ``| head`` without a traceback, CSV errors naming the file's columns, and
calibration saying when its temperature ends at the search bound."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from services.cli import EXIT_BROKEN_PIPE, main
from shared.datasets import vendored_path, write_distributions_jsonl
from shared.metrics import evaluate

ROOT = Path(__file__).resolve().parents[3]


def _write_mjd(path: Path, ids: list[str], logits: list[np.ndarray]) -> Path:
    """Records as ``mjd generate`` writes them (label logits [orders][option orders][3])."""
    from shared.method.aggregation import softmax_aggregate

    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": i,
                    "distribution": softmax_aggregate(x, 1.0).tolist(),
                    "label_logits": x.tolist(),
                    "letter_mass": [[1.0] * x.shape[1]],
                    "explanation_orders": [[]],
                    "missing_mass": None,
                    "spec": {"k": 0},
                }
            )
            + "\n"
            for i, x in zip(ids, logits, strict=True)
        )
    )
    return path


@pytest.fixture
def five_mjds(tmp_path, explained) -> Path:
    """``mjd generate --limit 5`` output: MJDs for the first 5 of the 341 explained items."""
    rng = np.random.default_rng(2)
    ids = [i.id for i in explained[:5]]
    return _write_mjd(tmp_path / "gen5.jsonl", ids, [rng.normal(0, 2, (1, 6, 3)) for _ in ids])


def test_calibrate_format_table_prints_a_table_with_the_json_numbers(capsys, five_mjds):
    argv = ["calibrate", "--mjd", str(five_mjds), "--human", "explained"]
    assert main([*argv, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert main([*argv, "--format", "table"]) == 0
    table = capsys.readouterr().out
    with pytest.raises(json.JSONDecodeError):
        json.loads(table)
    assert f"T = {summary['fit']['temperature']:.4g}" in table
    rows = {line.split()[0]: line.split()[-4:] for line in table.splitlines() if line}
    assert rows["before"] == [f"{summary['before'][m]:.4f}" for m in ("kl", "jsd", "tvd", "dcorr")]


def test_evaluate_subset_scores_the_shared_ids_and_calibrate_says_the_same(
    capsys, five_mjds, explained
):
    """`evaluate` refused the 5-item file (`336 id(s) missing`) while `calibrate` took it
    silently: evaluate now offers --subset, and both name the 336 ids left out."""
    from shared.datasets import read_distributions

    argv = ["evaluate", "--human", "explained", "--model", str(five_mjds), "--bootstrap", "0"]
    assert main(argv) == 2
    refused = capsys.readouterr().err
    assert "336 id(s) missing" in refused and "--subset" in refused
    assert len(refused.strip().splitlines()) == 1

    assert main([*argv, "--subset", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "warning: evaluating the 5 shared id(s); 336 id(s) missing" in captured.err
    report = json.loads(captured.out)
    human = np.array([i.human.probs for i in explained[:5]])
    model = read_distributions(five_mjds).probs
    assert report["n"] == 5
    assert report["kl"]["mean"] == evaluate(human, model, resamples=0).to_json()["kl"]["mean"]

    assert main(["calibrate", "--mjd", str(five_mjds), "--human", "explained",
                 "--format", "json"]) == 0  # fmt: skip
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert any("fitted on the 5 shared id(s); 336 id(s) missing" in w for w in warnings)


def test_evaluate_subset_with_no_shared_id_is_refused(capsys, write_jsonl):
    human = write_jsonl("h.jsonl", [{"id": "a", "distribution": [1, 0, 0]}])
    model = write_jsonl("m.jsonl", [{"id": "b", "distribution": [1, 0, 0]}])
    argv = ["evaluate", "--human", str(human), "--model", str(model), "--subset"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "field 'id'" in err and len(err.strip().splitlines()) == 1


def test_calibration_at_its_temperature_bound_says_so(capsys, tmp_path):
    """Logits that say nothing about uniform human labels: the best temperature is infinite,
    the fit stops at T = 100, and calibrate says so in both formats."""
    rng = np.random.default_rng(3)
    ids = [f"i{n}" for n in range(40)]
    mjd = _write_mjd(tmp_path / "mjd.jsonl", ids, [rng.normal(0, 3, (1, 6, 3)) for _ in ids])
    write_distributions_jsonl(tmp_path / "human.jsonl", ids, np.full((40, 3), 1 / 3))
    argv = ["calibrate", "--mjd", str(mjd), "--human", str(tmp_path / "human.jsonl")]
    assert main([*argv, "--format", "json", "--folds", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["fit"]["temperature"] == pytest.approx(100, rel=1e-3)
    bound = [w for w in summary["warnings"] if "upper bound (T = 100)" in w]
    assert [w.split(":")[0] for w in bound] == ["calibration", "fold 0", "fold 1"]
    assert main(argv) == 0
    assert "warning: calibration: the temperature hit its upper bound" in capsys.readouterr().out


def test_calibration_inside_its_bounds_has_no_warning(capsys, tmp_path):
    from shared.method.aggregation import softmax_aggregate

    rng = np.random.default_rng(4)
    ids = [f"i{n}" for n in range(40)]
    logits = [rng.normal(0, 2, (1, 6, 3)) for _ in ids]
    human = np.array([softmax_aggregate(x, temperature=2.0) for x in logits])
    write_distributions_jsonl(tmp_path / "human.jsonl", ids, human)
    mjd = _write_mjd(tmp_path / "mjd.jsonl", ids, logits)
    argv = ["calibrate", "--mjd", str(mjd), "--human", str(tmp_path / "human.jsonl")]
    assert main([*argv, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []


def test_predict_of_an_unknown_version_names_the_models_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "elsewhere"))
    from shared import jobs

    jobs.settings.cache_clear()
    jobs.store.cache_clear()
    try:
        argv = ["predict", "--model", "v1", "--input", "dev", "--out", str(tmp_path / "p.jsonl")]
        assert main(argv) == 2
    finally:
        jobs.settings.cache_clear()
        jobs.store.cache_clear()
    err = capsys.readouterr().err
    assert f"no model version 'v1' in {tmp_path / 'elsewhere' / 'models'}" in err
    assert "ARTIFACTS_DIR" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "elsewhere").exists()  # a read-only command creates no job store


def test_a_reader_that_left_ends_the_command_quietly():
    """`mjd evaluate … | head` ended in a BrokenPipeError traceback. The pipe's read end is
    closed before the command starts, so its first write finds no reader."""
    read, write = os.pipe()
    os.close(read)
    try:
        command = ["evaluate", "--human", "explained", "--model", "explained", "--bootstrap", "0"]
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", *command],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            check=False,
        )
    finally:
        os.close(write)
    assert result.returncode == EXIT_BROKEN_PIPE
    assert result.stderr == ""


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
