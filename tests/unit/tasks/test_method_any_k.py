"""Issue 22: aggregation and calibration for any K: K - 1 free label biases (the first fixed
at 0), a run's bias checked against its task, records of any task re-aggregated."""

from __future__ import annotations

import numpy as np
import pytest

from shared.errors import DataError
from shared.method.aggregation import fit_calibration, softmax_aggregate
from shared.method.runs import RunSpec
from shared.tasks import BUILTIN, NLI

PARAPHRASE = BUILTIN["paraphrase"]


def test_a_run_takes_one_bias_per_label_of_its_task():
    assert RunSpec().for_task(PARAPHRASE).bias == (0.0,) * 11  # NLI's zeros become 11
    assert RunSpec().for_task(NLI).template_version == "chen2024-mc-v1"
    assert RunSpec().for_task(PARAPHRASE).template_version == PARAPHRASE.prompt.version
    with pytest.raises(DataError) as caught:
        RunSpec(bias=(0.0, 1.0, 0.0)).for_task(PARAPHRASE)
    assert caught.value.field == "bias" and "-5/-4" in caught.value.message
    with pytest.raises(DataError):
        RunSpec(bias=(1e9,))


def test_calibration_fits_k_minus_one_biases():
    rng = np.random.default_rng(0)
    k, items = 6, 40
    logits = [rng.normal(size=(2, 2, k)) for _ in range(items)]
    shift = np.array([0.0, 1.0, -1.0, 0.5, 0.0, 2.0])
    human = np.array([softmax_aggregate(x, 2.0, shift) for x in logits])
    fit = fit_calibration(logits, human, fit_bias=True)
    assert len(fit.bias) == k and fit.bias[0] == 0.0
    assert fit.mean_kl < 5e-3  # near the generating temperature and biases
    assert np.allclose(fit.bias, shift, atol=0.4) and abs(fit.temperature - 2.0) < 0.2
    plain = fit_calibration(logits, human)
    assert plain.bias == (0.0,) * k and plain.mean_kl > fit.mean_kl
