"""The sampling pipeline: how the model's scores for the next token become one chosen token.

Each knob is a small processor that takes the logits (vocab,) and the token history and returns
new logits; none changes its input. They always run in this fixed order (the order of
transformers' `generate`: penalties first, then the warpers):

    1. repetition penalty   (transformers semantics: prompt and generated tokens, divide/multiply)
    2. frequency + presence (OpenAI semantics: generated tokens only, subtract count*f + p)
    3. temperature          (divide every logit; 0 means greedy: keep only the top token)
    4. top-k                (keep the k highest logits)
    5. top-p                (keep the smallest set of top tokens whose probabilities reach p)
    6. softmax, then draw one token

A removed token gets the logit -inf, so its probability after the softmax is exactly 0.
torch is imported where the numbers are computed, not at the top: a page builds `SamplingSettings` from its
sliders before any model library has loaded (tests/test_layering.py checks that no view imports torch).
Generation uses `sampling_distribution()`; the sampling lab's step-by-step trace
(`core/labs/inference_configuration/knobs.py`) runs the very same processors.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

MAX_NEW_TOKENS_LIMIT = 1024  # generation is capped here so one request cannot hold the model for minutes
MAX_STOP_SEQUENCES = 4       # as in the OpenAI API
MAX_STOP_CHARS = 64          # a stop sequence longer than this is refused


def _number(name: str, value, low: float, high: float, *, low_open: bool = False) -> float:
    """Check that `value` is a finite number in [low, high] (or (low, high] when low_open)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value > high or value < low or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low}, {high}], got {value}")
    return float(value)


# ---- processors -------------------------------------------------------------------------
class RepetitionPenalty:
    """Make every token already seen (prompt or generated) less likely: divide a positive logit by the
    penalty, multiply a negative one (Keskar et al. 2019, as in transformers). 1.0 = off, < 1 encourages."""
    name = "repetition penalty"

    def __init__(self, penalty: float):
        self.penalty = _number("repetition_penalty", penalty, 0.0, 10.0, low_open=True)

    def __call__(self, logits: torch.Tensor, seen: Sequence[int], generated: Sequence[int]) -> torch.Tensor:
        import torch
        if self.penalty == 1.0 or not len(seen):
            return logits
        ids = torch.tensor(sorted(set(int(i) for i in seen)), dtype=torch.long)   # (n_unique,)
        old = logits[ids]
        new = torch.where(old < 0, old * self.penalty, old / self.penalty)
        return logits.index_copy(0, ids, new)


class FrequencyPresencePenalty:
    """OpenAI-style: logit -= count * frequency + (count > 0) * presence, counting generated tokens only."""
    name = "frequency & presence penalties"

    def __init__(self, frequency: float, presence: float):
        self.frequency = _number("frequency_penalty", frequency, -2.0, 2.0)
        self.presence = _number("presence_penalty", presence, -2.0, 2.0)

    def __call__(self, logits: torch.Tensor, seen: Sequence[int], generated: Sequence[int]) -> torch.Tensor:
        import torch
        if (self.frequency == 0 and self.presence == 0) or not len(generated):
            return logits
        counts = Counter(int(i) for i in generated)
        ids = torch.tensor(list(counts), dtype=torch.long)                       # (n_unique,)
        c = torch.tensor([counts[i] for i in counts], dtype=logits.dtype)       # (n_unique,)
        return logits.index_copy(0, ids, logits[ids] - c * self.frequency - self.presence)


class Temperature:
    """Divide the logits by the temperature: < 1 sharpens, > 1 flattens. 0 = greedy (only the top token)."""
    name = "temperature"

    def __init__(self, temperature: float):
        self.temperature = _number("temperature", temperature, 0.0, 5.0)

    def __call__(self, logits: torch.Tensor, seen: Sequence[int] = (), generated: Sequence[int] = ()) -> torch.Tensor:
        import torch
        if self.temperature == 0.0:
            keep = torch.zeros_like(logits, dtype=torch.bool)
            keep[logits.argmax()] = True                     # the single most likely token survives
            return logits.masked_fill(~keep, float("-inf"))
        return logits / self.temperature


class TopK:
    """Keep the k highest logits (ties with the k-th are kept too, as in transformers). 0 = off."""
    name = "top-k"

    def __init__(self, k: int):
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"top_k must be an integer >= 0, got {k!r}")
        self.k = k

    def __call__(self, logits: torch.Tensor, seen: Sequence[int] = (), generated: Sequence[int] = ()) -> torch.Tensor:
        import torch
        if self.k == 0 or self.k >= logits.numel():
            return logits
        kth = torch.topk(logits, self.k).values[-1]          # the k-th highest logit
        return logits.masked_fill(logits < kth, float("-inf"))


class TopP:
    """Nucleus sampling: keep the most likely tokens until their probabilities add up to p.
    1.0 = off; 0 keeps just the top token (transformers keeps at least one token, and so do we)."""
    name = "top-p"

    HEADS = (256, 4096)   # look among this many top tokens first: sorting all 49,152 takes ~4 ms, these ~0.2 ms

    def __init__(self, p: float):
        self.p = _number("top_p", p, 0.0, 1.0)

    def __call__(self, logits: torch.Tensor, seen: Sequence[int] = (), generated: Sequence[int] = ()) -> torch.Tensor:
        import torch
        if self.p >= 1.0:
            return logits
        probs = torch.softmax(logits, dim=-1)                                 # (vocab,)
        # The nucleus usually lies among the first few hundred tokens. When the top k tokens already add up to p,
        # every token ranked below them is dropped anyway, so only those k need sorting; the answer is the same.
        for k in self.HEADS:
            if k >= probs.numel():
                break
            top, order = torch.topk(probs, k)                                 # (k,), sorted, most likely first
            if float(top.sum()) >= self.p:
                keep = order[~self._drop_sorted(top)]
                return torch.full_like(logits, float("-inf")).index_copy(0, keep, logits[keep])
        top, order = torch.sort(probs, descending=True)                        # (vocab,)
        drop_sorted = self._drop_sorted(top)
        return logits.masked_fill(drop_sorted.scatter(0, order, drop_sorted), float("-inf"))

    def _drop_sorted(self, top: torch.Tensor) -> torch.Tensor:
        """Over probabilities sorted most likely first: drop a token when the tokens ranked above it already reach
        p; the top token always stays."""
        above = top.cumsum(-1) - top
        drop = above >= self.p
        drop[0] = False
        return drop


