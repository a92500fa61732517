"""What :func:`shared.metrics.evaluate` answers: the report, its headline row and the
conventions it states. All names here are importable from :mod:`shared.metrics` too."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec

from shared.dcorr import DCorr
from shared.labels import LABEL_NAMES

#: the paper's four headline numbers, in its tables' order (``Headline.values()``)
PAPER_COLUMNS = ("kl", "jsd", "tvd", "dcorr")


def entropy_bin_edges(k: int) -> tuple[float, float, float, float]:
    """Edges of the human-entropy bins of the breakdown for K labels: thirds of ln K (natural
    log; ln K is the maximum). For NLI (K = 3): 0, ln 3 / 3, 2 ln 3 / 3, ln 3."""
    top = math.log(k)
    return (0.0, top / 3, 2 * top / 3, top)


def report_conventions(labels: Sequence[str], ordinal: bool = False) -> dict[str, Any]:
    """The conventions a report states, for its labels (in column order) and scale."""
    k = len(labels)
    ties = "E<N<C" if tuple(labels) == LABEL_NAMES else "in label_order"
    conventions: dict[str, Any] = {
        "label_order": list(labels),
        "kl": "KL(human || model), natural log, both sides clipped to [1e-10, 1] and renormalised",
        "jsd": "Jensen-Shannon distance (sqrt of the divergence), natural log, same clipping",
        "tvd": "total variation distance: half the L1 distance",
        "manhattan": "Manhattan distance (L1), LeWiDi 2025: sum of absolute differences (2 x TVD)",
    }
    if ordinal:
        conventions["wasserstein"] = (
            "Wasserstein-1 on the ordered scale, unit spacing, LeWiDi 2025: labels at "
            f"0..{k - 1} in label_order, sum over k of |CDF_human(k) - CDF_model(k)|"
        )
    return conventions | {
        "dcorr": f"distance correlation (V-statistic) between the N x {k} human and model matrices",
        "entropy": f"Shannon entropy, natural log (max ln {k} = {math.log(k):.4f})",
        "classification": f"model argmax vs human majority (argmax; ties go to the earlier "
        f"label {ties})",
        "ci": "95% percentile bootstrap over items, seeded",
        "entropy_bins": "human-entropy bins with edges "
        + ", ".join(f"{e:.4f}" for e in entropy_bin_edges(k)),
    }


#: the conventions of an NLI report (entailment, neutral, contradiction; nominal)
CONVENTIONS = report_conventions(LABEL_NAMES)


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


class Headline(msgspec.Struct, frozen=True, omit_defaults=True):
    """KL, JS distance, TVD and D.Corr: the four headline numbers of the paper's tables (all
    None for a training without a dev report), then LeWiDi 2025's Manhattan distance and, for
    an ordinal task, its Wasserstein distance (None where not computed, as in rows stored
    before they were). A None is left out of the stored JSON, so a row of the paper's four
    stores as before."""

    kl: float | None = None
    jsd: float | None = None
    tvd: float | None = None
    dcorr: float | None = None
    manhattan: float | None = None
    wasserstein: float | None = None

    def values(self) -> tuple[float | None, ...]:
        """The paper's four, in its tables' order (PAPER_COLUMNS)."""
        return tuple(getattr(self, name) for name in PAPER_COLUMNS)

    def as_dict(self) -> dict[str, float | None]:
        """Every field by name, None included."""
        return msgspec.structs.asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricReport:
    """``manhattan`` is None only in a report stored before it was computed; ``wasserstein``
    is None unless the labels are an ordered scale (``evaluate(..., ordinal=True)``)."""

    n: int
    kl: Estimate
    jsd: Estimate
    tvd: Estimate
    manhattan: Estimate | None = None
    wasserstein: Estimate | None = None
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
        def mean(e: Estimate | None) -> float | None:
            return None if e is None else e.mean

        return Headline(
            self.kl.mean,
            self.jsd.mean,
            self.tvd.mean,
            self.dcorr.value,
            manhattan=mean(self.manhattan),
            wasserstein=mean(self.wasserstein),
        )

    def to_table(self) -> str:
        """A plain-text report for terminals."""

        def row(name: str, value: float, note: str = "") -> str:
            return f"  {name:<22}{value:>9.4f}  {note}".rstrip()

        def ci(e: Estimate) -> str:
            return "" if math.isnan(e.low) else f"95% CI [{e.low:.4f}, {e.high:.4f}]"

        lewidi = [
            row(name, e.mean, ci(e))
            for name, e in (("Manhattan", self.manhattan), ("Wasserstein", self.wasserstein))
            if e is not None
        ]
        lines = [
            f"items: {self.n}",
            row("KL(human || model)", self.kl.mean, ci(self.kl)),
            row("JS distance", self.jsd.mean, ci(self.jsd)),
            row("TVD", self.tvd.mean, ci(self.tvd)),
            *lewidi,
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
