"""Distribution metrics between human (HJD) and model (MJD) label distributions.

Conventions (stated in every report, matching the authors' evaluation notebook):

- rows are distributions over (entailment, neutral, contradiction);
- KL(human || model), natural log, both sides clipped to [1e-10, 1] and renormalised;
- JSD is the Jensen-Shannon *distance*: sqrt((KL(h||m) + KL(q||m)) / 2), m = (h + q) / 2,
  natural log, with the same clipping inside KL;
- TVD is half the L1 distance;
- D.Corr is the (V-statistic) distance correlation between the whole N x 3 human and model
  matrices, one global number, as ``dcor.distance_correlation``.

Everything is vectorised over N x 3 arrays. D.Corr is exact up to ``EXACT_DCORR_MAX_ROWS`` rows,
computed in O(N) memory by a compiled pairwise kernel (no N x N matrix); above that it switches
to a block estimator (unbiased moments averaged over random 4096-row blocks), labelled
as such in the report; its error against exact is measured in benchmarks/metrics.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec
import numpy as np
from scipy import stats

from shared.bounds import check_range, check_seed
from shared.dcorr import DEFAULT_SEED, DCorr, distance_correlation, distance_correlation_exact
from shared.labels import LABEL_NAMES, NUM_LABELS

EPSILON = 1e-10
DEFAULT_BOOTSTRAP = 1000
#: most bootstrap resamples a report takes: each costs O(N) time, and 48 bytes are kept
MAX_BOOTSTRAP = 100_000
#: Edges of the human-entropy bins of the breakdown (natural log; ln 3 is the maximum).
ENTROPY_BIN_EDGES = (0.0, math.log(3) / 3, 2 * math.log(3) / 3, math.log(3))

CONVENTIONS = {
    "label_order": list(LABEL_NAMES),
    "kl": "KL(human || model), natural log, both sides clipped to [1e-10, 1] and renormalised",
    "jsd": "Jensen-Shannon distance (sqrt of the divergence), natural log, same clipping",
    "tvd": "total variation distance: half the L1 distance",
    "dcorr": "distance correlation (V-statistic) between the N x 3 human and model matrices",
    "entropy": "Shannon entropy, natural log (max ln 3 = 1.0986)",
    "classification": "model argmax vs human majority (argmax; ties go to the earlier label E<N<C)",
    "ci": "95% percentile bootstrap over items, seeded",
    "entropy_bins": "human-entropy bins with edges "
    + ", ".join(f"{e:.4f}" for e in ENTROPY_BIN_EDGES),
}


def as_distributions(values: Any, name: str = "distributions") -> np.ndarray:
    """Check an N x 3 array of probability rows; raises ValueError naming the argument."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != NUM_LABELS:
        raise ValueError(f"{name}: expected shape (N, {NUM_LABELS}), got {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name}: no rows")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError(f"{name}: values must be finite and non-negative")
    if (np.abs(array.sum(axis=1) - 1.0) > 1e-6).any():
        raise ValueError(f"{name}: rows must sum to 1 (within 1e-6)")
    return array


def _clip_renormalise(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, EPSILON, 1.0)
    return clipped / clipped.sum(axis=-1, keepdims=True)


