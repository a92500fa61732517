"""Distribution metrics between human (HJD) and model (MJD) label distributions.

Conventions (stated in every report, matching the authors' evaluation notebook):

- rows are distributions over K labels (2 <= K <= MAX_LABELS) in a fixed column order; for NLI
  (entailment, neutral, contradiction);
- KL(human || model), natural log, both sides clipped to [1e-10, 1] and renormalised;
- JSD is the Jensen-Shannon *distance*: sqrt((KL(h||m) + KL(q||m)) / 2), m = (h + q) / 2,
  natural log, with the same clipping inside KL;
- TVD is half the L1 distance; ``manhattan`` (LeWiDi 2025) is the L1 distance itself;
- ``wasserstein`` (LeWiDi 2025, ordinal tasks only) is the earth mover's distance on the
  ordered scale with unit spacing: the sum over k of |CDF_h(k) - CDF_m(k)|;
- D.Corr is the (V-statistic) distance correlation between the whole N x K human and model
  matrices, one global number, as ``dcor.distance_correlation``.

Everything is vectorised over N x K arrays. D.Corr is exact up to ``EXACT_DCORR_MAX_ROWS`` rows,
computed in O(N) memory by a compiled pairwise kernel (no N x N matrix); above that it switches
to a block estimator (unbiased moments averaged over random 4096-row blocks), labelled
as such in the report; its error against exact is measured in benchmarks/metrics.py.
The report itself (MetricReport, Headline, the conventions) is in shared/metrics_report.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats

from shared.bounds import check_range, check_seed
from shared.dcorr import DEFAULT_SEED, distance_correlation, distance_correlation_exact
from shared.labels import LABEL_NAMES, NUM_LABELS
from shared.metrics_report import (  # CONVENTIONS, PAPER_COLUMNS, Headline: re-exported
    CONVENTIONS,  # noqa: F401
    PAPER_COLUMNS,  # noqa: F401
    EntropyBin,
    Estimate,
    Headline,  # noqa: F401
    MetricReport,
    entropy_bin_edges,
    report_conventions,
)

EPSILON = 1e-10
DEFAULT_BOOTSTRAP = 1000
#: most bootstrap resamples a report takes: each costs O(N) time, and 48 bytes are kept
MAX_BOOTSTRAP = 100_000
#: fewest and most labels (columns) a distribution may have
MIN_LABELS = 2
MAX_LABELS = 16
#: Edges of the human-entropy bins of an NLI breakdown (natural log; ln 3 is the maximum).
ENTROPY_BIN_EDGES = entropy_bin_edges(NUM_LABELS)


def default_labels(k: int) -> tuple[str, ...]:
    """Label names for K columns when none are given: NLI's for K = 3, else "0".."K-1"."""
    return LABEL_NAMES if k == NUM_LABELS else tuple(str(i) for i in range(k))


def check_labels(labels: Sequence[str]) -> tuple[str, ...]:
    """Label names in column order: 2 to MAX_LABELS distinct non-empty strings; raises
    ValueError naming ``labels``."""
    if isinstance(labels, str):
        raise ValueError("labels: expected a sequence of label names, got one string")
    names = tuple(labels)
    if not MIN_LABELS <= len(names) <= MAX_LABELS:
        raise ValueError(f"labels: expected {MIN_LABELS} to {MAX_LABELS} names, got {len(names)}")
    if not all(isinstance(name, str) and name.strip() for name in names):
        raise ValueError("labels: every name must be a non-empty string")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"labels: repeated names {', '.join(repeated)}")
    return names


def resolve_labels(labels: Sequence[str] | None, values: np.ndarray, name: str) -> tuple[str, ...]:
    """``labels`` checked, or when None the default names for the width of ``values``."""
    if labels is not None:
        return check_labels(labels)
    width = values.shape[1] if values.ndim == 2 else 0
    if not MIN_LABELS <= width <= MAX_LABELS:
        raise ValueError(
            f"{name}: expected shape (N, K) with {MIN_LABELS} <= K <= {MAX_LABELS}, "
            f"got {values.shape}"
        )
    return default_labels(width)


