"""Simple statistics per attention head, to find the interesting ones among hundreds of maps.

Every function takes the weights of one input, shaped (layers, heads, seq, seq), where row i of a map
holds how much token i attends to every token (each row sums to 1), and returns a (layers, heads) grid.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def _check(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 4 or w.shape[2] != w.shape[3]:
        raise ValueError(f"attention weights must be (layers, heads, seq, seq), got shape {w.shape}")
    if w.shape[2] == 0:
        raise ValueError("attention weights have no tokens")
    if not np.all(np.isfinite(w)):
        raise ValueError("attention weights contain NaN or infinite values")
    return w


def mean_entropy(weights) -> np.ndarray:
    """Average spread of each row, in bits: 0 = all weight on one token, log2(n) = spread evenly over n."""
    w = _check(weights)
    p = np.clip(w, 0.0, 1.0)
    logs = np.log2(p, out=np.zeros_like(p), where=p > 0)           # 0·log 0 counts as 0
    return -(p * logs).sum(-1).mean(-1)                              # (layers, heads)


def _rows_from_second(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mean over query rows 1..n-1 (row 0 has no previous token, and in a decoder it can only see itself)."""
    if w.shape[2] < 2:
        return np.full(w.shape[:2], np.nan)
    return values[..., 1:].mean(-1)


def to_previous(weights) -> np.ndarray:
    """Average weight each token gives to the token just before it."""
    w = _check(weights)
    seq = w.shape[2]
    if seq < 2:
        return np.full(w.shape[:2], np.nan)
    return w[..., np.arange(1, seq), np.arange(0, seq - 1)].mean(-1)   # (layers, heads, seq-1) -> (layers, heads)


def to_first(weights) -> np.ndarray:
    """Average weight each token (after the first) gives to the first token — often a 'resting place'."""
    w = _check(weights)
    return _rows_from_second(w, w[..., :, 0])


def to_self(weights) -> np.ndarray:
    """Average weight each token gives to itself (the diagonal)."""
    w = _check(weights)
    return np.diagonal(w, axis1=2, axis2=3).mean(-1)                # (layers, heads)


@dataclass(frozen=True)
class Statistic:
    label: str
    unit: str
    explain: str
    compute: Callable[[np.ndarray], np.ndarray]


STATISTICS: dict[str, Statistic] = {
    "entropy": Statistic("Mean entropy", "bits",
                         "How spread out each token's attention is. Low: the head focuses on one token. "
                         "High: it spreads its attention over many.", mean_entropy),
    "previous": Statistic("Attention to the previous token", "weight",
                          "How much each token looks at the token right before it. High values mark "
                          "'previous-token heads'.", to_previous),
    "first": Statistic("Attention to the first token", "weight",
                       "How much each token looks at the very first token. Many heads park their attention "
                       "there when nothing else is relevant.", to_first),
    "self": Statistic("Attention to itself", "weight",
                      "How much each token looks at itself (the diagonal of the map).", to_self),
}


def head_grid(weights, statistic: str) -> np.ndarray:
    """The chosen statistic for every head. -> (layers, heads)"""
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}; choose one of {', '.join(STATISTICS)}")
    return STATISTICS[statistic].compute(weights)


def strongest_head(grid: np.ndarray, lowest: bool = False) -> tuple[int, int]:
    """(layer, head) with the highest value of the grid (or the lowest), NaN ignored."""
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 2 or g.size == 0 or np.all(np.isnan(g)):
        raise ValueError("the grid has no values")
    flat = np.nanargmin(g) if lowest else np.nanargmax(g)
    layer, head = np.unravel_index(flat, g.shape)
    return int(layer), int(head)