def kl_divergence(human: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Per-row KL(human || model), natural log, with clipping (see module docstring)."""
    p, q = _clip_renormalise(human), _clip_renormalise(model)
    return np.sum(p * np.log(p / q), axis=-1)


def js_distance(human: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Per-row Jensen-Shannon distance, natural log."""
    mixture = (human + model) / 2
    divergence = (kl_divergence(human, mixture) + kl_divergence(model, mixture)) / 2
    return np.sqrt(np.maximum(divergence, 0.0))


def total_variation(human: np.ndarray, model: np.ndarray) -> np.ndarray:
    return np.abs(human - model).sum(axis=-1) / 2


def entropy(p: np.ndarray) -> np.ndarray:
    """Per-row Shannon entropy in nats, with 0 log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=-1)


# ---------------------------------------------------------------------------- classification


def f1_scores(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """(weighted F1, macro F1) over the three labels; absent labels count 0 in macro F1
    only when they are predicted (as scikit-learn does with zero_division=0)."""
    confusion = np.zeros((NUM_LABELS, NUM_LABELS), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1).astype(np.float64)
    predicted_count = confusion.sum(axis=0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(support + predicted_count > 0, 2 * tp / (support + predicted_count), 0.0)
    present = (support + predicted_count) > 0
    weighted = float(np.sum(f1 * support) / support.sum())
    macro = float(f1[present].mean()) if present.any() else 0.0
    return weighted, macro


# ---------------------------------------------------------------------------- report


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over items with its seeded bootstrap 95% confidence interval."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class EntropyBin:
    low: float
    high: float
    n: int
    kl: float | None
    jsd: float | None
    tvd: float | None


class Headline(msgspec.Struct, frozen=True):
    """KL, JS distance, TVD and D.Corr: the four headline numbers of the paper's tables (all
    None for a training without a dev report)."""

    kl: float | None = None
    jsd: float | None = None
    tvd: float | None = None
    dcorr: float | None = None

    def values(self) -> tuple[float | None, ...]:
        return msgspec.structs.astuple(self)

    def as_dict(self) -> dict[str, float | None]:
        return msgspec.structs.asdict(self)


@dataclass(frozen=True, slots=True)
class MetricReport:
    n: int
    kl: Estimate
    jsd: Estimate
    tvd: Estimate
    dcorr: DCorr
    entropy_human: Estimate
    entropy_model: Estimate
    entropy_pearson: float
    entropy_spearman: float
    accuracy: Estimate
    f1_weighted: float
    f1_macro: float
    entropy_bins: list[EntropyBin]
    bootstrap: dict[str, int]
    conventions: dict[str, Any] = field(default_factory=lambda: dict(CONVENTIONS))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def headline(self) -> Headline:
        return Headline(self.kl.mean, self.jsd.mean, self.tvd.mean, self.dcorr.value)

    def to_table(self) -> str:
        """A plain-text report for terminals."""

        def row(name: str, value: float, note: str = "") -> str:
            return f"  {name:<22}{value:>9.4f}  {note}".rstrip()

        def ci(e: Estimate) -> str:
            return "" if math.isnan(e.low) else f"95% CI [{e.low:.4f}, {e.high:.4f}]"

        lines = [
            f"items: {self.n}",
            row("KL(human || model)", self.kl.mean, ci(self.kl)),
            row("JS distance", self.jsd.mean, ci(self.jsd)),
            row("TVD", self.tvd.mean, ci(self.tvd)),
            row("D.Corr", self.dcorr.value, self.dcorr.method),
            row("entropy, human", self.entropy_human.mean, ci(self.entropy_human)),
            row("entropy, model", self.entropy_model.mean, ci(self.entropy_model)),
            row("entropy Pearson r", self.entropy_pearson),
            row("entropy Spearman rho", self.entropy_spearman),
            row("accuracy", self.accuracy.mean, ci(self.accuracy)),
            row("F1, weighted", self.f1_weighted),
            row("F1, macro", self.f1_macro),
            "  by human entropy:",
        ]
        for b in self.entropy_bins:
            if b.n:
                lines.append(
                    f"    [{b.low:.3f}, {b.high:.3f}]  n={b.n:<6} KL {b.kl:.4f}  "
                    f"JSD {b.jsd:.4f}  TVD {b.tvd:.4f}"
                )
            else:
                lines.append(f"    [{b.low:.3f}, {b.high:.3f}]  n=0")
        lines.append("conventions:")
        lines.extend(f"  {key}: {value}" for key, value in self.conventions.items())
        return "\n".join(lines)


def instance_metrics(human: np.ndarray, model: np.ndarray) -> dict[str, np.ndarray]:
    """Per-item KL, JSD, TVD and both entropies."""
    return {
        "kl": kl_divergence(human, model),
        "jsd": js_distance(human, model),
        "tvd": total_variation(human, model),
        "entropy_human": entropy(human),
        "entropy_model": entropy(model),
    }


#: told (resamples done, resamples in all) during the bootstrap; may raise to stop it
Progress = Callable[[int, int], None]


def check_bootstrap(resamples: int, seed: int, most: int = MAX_BOOTSTRAP) -> None:
    """Refuse a resample count or seed a report cannot take (DataError naming ``bootstrap``
    or ``seed``) before any work: 10**12 resamples once killed a worker (MemoryError)."""
    check_range(resamples, 0, most, "bootstrap")
    check_seed(seed)


def bootstrap_means(
    columns: np.ndarray, *, resamples: int, seed: int, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile 95% CIs for the mean of each column of an N x k matrix, resampling rows.

    Each resample is a vector of draw counts per row (bincount of N uniform draws), so its
    means are one matrix-vector product: O(N) time and memory per resample. ``progress`` is
    called before each resample and once at the end (a job stops here when cancelled).
    """
    n = columns.shape[0]
    rng = np.random.default_rng(seed)
    means = np.empty((resamples, columns.shape[1]))
    for r in range(resamples):
        if progress is not None:
            progress(r, resamples)
        weights = np.bincount(rng.integers(0, n, size=n), minlength=n)
        means[r] = weights @ columns / n
    if progress is not None:
        progress(resamples, resamples)
    low, high = np.percentile(means, [2.5, 97.5], axis=0)
    return low, high


