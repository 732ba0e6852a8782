"""How much labelers agree on page 9: the label distribution per completion, pairwise agreement and Fleiss' kappa.

Every labeler gives each completion one category: its rank (1, 2, …) or "F". Fleiss' kappa compares the observed
agreement per completion with the agreement expected by chance from how often each category is used overall:
1 is perfect agreement, 0 is chance, below 0 is worse than chance. Pairwise agreement is plainer: for every two
labelers and every two completions, do they prefer the same one (or both see no preference)?
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

from core.labs.rlhf.pairs import FAIL


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa of an items × categories table of rater counts (every item rated by the same number of raters).

    NaN when it is undefined: fewer than two raters, or every rating in one category."""
    rows = [list(r) for r in counts if sum(r)]
    if not rows:
        return float("nan")
    n = sum(rows[0])
    if n < 2 or any(sum(r) != n for r in rows):
        return float("nan")
    items = len(rows)
    p_item = [(sum(c * c for c in r) - n) / (n * (n - 1)) for r in rows]
    p_bar = sum(p_item) / items
    shares = [sum(r[j] for r in rows) / (items * n) for j in range(len(rows[0]))]
    p_expected = sum(p * p for p in shares)
    if p_expected >= 1:
        return float("nan")
    return (p_bar - p_expected) / (1 - p_expected)


def categories(n_items: int) -> list[object]:
    return [*range(1, n_items + 1), FAIL]


def distribution(rankings: Sequence[Mapping[str, object]], items: Sequence[str]) -> list[list[int]]:
    """items × categories (ranks 1..N, then F): how many labelers put each completion in each category."""
    cats = categories(len(items))
    return [[sum(1 for r in rankings if r.get(item) == c) for c in cats] for item in items]


def _preference(ranking: Mapping[str, object], a: str, b: str) -> int:
    """+1 when a is preferred, -1 when b is, 0 for no preference (a tie, or both failed)."""
    ra, rb = ranking[a], ranking[b]
    if ra == FAIL and rb == FAIL:
        return 0
    if ra == FAIL:
        return -1
    if rb == FAIL:
        return 1
    return (ra < rb) - (ra > rb)


def pairwise_agreement(rankings: Sequence[Mapping[str, object]], items: Sequence[str]) -> float:
    """Share of (two labelers, two completions) where both labelers give the same preference; NaN for one labeler."""
    same = total = 0
    for x, y in combinations(rankings, 2):
        for a, b in combinations(items, 2):
            same += _preference(x, a, b) == _preference(y, a, b)
            total += 1
    return same / total if total else float("nan")
