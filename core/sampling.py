"""Sampling settings and the basic next-token choice used by generation.

The order is the usual one: temperature scales the logits, top-k keeps the k most likely
tokens, top-p keeps the smallest set whose probabilities add up to p, then one token is drawn.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

MAX_NEW_TOKENS_LIMIT = 1024  # generation is capped here so one request cannot hold the model for minutes


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.7      # 0 means greedy (always the most likely token); higher = flatter distribution
    top_k: int = 0                # keep only the k most likely tokens; 0 = no limit
    top_p: float = 1.0            # keep the smallest set of tokens with total probability >= p; 1.0 = no limit
    max_new_tokens: int = 128     # stop after this many generated tokens
    seed: int | None = None       # fixes the random draws so a run can be repeated

    def __post_init__(self):
        if not (0.0 <= self.temperature <= 5.0):
            raise ValueError(f"temperature must be in [0, 5], got {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if not (0.0 < self.top_p <= 1.0):
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if not (1 <= self.max_new_tokens <= MAX_NEW_TOKENS_LIMIT):
            raise ValueError(f"max_new_tokens must be in [1, {MAX_NEW_TOKENS_LIMIT}], got {self.max_new_tokens}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def sampling_distribution(logits: torch.Tensor, settings: SamplingSettings) -> torch.Tensor:
    """Probabilities the next token is drawn from.  logits: (vocab,) -> probs: (vocab,)"""
    if settings.greedy:
        probs = torch.zeros_like(logits, dtype=torch.float32)
        probs[logits.argmax()] = 1.0
        return probs
    scaled = logits.float() / settings.temperature
    if settings.top_k:
        kth = torch.topk(scaled, min(settings.top_k, scaled.numel())).values[-1]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    if settings.top_p < 1.0:
        sorted_p, order = torch.sort(probs, descending=True)
        # Drop a token when the tokens ranked above it already reach top_p.
        drop_sorted = (sorted_p.cumsum(-1) - sorted_p) >= settings.top_p
        probs = probs.masked_fill(drop_sorted.scatter(0, order, drop_sorted), 0.0)
        probs = probs / probs.sum()
    return probs


def choose_token(probs: torch.Tensor, generator: torch.Generator | None) -> int:
    """Draw one token id from `probs` (vocab,)."""
    return int(torch.multinomial(probs, 1, generator=generator).item())