def as_distributions(
    values: Any, name: str = "distributions", labels: Sequence[str] | None = None
) -> np.ndarray:
    """Check an N x K array of probability rows, one column per name in ``labels`` (by
    default NLI's three); raises ValueError naming the argument."""
    k = NUM_LABELS if labels is None else len(check_labels(labels))
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != k:
        per = "" if labels is None else f" (one column per name in labels, {k} names)"
        raise ValueError(f"{name}: expected shape (N, {k}){per}, got {array.shape}")
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


def manhattan_distance(human: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Per-row L1 distance (LeWiDi 2025's Manhattan distance; 2 x TVD)."""
    return np.abs(human - model).sum(axis=-1)


def wasserstein_distance(human: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Per-row Wasserstein-1 distance with the labels at 0, 1, ..., K-1 in column order
    (LeWiDi 2025's, for ordinal tasks): the sum over k < K-1 of |CDF_h(k) - CDF_m(k)|."""
    return np.abs(np.cumsum(human - model, axis=-1)[..., :-1]).sum(axis=-1)


def entropy(p: np.ndarray) -> np.ndarray:
    """Per-row Shannon entropy in nats, with 0 log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=-1)


# ---------------------------------------------------------------------------- classification


def f1_scores(
    truth: np.ndarray, predicted: np.ndarray, num_labels: int = NUM_LABELS
) -> tuple[float, float]:
    """(weighted F1, macro F1) over ``num_labels`` labels (indices); a label neither true nor
    predicted is left out of macro F1 (as scikit-learn does with zero_division=0)."""
    confusion = np.zeros((num_labels, num_labels), dtype=np.int64)
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


def instance_metrics(
    human: np.ndarray, model: np.ndarray, *, ordinal: bool = False
) -> dict[str, np.ndarray]:
    """Per-item KL, JSD, TVD, Manhattan, Wasserstein (only when ``ordinal``) and both
    entropies."""
    values = {
        "kl": kl_divergence(human, model),
        "jsd": js_distance(human, model),
        "tvd": total_variation(human, model),
        "manhattan": manhattan_distance(human, model),
    }
    if ordinal:
        values["wasserstein"] = wasserstein_distance(human, model)
    return values | {"entropy_human": entropy(human), "entropy_model": entropy(model)}


#: told (resamples done, resamples in all) during the bootstrap; may raise to stop it
Progress = Callable[[int, int], None]


def check_bootstrap(resamples: int, seed: int, most: int = MAX_BOOTSTRAP) -> None:
    """Refuse a resample count or seed a report cannot take (DataError naming ``bootstrap``
    or ``seed``) before any work: 10**12 resamples once killed a worker (MemoryError)."""
    check_range(resamples, 0, most, "bootstrap")
    check_seed(seed)


def bootstrap_means(
    columns: np.ndarray | Sequence[np.ndarray],
    *,
    resamples: int,
    seed: int,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile 95% CIs for the mean of each column of an N x k matrix, resampling rows.

    Each resample is a vector of draw counts per row (bincount of N uniform draws), so its
    means are one matrix-vector product: O(N) time and memory per resample. ``columns`` may
    be a sequence of N-row blocks, resampled alike and multiplied one by one, so the CIs of a
    block do not change (not in the last bit either) when another block is added; they come
    back side by side. ``progress`` is called before each resample and once at the end (a job
    stops here when cancelled).
    """
    blocks = [columns] if isinstance(columns, np.ndarray) else list(columns)
    n = blocks[0].shape[0]
    rng = np.random.default_rng(seed)
    means = np.empty((resamples, sum(block.shape[1] for block in blocks)))
    for r in range(resamples):
        if progress is not None:
            progress(r, resamples)
        weights = np.bincount(rng.integers(0, n, size=n), minlength=n)
        start = 0
        for block in blocks:
            means[r, start : start + block.shape[1]] = weights @ block / n
            start += block.shape[1]
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
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Exact D.Corr of each model against ``human`` on the same seeded resamples of items,
    as a resamples x models array: percentiles of a column are that model's CI, and of a
    difference of columns a paired CI (D.Corr is one number for all items, so the per-item
    bootstrap of :func:`bootstrap_means` cannot give either). ``labels`` as in
    :func:`evaluate`."""
    check_bootstrap(resamples, seed)
    human = np.asarray(human, dtype=np.float64)
    labels = resolve_labels(labels, human, "human")
    human = as_distributions(human, "human", labels)
    checked = [as_distributions(m, f"models[{i}]", labels) for i, m in enumerate(models)]
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
    labels: Sequence[str] | None = None,
    ordinal: bool = False,
    resamples: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    dcorr_method: str = "auto",
    progress: Progress | None = None,
) -> MetricReport:
    """The full suite for N human and N model distributions (rows aligned) over K labels:
    ``labels`` names the columns (by default NLI's for K = 3, else "0".."K-1"); ``ordinal``
    says they are an ordered scale (then Wasserstein is reported too). ``progress`` follows
    the bootstrap (see :func:`bootstrap_means`)."""
    check_bootstrap(resamples, seed)
    human = np.asarray(human, dtype=np.float64)
    labels = resolve_labels(labels, human, "human")
    human = as_distributions(human, "human", labels)
    model = as_distributions(model, "model", labels)
    if human.shape != model.shape:
        raise ValueError(f"row counts differ: human {human.shape[0]}, model {model.shape[0]}")
    per_item = instance_metrics(human, model, ordinal=ordinal)
    truth, predicted = human.argmax(axis=1), model.argmax(axis=1)
    per_item["accuracy"] = (truth == predicted).astype(np.float64)
    # each LeWiDi metric is a block of its own: the paper's numbers stay bit for bit as before
    # they were added, and Manhattan's do not depend on whether Wasserstein is asked for
    lewidi = [name for name in ("manhattan", "wasserstein") if name in per_item]
    paper = [name for name in per_item if name not in lewidi]
    names = paper + lewidi
    groups = [paper] + [[name] for name in lewidi]
    blocks = [np.column_stack([per_item[name] for name in group]) for group in groups]
    means = np.concatenate([block.mean(axis=0) for block in blocks])
    if resamples > 0:
        low, high = bootstrap_means(blocks, resamples=resamples, seed=seed, progress=progress)
    else:
        low = high = np.full(len(names), np.nan)
    est = {
        name: Estimate(float(means[i]), float(low[i]), float(high[i]))
        for i, name in enumerate(names)
    }
    pearson, spearman = _correlations(per_item["entropy_human"], per_item["entropy_model"])
    f1_weighted, f1_macro = f1_scores(truth, predicted, len(labels))
    return MetricReport(
        n=len(human),
        kl=est["kl"],
        jsd=est["jsd"],
        tvd=est["tvd"],
        manhattan=est["manhattan"],
        wasserstein=est.get("wasserstein"),
        dcorr=distance_correlation(human, model, method=dcorr_method, seed=seed),
        entropy_human=est["entropy_human"],
        entropy_model=est["entropy_model"],
        entropy_pearson=pearson,
        entropy_spearman=spearman,
        accuracy=est["accuracy"],
        f1_weighted=f1_weighted,
        f1_macro=f1_macro,
        entropy_bins=_entropy_bins(per_item, len(labels)),
        bootstrap={"resamples": resamples, "seed": seed},
        conventions=report_conventions(labels, ordinal),
    )


def _entropy_bins(per_item: dict[str, np.ndarray], k: int) -> list[EntropyBin]:
    edges = np.array(entropy_bin_edges(k))
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
