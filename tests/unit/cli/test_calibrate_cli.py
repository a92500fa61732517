"""`mjd calibrate`: ``--format table`` prints the JSON's numbers, and the fit says when its
temperature ends at the search bound."""

from __future__ import annotations

import json

import numpy as np
import pytest

from services.cli import main
from shared.datasets import write_distributions_jsonl
from tests.unit.cli.mjd_files import write_mjd


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


def test_calibration_at_its_temperature_bound_says_so(capsys, tmp_path):
    """Logits that say nothing about uniform human labels: the best temperature is infinite,
    the fit stops at T = 100, and calibrate says so in both formats."""
    rng = np.random.default_rng(3)
    ids = [f"i{n}" for n in range(40)]
    mjd = write_mjd(tmp_path / "mjd.jsonl", ids, [rng.normal(0, 3, (1, 6, 3)) for _ in ids])
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
    mjd = write_mjd(tmp_path / "mjd.jsonl", ids, logits)
    argv = ["calibrate", "--mjd", str(mjd), "--human", str(tmp_path / "human.jsonl")]
    assert main([*argv, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []
