"""`mjd evaluate --subset`: scoring the ids a model file shares with the human file (and
calibrate saying the same about a subset)."""

from __future__ import annotations

import json

import numpy as np

from services.cli import main
from shared.metrics import evaluate


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
