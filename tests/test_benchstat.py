"""benchstat.py: the Mann-Whitney U test and benchstat's words, checked against enumeration."""

from __future__ import annotations

import itertools
import random

import pytest

from gorun_kernel.gotest.benchstat import compare, mann_whitney_p, min_p


def enumerated_p(x: list[float], y: list[float]) -> float:
    """The two-sided exact p-value by brute force: every split of the pooled samples,
    tied values ranked by their mid-rank."""
    pooled = x + y

    def rank(v: float) -> float:
        return sum(w < v for w in pooled) + (sum(w == v for w in pooled) + 1) / 2

    observed = sum(rank(v) for v in x)
    sums = [
        sum(rank(pooled[i]) for i in c) for c in itertools.combinations(range(len(pooled)), len(x))
    ]
    low = sum(s <= observed for s in sums) / len(sums)
    high = sum(s >= observed for s in sums) / len(sums)
    return min(1.0, 2 * min(low, high))


@pytest.mark.parametrize("seed", range(16))
def test_exact_p_matches_enumeration_with_and_without_ties(seed):
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    m, n = rng.randint(1, 7), rng.randint(1, 7)
    if seed % 2:
        values = [float(v) for v in rng.sample(range(1000), m + n)]
    else:
        values = [float(rng.randrange(5)) for _ in range(m + n)]  # many ties
    x, y = values[:m], values[m:]
    assert mann_whitney_p(x, y) == pytest.approx(enumerated_p(x, y))


def test_separated_samples_and_the_smallest_p_they_can_give():
    assert mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    assert min_p(5, 5) == pytest.approx(2 / 252)
    assert min_p(3, 3) == pytest.approx(0.1)  # 3+3 samples can never reach p < 0.05
    assert mann_whitney_p([0, 0, 0], [0, 0, 0]) == 1.0  # all tied: nothing to tell apart


def test_large_samples_use_the_normal_approximation():
    x = [10.0] * 10 + [11.0] * 10
    y = [12.0] * 10 + [13.0] * 10
    assert mann_whitney_p(x, y) < 1e-6
    assert mann_whitney_p(x, list(x)) == pytest.approx(1.0)


def test_benchstats_words():
    faster = compare("ns/op", [100, 101, 102, 103, 104], [50, 51, 52, 53, 54])
    assert faster.words() == "-49.02% (p=0.008 n=5)"
    same = compare("ns/op", [1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 4.5])
    assert same.words().startswith("~ (p=") and same.words().endswith(" n=4)")
    few = compare("ns/op", [10.0, 11.0, 12.0], [1.0, 2.0, 3.0])
    assert few.words() == "~ (p=0.100 n=3): too few samples to tell, run with -count 4"
    allocs = compare("allocs/op", [0.0] * 5, [1.0] * 5)
    assert allocs.words() == "0 -> 1 (p=0.008 n=5)"  # as benchstat says it
    assert (
        compare("ns/op", [1.0, 2.0], [3.0, 4.0, 5.0])
        .words()
        .endswith("n=2+3): too few samples to tell, run with -count 4")
    )
