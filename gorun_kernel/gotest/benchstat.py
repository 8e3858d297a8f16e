"""Before and after: a benchmark run again in a session, compared as benchstat compares it.

benchstat (golang.org/x/perf) summarises each side by its median and calls a
change significant when a Mann-Whitney U test gives p < 0.05; otherwise it
writes `~`. It needs several samples per side (`-count`): with 3 and 3 no
arrangement of the samples can reach p < 0.05, and it says so. Same here, in
the same words: `-12.34% (p=0.008 n=5+5)`, `~ (p=0.421 n=5+5)`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

ALPHA = 0.05
_EXACT_UP_TO = 30  # samples in all, for the exact test


@dataclass(frozen=True)
class Comparison:
    unit: str  # "ns/op", "B/op", "allocs/op", or a custom metric's unit
    before: float  # median of the earlier run
    after: float  # median of this run
    p: float  # two-sided Mann-Whitney U p-value
    n: tuple[int, int]  # samples before, after

    @property
    def delta(self) -> float:
        """The change as a fraction of the earlier median (0 when both are 0)."""
        if self.before == 0:
            return 0.0 if self.after == 0 else math.inf
        return (self.after - self.before) / self.before

    @property
    def significant(self) -> bool:
        return self.p < ALPHA

    @property
    def too_few(self) -> bool:
        """No arrangement of this many samples could be significant."""
        return min_p(*self.n) >= ALPHA

    def words(self) -> str:
        n = f"n={self.n[0]}" if self.n[0] == self.n[1] else f"n={self.n[0]}+{self.n[1]}"
        if not self.significant:
            text = f"~ (p={self.p:.3f} {n})"
            if self.too_few:
                text += f": too few samples to tell, run with -count {_enough(*self.n)}"
            return text
        change = f"{self.delta:+.2%}" if self.before else f"{self.before:g} -> {self.after:g}"
        return f"{change} (p={self.p:.3f} {n})"


def compare(unit: str, before: list[float], after: list[float]) -> Comparison:
    return Comparison(
        unit,
        statistics.median(before),
        statistics.median(after),
        mann_whitney_p(before, after),
        (len(before), len(after)),
    )


def min_p(m: int, n: int) -> float:
    """The smallest two-sided p-value samples of m and n can give (one side all below)."""
    return min(1.0, 2 / math.comb(m + n, m))


def _enough(m: int, n: int) -> int:
    k = max(m, n)
    while min_p(k, k) >= ALPHA:
        k += 1
    return k


def mann_whitney_p(x: list[float], y: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test.

    Exact (the permutation distribution of x's rank sum, ties given their
    mid-ranks, as benchstat computes it) for up to 30 samples in all; the
    normal approximation with tie and continuity corrections beyond.
    """
    m, n = len(x), len(y)
    if not m or not n:
        return 1.0
    pooled = sorted([(v, 0) for v in x] + [(v, 1) for v in y])
    ranks2: list[int] = []  # twice the mid-ranks: whole numbers
    ties: list[int] = []
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        ranks2.extend([i + j + 2] * (j - i + 1))
        ties.append(j - i + 1)
        i = j + 1
    observed2 = sum(r for r, (_, side) in zip(ranks2, pooled, strict=True) if side == 0)
    if m + n <= _EXACT_UP_TO:
        return _exact_p(ranks2, m, observed2)
    u = observed2 / 2 - m * (m + 1) / 2
    mean = m * n / 2
    tie_term = sum(t**3 - t for t in ties) / ((m + n) * (m + n - 1))
    var = m * n / 12 * ((m + n + 1) - tie_term)
    if var <= 0:
        return 1.0  # every value the same: nothing to tell apart
    z = max(abs(u - mean) - 0.5, 0) / math.sqrt(var)
    return min(1.0, math.erfc(z / math.sqrt(2)))


def _exact_p(ranks2: list[int], m: int, observed2: int) -> float:
    """P-value of x's (doubled) rank sum among all ways to pick m of the pooled ranks."""
    counts: list[dict[int, int]] = [{0: 1}] + [{} for _ in range(m)]
    for r in ranks2:
        for k in range(m, 0, -1):
            row = counts[k]
            for total, ways in counts[k - 1].items():
                row[total + r] = row.get(total + r, 0) + ways
    dist = counts[m]
    low = sum(w for total, w in dist.items() if total <= observed2)
    high = sum(w for total, w in dist.items() if total >= observed2)
    return min(1.0, 2 * min(low, high) / sum(dist.values()))
