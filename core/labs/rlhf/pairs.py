"""Page 9: a labeler's ranking of N completions becomes pairwise training data for a reward model.

A ranking gives each completion a rank (1 = best; equal ranks are ties) or marks it "F" (fail). The deck's recipe:
N ranked completions give N(N−1)/2 pairs, each ordered so that `y_j` (first) is the preferred one. Ties and fails
are handled as documented on the page:
- two completions with the same rank teach no preference, so they give no pair (a tie removes one pair);
- a failed completion loses to every ranked one, and two failed ones give no pair.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FAIL = "F"


class RankingError(ValueError):
    """A ranking that cannot become pairs; the message is one sentence for the labeler."""


@dataclass(frozen=True)
class Pair:
    preferred: str       # y_j
    other: str           # y_k
    reason: str          # "ranked higher" or "the other failed"


def check(ranking: Mapping[str, object], items: list[str]) -> dict[str, object]:
    """The ranking if every item has a whole rank from 1 to N or "F"; RankingError names what is wrong."""
    missing = [i for i in items if ranking.get(i) in (None, "")]
    if missing:
        raise RankingError(f"Rank every completion or mark it F: {', '.join(missing)} has no rank yet.")
    extra = [k for k in ranking if k not in items]
    if extra:
        raise RankingError(f"{extra[0]} is not one of the completions.")
    n = len(items)
    out: dict[str, object] = {}
    for item in items:
        value = ranking[item]
        if value == FAIL:
            out[item] = FAIL
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= n:
            raise RankingError(f"{item}'s rank must be a whole number from 1 to {n}, or F.")
        out[item] = value
    return out


def to_pairs(ranking: Mapping[str, object], items: list[str]) -> list[Pair]:
    """Every pair with a preference, the preferred one first, ordered by the preferred one's rank."""
    ranks = check(ranking, items)
    ranked = sorted((i for i in items if ranks[i] != FAIL), key=lambda i: (ranks[i], items.index(i)))
    failed = [i for i in items if ranks[i] == FAIL]
    pairs = []
    for a_index, a in enumerate(ranked):
        for b in ranked[a_index + 1:]:
            if ranks[a] < ranks[b]:
                pairs.append(Pair(a, b, "ranked higher"))
        pairs.extend(Pair(a, f, "the other failed") for f in failed)
    return pairs


def ties(ranking: Mapping[str, object], items: list[str]) -> int:
    """How many pairs of ranked completions share a rank (each is a pair the ranking does not give)."""
    ranks = check(ranking, items)
    ranked = [ranks[i] for i in items if ranks[i] != FAIL]
    return sum(1 for i in range(len(ranked)) for j in range(i + 1, len(ranked)) if ranked[i] == ranked[j])
