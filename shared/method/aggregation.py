"""From raw label logits to one distribution per item, and temperature calibration.

Logits arrive per item as an array of shape (explanation orders, option orders, K) in the
task's label order. Aggregations are plain functions so a stored run can be re-aggregated
without the LLM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax

from shared.metrics import kl_divergence

Aggregation = Literal["softmax", "normalize"]
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)


def softmax_aggregate(
    logits: np.ndarray, temperature: float, bias: Sequence[float] = ()
) -> np.ndarray:
    """Mean over every prompt of softmax(logits / T + bias): the temperature has no default
    here, a run's is its spec's (``RunSpec.temperature``)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    shift = np.asarray(bias, dtype=np.float64) if len(bias) else 0.0
    scaled = np.asarray(logits, dtype=np.float64) / temperature + shift
    probs = np.exp(log_softmax(scaled, axis=-1))
    return probs.reshape(-1, probs.shape[-1]).mean(axis=0)


def normalize_aggregate(logits: np.ndarray) -> np.ndarray:
    """The authors' "normalize" rule: each prompt's logits divided by their sum, averaged.

    Only meaningful when all the logits are positive (as for the paper's Llama-3 runs)."""
    logits = np.asarray(logits, dtype=np.float64)
    if (logits <= 0).any():
        raise ValueError(
            "the normalize rule needs positive letter logits; this model gives non-positive "
            "ones, use softmax"
        )
    probs = logits / logits.sum(axis=-1, keepdims=True)
    return probs.reshape(-1, probs.shape[-1]).mean(axis=0)


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted softmax parameters and the mean KL they reach on the fitting items."""

    temperature: float
    bias: tuple[float, ...]
    mean_kl: float
    items: int

    def apply(self, logits: np.ndarray) -> np.ndarray:
        return softmax_aggregate(logits, self.temperature, self.bias)


#: Search range of the fitted temperature. A fit that ends at the upper bound means the logits
#: carry no usable signal at this scale (the MJD tends to uniform).
TEMPERATURE_BOUNDS = (1e-2, 1e2)
BIAS_BOUND = 10.0


def fit_calibration(
    item_logits: Sequence[np.ndarray], human: np.ndarray, *, fit_bias: bool = False
) -> Calibration:
    """Fit T (and optionally K - 1 label biases, the first label's fixed at 0) minimising
    mean KL(human || MJD), with log T searched within TEMPERATURE_BOUNDS from three
    starting points."""
    human = np.asarray(human, dtype=np.float64)
    if len(item_logits) != len(human) or len(human) == 0:
        raise ValueError("need one human distribution per item, and at least one item")
    k = human.shape[1]

    def unpack(theta: np.ndarray) -> tuple[float, tuple[float, ...]]:
        free = [float(b) for b in theta[1:]] if fit_bias else [0.0] * (k - 1)
        return float(np.exp(theta[0])), (0.0, *free)

    def loss(theta: np.ndarray) -> float:
        temperature, bias = unpack(theta)
        model = np.array([softmax_aggregate(x, temperature, bias) for x in item_logits])
        return float(kl_divergence(human, model).mean())

    log_bounds = tuple(np.log(TEMPERATURE_BOUNDS))
    bounds = [log_bounds] + [(-BIAS_BOUND, BIAS_BOUND)] * ((k - 1) if fit_bias else 0)

    def start(log_temperature: float) -> np.ndarray:
        theta = np.zeros(len(bounds))
        theta[0] = log_temperature
        return theta

    options = {"xatol": 1e-4, "fatol": 1e-9, "maxiter": 4000}
    best = min(
        (
            minimize(loss, start(t), method="Nelder-Mead", bounds=bounds, options=options)
            for t in (np.log(0.1), 0.0, np.log(10.0))
        ),
        key=lambda result: result.fun,
    )
    temperature, bias = unpack(best.x)
    return Calibration(temperature, bias, float(best.fun), len(human))
