"""Distance correlation of two sets of label distributions (the paper's D.Corr), for any
number of columns: exact by a numba loop over pairs up to EXACT_DCORR_MAX_ROWS rows, a block
estimate above it; memory is O(N) either way (no N x N matrix)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

EXACT_DCORR_MAX_ROWS = 100_000
DEFAULT_BLOCK_ROWS = 4096
DEFAULT_SEED = 0


_FAST = {"reassoc", "contract", "nsz"}  # allow vectorised sums; no approximate functions


@numba.njit(parallel=True, cache=True, fastmath=_FAST)
def _pairwise_sums(xt: np.ndarray, yt: np.ndarray, n_chunks: int) -> tuple:  # pragma: no cover
    """Row sums of the two Euclidean distance matrices of 3-column data (given transposed,
    3 x N) and the sums of a*b, a*a, b*b over all pairs. Each unordered pair is visited once,
    in one fused loop; memory is O(n_chunks * N)."""
    n = xt.shape[1]
    x0, x1, x2, y0, y1, y2 = xt[0], xt[1], xt[2], yt[0], yt[1], yt[2]
    row_a = np.zeros((n_chunks, n))
    row_b = np.zeros((n_chunks, n))
    totals = np.zeros((n_chunks, 3))
    for c in numba.prange(n_chunks):
        chunk_a = row_a[c]
        chunk_b = row_b[c]
        for i in range(c, n, n_chunks):
            ra = rb = ab = aa = bb = 0.0
            for j in range(i + 1, n):
                t0, t1, t2 = x0[j] - x0[i], x1[j] - x1[i], x2[j] - x2[i]
                u0, u1, u2 = y0[j] - y0[i], y1[j] - y1[i], y2[j] - y2[i]
                da = t0 * t0 + t1 * t1 + t2 * t2
                db = u0 * u0 + u1 * u1 + u2 * u2
                a = math.sqrt(da)
                b = math.sqrt(db)
                ra += a
                rb += b
                ab += a * b
                aa += da
                bb += db
                chunk_a[j] += a
                chunk_b[j] += b
            chunk_a[i] += ra
            chunk_b[i] += rb
            totals[c, 0] += ab
            totals[c, 1] += aa
            totals[c, 2] += bb
    return row_a.sum(axis=0), row_b.sum(axis=0), 2.0 * totals.sum(axis=0)


@numba.njit(parallel=True, cache=True, fastmath=_FAST)
def _pairwise_sums_wide(x: np.ndarray, y: np.ndarray, n_chunks: int) -> tuple:  # pragma: no cover
    """What :func:`_pairwise_sums` gives, for any numbers of columns (data as C-contiguous
    N x p and N x q rows): the same fused loop over pairs with a loop over columns inside.
    Memory is O(n_chunks * N)."""
    n, p = x.shape
    q = y.shape[1]
    row_a = np.zeros((n_chunks, n))
    row_b = np.zeros((n_chunks, n))
    totals = np.zeros((n_chunks, 3))
    for c in numba.prange(n_chunks):
        chunk_a = row_a[c]
        chunk_b = row_b[c]
        for i in range(c, n, n_chunks):
            xi, yi = x[i], y[i]
            ra = rb = ab = aa = bb = 0.0
            for j in range(i + 1, n):
                xj, yj = x[j], y[j]
                da = 0.0
                for d in range(p):
                    t = xj[d] - xi[d]
                    da += t * t
                db = 0.0
                for d in range(q):
                    u = yj[d] - yi[d]
                    db += u * u
                a = math.sqrt(da)
                b = math.sqrt(db)
                ra += a
                rb += b
                ab += a * b
                aa += da
                bb += db
                chunk_a[j] += a
                chunk_b[j] += b
            chunk_a[i] += ra
            chunk_b[i] += rb
            totals[c, 0] += ab
            totals[c, 1] += aa
            totals[c, 2] += bb
    return row_a.sum(axis=0), row_b.sum(axis=0), 2.0 * totals.sum(axis=0)


#: Data of up to this many columns goes to the fused kernel :func:`_pairwise_sums` (narrower
#: data is zero-padded, which keeps every distance), wider data to :func:`_pairwise_sums_wide`.
KERNEL_COLUMNS = 3


def _kernel_layout(data: np.ndarray) -> np.ndarray:
    """Transpose to KERNEL_COLUMNS x N, zero-padding missing columns."""
    out = np.zeros((KERNEL_COLUMNS, data.shape[0]))
    out[: data.shape[1]] = data.T
    return out


def pairwise_sums(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row sums of the distance matrices of ``x`` and ``y`` (N x p, N x q) and the sums of
    a*b, a*a, b*b over all ordered pairs, by the kernel for their width."""
    chunks = max(1, 2 * numba.get_num_threads())
    if max(x.shape[1], y.shape[1]) <= KERNEL_COLUMNS:
        return _pairwise_sums(_kernel_layout(x), _kernel_layout(y), chunks)
    return _pairwise_sums_wide(np.ascontiguousarray(x), np.ascontiguousarray(y), chunks)


