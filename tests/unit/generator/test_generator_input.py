"""Bad generator input gets a clear error naming the item; aggregation and calibration rules."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from services.cli import main
from shared.errors import DataError
from shared.method.aggregation import (
    fit_calibration,
    normalize_aggregate,
    softmax_aggregate,
)
from shared.method.prompts import OPTION_ORDERS, TEMPLATE_VERSION
from shared.method.runs import MJDRecord, RunSpec, explanation_orders, to_label_logits
from shared.schemas import Explanation, Instance


def _item(explanations=2, label="neutral"):
    from shared.labels import Label

    return Instance.nli(
        id="item-7",
        premise="P.",
        hypothesis="H.",
        explanations=tuple(
            Explanation(f"reason {i}", None if label is None else Label(label))
            for i in range(explanations)
        ),
    )


def test_fewer_explanations_than_k_is_an_error_unless_a_policy_is_chosen():
    with pytest.raises(DataError, match=r"item-7.*2 explanation\(s\) but k=4"):
        explanation_orders(_item(2), RunSpec(k=4))
    orders = explanation_orders(_item(2), RunSpec(k=4, shortfall="use-available"))
    assert sorted(orders) == [(0, 1), (1, 0)]


def test_explicit_prompts_need_labels():
    with pytest.raises(DataError, match=r"item-7.*label"):
        explanation_orders(_item(2, label=None), RunSpec(k=1, explicit=True))


def test_cli_reports_bad_items_with_status_2(capsys, write_jsonl):
    path = write_jsonl(
        "items.jsonl",
        [
            {"id": "x1", "premise": "P.", "hypothesis": "H.", "explanations": ["a"]},
            {"id": "x2", "premise": "", "hypothesis": "H."},
        ],
    )
    code = main(["generate", "--input", str(path), "--out", "o.jsonl"])
    err = capsys.readouterr().err
    assert code == 2 and "row 2" in err and "field 'premise'" in err
    bad_label = write_jsonl(
        "labels.jsonl",
        [{"premise": "P.", "hypothesis": "H.", "explanations": [{"text": "t", "label": "maybe"}]}],
    )
    code = main(["generate", "--input", str(bad_label), "--out", "o.jsonl"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown label 'maybe'" in err and "explanations[0]" in err


def test_run_spec_validates_fields():
    with pytest.raises(DataError, match="k must be"):
        RunSpec(k=5)
    for bad in ({"temperature": 0}, {"temperature": 101}, {"letters": "spaced"}):
        with pytest.raises(DataError) as info:
            RunSpec(**bad)
        assert info.value.field == next(iter(bad))


def test_specs_stored_before_letters_existed_read_back_as_both():
    """Records and job runs written before ``letters`` were scored with "A" and " A": read
    back they say so, so a resumed job or a re-read record keeps its scoring; a spec stored
    now reads back as itself (other keys of a record's spec are ignored)."""
    old_record = {
        "k": 1,
        "explicit": False,
        "max_orders": 1,
        "shortfall": "error",
        "aggregation": "softmax",
        "temperature": 1.0,
        "bias": [0.0, 0.0, 0.0],
        "seed": 0,
        "template_version": TEMPLATE_VERSION,
        "backend": "transformers",
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
    }
    assert RunSpec.from_stored(old_record) == RunSpec(
        k=1, max_orders=1, letters="both", temperature=1.0
    )
    old_job_run = {key: old_record[key] for key in ("k", "explicit", "max_orders", "seed")}
    assert RunSpec.from_stored(old_job_run).letters == "both"
    new = RunSpec(k=2, max_orders=3, bias=(0.0, 0.5, -0.5))
    record = MJDRecord("i", [1 / 3] * 3, [], [], [], None, {**asdict(new), "backend": "x"})
    stored = json.loads(json.dumps(record.to_json()))
    assert RunSpec.from_stored(MJDRecord.from_json(stored).spec) == new
    assert new.letters == "bare" and new.temperature == 20.0  # the authors' setting


def test_letter_logits_map_back_to_labels_for_every_option_order():
    letters = np.arange(18, dtype=float).reshape(6, 3)  # distinct value per (order, letter)
    labels = to_label_logits(letters)
    for row, option_order in enumerate(OPTION_ORDERS):
        for position, label in enumerate(option_order):
            assert labels[row, label.index] == letters[row, position]


def test_softmax_and_normalize_rules():
    logits = np.array([[[2.0, 1.0, 1.0]], [[1.0, 1.0, 2.0]]])
    p = softmax_aggregate(logits, 1.0)
    e = np.exp([2.0, 1.0, 1.0]) / np.exp([2.0, 1.0, 1.0]).sum()
    assert np.allclose(p, (e + e[::-1]) / 2)
    assert np.allclose(softmax_aggregate(logits, temperature=1e6), 1 / 3, atol=1e-5)
    assert np.allclose(normalize_aggregate(logits), [0.375, 0.25, 0.375])
    with pytest.raises(ValueError, match="positive"):
        normalize_aggregate(-logits)


def test_calibration_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    logits = [rng.normal(0, 1, size=(1, 6, 3)) for _ in range(120)]
    human = np.array([softmax_aggregate(x, temperature=0.25) for x in logits])
    fit = fit_calibration(logits, human)
    assert fit.temperature == pytest.approx(0.25, rel=1e-2)
    assert fit.mean_kl < 1e-5
    at_default = np.array([softmax_aggregate(x, RunSpec().temperature) for x in logits])
    assert fit_calibration(logits, at_default).temperature == pytest.approx(20.0, rel=1e-2)
    biased = np.array([softmax_aggregate(x, 0.5, (0.0, 0.7, -0.3)) for x in logits])
    fit = fit_calibration(logits, biased, fit_bias=True)
    assert fit.temperature == pytest.approx(0.5, rel=2e-2)
    assert fit.bias == pytest.approx((0.0, 0.7, -0.3), abs=2e-2)


def test_calibrate_cli_cross_fits_and_writes_recalibrated_records(tmp_path, capsys):
    from shared.datasets import read_distributions, write_distributions_jsonl

    rng = np.random.default_rng(1)
    ids = [f"i{n}" for n in range(60)]
    logits = [rng.normal(0, 2, size=(1, 6, 3)) for _ in ids]
    human = np.array([softmax_aggregate(x, temperature=3.0) for x in logits])
    write_distributions_jsonl(tmp_path / "human.jsonl", ids, human)
    mjd = tmp_path / "mjd.jsonl"
    mjd.write_text(
        "".join(
            json.dumps(
                {
                    "id": i,
                    "distribution": softmax_aggregate(x, 1.0).tolist(),
                    "label_logits": x.tolist(),
                    "letter_mass": [[1.0] * 6],
                    "explanation_orders": [[]],
                    "missing_mass": None,
                    "spec": {"k": 0},
                }
            )
            + "\n"
            for i, x in zip(ids, logits, strict=True)
        )
    )
    out = tmp_path / "calibrated.jsonl"
    argv = ["calibrate", "--mjd", str(mjd), "--human", str(tmp_path / "human.jsonl")]
    assert main([*argv, "--folds", "5", "--out", str(out), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["fit"]["temperature"] == pytest.approx(3.0, rel=1e-2)
    assert len(summary["folds"]) == 5
    assert summary["after_cross_fitted"]["kl"] < summary["before"]["kl"] / 10
    calibrated = read_distributions(out)
    assert calibrated.ids == ids
    assert np.abs(calibrated.probs - human).max() < 1e-2
    first = json.loads(out.read_text().splitlines()[0])
    assert first["spec"]["calibration"]["cross_fit_fold"] in range(5)
    assert main([*argv, "--folds", "500"]) == 2
    assert "folds" in capsys.readouterr().err