# ---- stop sequences ---------------------------------------------------------------------
class StopSequences:
    """Text that ends generation as soon as it appears; the text from the hit on is not returned."""

    def __init__(self, sequences: Sequence[str] = ()):
        if isinstance(sequences, str):
            sequences = (sequences,)
        seqs = tuple(sequences)
        if not all(isinstance(s, str) for s in seqs):
            raise ValueError("stop sequences must be strings")
        if any(s == "" for s in seqs):
            raise ValueError("a stop sequence cannot be empty")
        if len(seqs) > MAX_STOP_SEQUENCES:
            raise ValueError(f"at most {MAX_STOP_SEQUENCES} stop sequences, got {len(seqs)}")
        if any(len(s) > MAX_STOP_CHARS for s in seqs):
            raise ValueError(f"a stop sequence can have at most {MAX_STOP_CHARS} characters")
        self.sequences = seqs

    def find(self, text: str, start: int = 0) -> tuple[int, str] | None:
        """The earliest hit at or after `start`: (character index, sequence), or None."""
        hits = [(i, s) for s in self.sequences if (i := text.find(s, start)) >= 0]
        return min(hits) if hits else None

    def pending(self, text: str) -> int:
        """How many characters at the end of `text` could be the start of a stop sequence (hold them back)."""
        best = 0
        for s in self.sequences:
            for n in range(min(len(s) - 1, len(text)), 0, -1):
                if text.endswith(s[:n]):
                    best = max(best, n)
                    break
        return best


# ---- settings ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.7         # 0 means greedy (always the most likely token); higher = flatter distribution
    top_k: int = 0                   # keep only the k most likely tokens; 0 = no limit
    top_p: float = 1.0               # keep the smallest set of tokens with total probability >= p; 1.0 = no limit
    max_new_tokens: int = 128        # stop after this many generated tokens
    seed: int | None = None          # fixes the random draws so a run can be repeated
    repetition_penalty: float = 1.0  # transformers-style, on prompt + generated tokens; 1.0 = off
    frequency_penalty: float = 0.0   # OpenAI-style, per repeat of a generated token; 0 = off, range [-2, 2]
    presence_penalty: float = 0.0    # OpenAI-style, once per generated token already used; 0 = off, range [-2, 2]
    stop_sequences: tuple[str, ...] = ()  # generation ends where one of these appears (not included in the text)

    def __post_init__(self):
        if isinstance(self.stop_sequences, (list, str)):
            object.__setattr__(self, "stop_sequences", tuple([self.stop_sequences] if isinstance(
                self.stop_sequences, str) else self.stop_sequences))
        if (isinstance(self.max_new_tokens, bool) or not isinstance(self.max_new_tokens, int)
                or not (1 <= self.max_new_tokens <= MAX_NEW_TOKENS_LIMIT)):
            raise ValueError(f"max_new_tokens must be in [1, {MAX_NEW_TOKENS_LIMIT}], got {self.max_new_tokens}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got {self.seed!r}")
        self.processors()                 # each processor validates its own argument
        StopSequences(self.stop_sequences)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def processors(self) -> list:
        """The logits processors in their fixed order."""
        return [RepetitionPenalty(self.repetition_penalty),
                FrequencyPresencePenalty(self.frequency_penalty, self.presence_penalty),
                Temperature(self.temperature), TopK(self.top_k), TopP(self.top_p)]


def process_logits(logits: torch.Tensor, settings: SamplingSettings, seen: Sequence[int] = (),
                   generated: Sequence[int] = ()) -> torch.Tensor:
    """Run every processor in order.  logits: (vocab,) -> (vocab,), removed tokens at -inf."""
    out = logits.float()
    for processor in settings.processors():
        out = processor(out, seen, generated)
    return out


def sampling_distribution(logits: torch.Tensor, settings: SamplingSettings, seen: Sequence[int] = (),
                          generated: Sequence[int] = ()) -> torch.Tensor:
    """Probabilities the next token is drawn from.  logits: (vocab,) -> probs: (vocab,)"""
    import torch
    return torch.softmax(process_logits(logits, settings, seen, generated), dim=-1)


def choose_token(probs: torch.Tensor, generator: torch.Generator | None) -> int:
    """Draw one token id from `probs` (vocab,): one uniform number u, and the first token whose cumulative
    probability exceeds u (inverse transform sampling). A token of probability 0 is never drawn. The same generator
    state gives the same token. (`torch.multinomial` draws one random number per token, 1.3 ms over 49,152 tokens
    on this CPU; this takes ~0.1 ms.)"""
    import torch
    cumulative = probs.double().cumsum(0)                                         # (vocab,)
    u = torch.rand((), dtype=torch.float64, generator=generator) * cumulative[-1]
    return min(int(torch.searchsorted(cumulative, u, right=True)), probs.numel() - 1)
