"""Small-data guardrails (issue 13): a 12-item bootstrap printed `dev D.Corr 1.000` from 2 dev
items, and early stopping kept epoch 1 because 1.0 > 0.9999999999999998 although dev KL fell
from 0.100 to 0.063. A tiny dev set is now named in a warning, and ties go to the lower KL."""

from __future__ import annotations

import json

import pytest

from services.cli import main
from shared.training import MIN_DEV_ITEMS, SCORE_TOLERANCE, dev_set_warnings, is_better_epoch


def test_the_bootstraps_tie_goes_to_the_lower_dev_kl():
    assert is_better_epoch(0.9999999999999998, 0.063, best_score=1.0, best_kl=0.100)
    assert not is_better_epoch(1.0, 0.100, best_score=0.9999999999999998, best_kl=0.063)
    # a real score difference still wins whatever the KL says
    assert is_better_epoch(0.9, 0.5, best_score=0.9 - 10 * SCORE_TOLERANCE, best_kl=0.1)
    assert not is_better_epoch(0.9, 0.01, best_score=0.9 + 10 * SCORE_TOLERANCE, best_kl=0.1)


def test_dev_sets_under_the_minimum_are_named_in_a_warning():
    (warning,) = dev_set_warnings(2)
    assert "only 2 items" in warning and str(MIN_DEV_ITEMS) in warning
    assert dev_set_warnings(MIN_DEV_ITEMS) == []


def test_training_on_two_dev_items_warns_and_keeps_the_lowest_kl_epoch(tmp_path, explained, capsys):
    """Through ``mjd train``, as the 12-item bootstrap: 2 items held out, so every epoch's
    D.Corr is 1 up to rounding; the epoch kept is the one with the lowest dev KL, and the
    warning is on stderr and in the recorded training info."""
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(i.to_json()) + "\n" for i in explained[:12]))
    argv = ["train", "--data", str(data), "--epochs", "3", "--patience", "3", "--seed", "1",
            "--out", str(tmp_path / "checkpoint"), "--format", "json"]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    info = json.loads(captured.out)
    assert info["training_data"]["dev_items"] == 2
    assert "mjd: warning: the dev set has only 2 items" in captured.err
    assert any("only 2 items" in w for w in info["training"]["warnings"])
    history = info["training"]["history"]
    scores = [epoch["dev_dcorr_score"] for epoch in history]
    assert len(history) == 3 and max(scores) - min(scores) <= SCORE_TOLERANCE  # all tied
    kls = [epoch["dev_kl"] for epoch in history]
    assert kls[0] != pytest.approx(min(kls))  # KL moved: epoch 1 is not the answer by luck
    assert info["training"]["best_epoch"] == 1 + kls.index(min(kls))