def bootstrap_dcorr(
    human: Any,
    models: Sequence[Any],
    *,
    resamples: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
) -> np.ndarray:
    """Exact D.Corr of each model against ``human`` on the same seeded resamples of items,
    as a resamples x models array: percentiles of a column are that model's CI, and of a
    difference of columns a paired CI (D.Corr is one number for all items, so the per-item
    bootstrap of :func:`bootstrap_means` cannot give either)."""
    check_bootstrap(resamples, seed)
    human = as_distributions(human, "human")
    checked = [as_distributions(m, f"models[{i}]") for i, m in enumerate(models)]
    for i, model in enumerate(checked):
        if model.shape != human.shape:
            raise ValueError(f"models[{i}]: {model.shape[0]} rows, human {human.shape[0]}")
    rng = np.random.default_rng(seed)
    draws = np.empty((resamples, len(checked)))
    for r in range(resamples):
        rows = rng.integers(0, len(human), size=len(human))
        for j, model in enumerate(checked):
            draws[r, j] = distance_correlation_exact(human[rows], model[rows])
    return draws


def _correlations(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    return float(stats.pearsonr(a, b).statistic), float(stats.spearmanr(a, b).statistic)


def evaluate(
    human: Any,
    model: Any,
    *,
    resamples: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    dcorr_method: str = "auto",
    progress: Progress | None = None,
) -> MetricReport:
    """The full suite for N human and N model distributions (rows aligned); ``progress``
    follows the bootstrap (see :func:`bootstrap_means`)."""
    check_bootstrap(resamples, seed)
    human = as_distributions(human, "human")
    model = as_distributions(model, "model")
    if human.shape != model.shape:
        raise ValueError(f"row counts differ: human {human.shape[0]}, model {model.shape[0]}")
    per_item = instance_metrics(human, model)
    truth, predicted = human.argmax(axis=1), model.argmax(axis=1)
    correct = (truth == predicted).astype(np.float64)
    names = [*per_item, "accuracy"]
    columns = np.column_stack([*per_item.values(), correct])
    means = columns.mean(axis=0)
    if resamples > 0:
        low, high = bootstrap_means(columns, resamples=resamples, seed=seed, progress=progress)
    else:
        low = high = np.full(len(names), np.nan)
    est = {
        name: Estimate(float(means[i]), float(low[i]), float(high[i]))
        for i, name in enumerate(names)
    }
    pearson, spearman = _correlations(per_item["entropy_human"], per_item["entropy_model"])
    f1_weighted, f1_macro = f1_scores(truth, predicted)
    return MetricReport(
        n=len(human),
        kl=est["kl"],
        jsd=est["jsd"],
        tvd=est["tvd"],
        dcorr=distance_correlation(human, model, method=dcorr_method, seed=seed),
        entropy_human=est["entropy_human"],
        entropy_model=est["entropy_model"],
        entropy_pearson=pearson,
        entropy_spearman=spearman,
        accuracy=est["accuracy"],
        f1_weighted=f1_weighted,
        f1_macro=f1_macro,
        entropy_bins=_entropy_bins(per_item),
        bootstrap={"resamples": resamples, "seed": seed},
    )


def _entropy_bins(per_item: dict[str, np.ndarray]) -> list[EntropyBin]:
    edges = np.array(ENTROPY_BIN_EDGES)
    which = np.clip(
        np.searchsorted(edges, per_item["entropy_human"], side="right") - 1, 0, len(edges) - 2
    )
    bins = []
    for b in range(len(edges) - 1):
        mask = which == b
        count = int(mask.sum())

        def mean(name: str, mask: np.ndarray = mask, count: int = count) -> float | None:
            return float(per_item[name][mask].mean()) if count else None

        bins.append(
            EntropyBin(
                float(edges[b]), float(edges[b + 1]), count, mean("kl"), mean("jsd"), mean("tvd")
            )
        )
    return bins