def _as_matrix(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array.reshape(-1, 1) if array.ndim == 1 else array


def distance_correlation_exact(x: Any, y: Any) -> float:
    """Exact V-statistic distance correlation, equal to ``dcor.distance_correlation``, in O(N)
    memory for any number of columns, from row sums of the distance matrices:
    dCov^2 = S_ab/N^2 + mean(a) mean(b) - 2/N sum_i abar_i bbar_i."""
    x, y = _as_matrix(x), _as_matrix(y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"row counts differ: {x.shape[0]} vs {y.shape[0]}")
    n = x.shape[0]
    if n < 2:
        return 0.0
    row_a, row_b, (s_ab, s_aa, s_bb) = pairwise_sums(x, y)
    abar, bbar = row_a / n, row_b / n
    mean_a, mean_b = abar.mean(), bbar.mean()
    dcov = s_ab / n**2 + mean_a * mean_b - 2 * np.dot(abar, bbar) / n
    dvar_x = s_aa / n**2 + mean_a**2 - 2 * np.dot(abar, abar) / n
    dvar_y = s_bb / n**2 + mean_b**2 - 2 * np.dot(bbar, bbar) / n
    return _dcor_from_moments(dcov, dvar_x, dvar_y)


def _dcor_from_moments(dcov: float, dvar_x: float, dvar_y: float) -> float:
    denominator = dvar_x * dvar_y
    if not denominator > 0:
        return 0.0
    return float(math.sqrt(max(dcov / math.sqrt(denominator), 0.0)))


def _unbiased_moment(s_pairs: float, row_dot: float, total_product: float, n: int) -> float:
    """Unbiased (U-statistic) squared distance covariance from pair sums (Huo & Szekely 2016):
    (T1 - 2 T2 / (n-2) + T3 / ((n-1)(n-2))) / (n (n-3))."""
    return (s_pairs - 2 * row_dot / (n - 2) + total_product / ((n - 1) * (n - 2))) / (n * (n - 3))


def distance_correlation_blocks(
    x: Any, y: Any, *, block_rows: int = DEFAULT_BLOCK_ROWS, seed: int = DEFAULT_SEED
) -> float:
    """Estimate distance correlation in O(N * block_rows) time and O(N) memory.

    Rows are shuffled (seeded) into blocks of about ``block_rows``; each block gives unbiased
    U-statistic estimates of dCov^2(x, y), dVar^2(x) and dVar^2(y), which are averaged over
    blocks and combined. The full-sample V-statistic differs from these by O(1/N).
    """
    x, y = _as_matrix(x), _as_matrix(y)
    n = x.shape[0]
    if n < 2 * block_rows:
        return distance_correlation_exact(x, y)
    moments = np.zeros(3)
    blocks = np.array_split(np.random.default_rng(seed).permutation(n), n // block_rows)
    for rows in blocks:
        row_a, row_b, (s_ab, s_aa, s_bb) = pairwise_sums(x[rows], y[rows])
        total_a, total_b, m = row_a.sum(), row_b.sum(), len(rows)
        moments += (
            _unbiased_moment(s_ab, row_a @ row_b, total_a * total_b, m),
            _unbiased_moment(s_aa, row_a @ row_a, total_a * total_a, m),
            _unbiased_moment(s_bb, row_b @ row_b, total_b * total_b, m),
        )
    return _dcor_from_moments(*(moments / len(blocks)))


@dataclass(frozen=True, slots=True)
class DCorr:
    value: float
    method: str  # "exact" or a description of the estimator


def distance_correlation(
    x: Any, y: Any, *, method: str = "auto", seed: int = DEFAULT_SEED
) -> DCorr:
    """Distance correlation: exact up to EXACT_DCORR_MAX_ROWS rows (or always with
    method="exact"), the block estimate above it (or with method="estimate")."""
    n = len(x)
    if method not in ("auto", "exact", "estimate"):
        raise ValueError(f"unknown D.Corr method {method!r}")
    if method == "exact" or (method == "auto" and n <= EXACT_DCORR_MAX_ROWS):
        return DCorr(distance_correlation_exact(x, y), "exact")
    value = distance_correlation_blocks(x, y, seed=seed)
    return DCorr(
        value,
        f"estimate: mean unbiased moments over random {DEFAULT_BLOCK_ROWS}-row blocks, seed={seed}",
    )
