"""Stand-ins for the model's forward pass, so page tests of the widgets around it need no model weights.

The real ModelService still runs (registry, tokenizer, chat template); only what would load or run the
weights is replaced, with pytest's monkeypatch (AppTest runs the page in this process, so it sees the patches)."""
from __future__ import annotations

import numpy as np

from core.serving.generation import GeneratedToken, GenerationResult


class FakeStream:
    """What ModelService.generate returns: iterate for tokens, then `result`; `collect()` does both."""

    def __init__(self, text: str, max_new_tokens: int, stop_reason: str = "max_new_tokens"):
        self.result = GenerationResult(prompt_tokens=12, max_new_tokens=max_new_tokens)
        self._tokens = [GeneratedToken(id=100 + i, text=word, prob=0.5, rank=1, model_prob=0.5)
                        for i, word in enumerate(text.split(" "))][:max(max_new_tokens, 1)]
        self._stop_reason = stop_reason
        self.ahead = 0                   # nobody else is queued in a page test

    def __iter__(self):
        for token in self._tokens:
            self.result.tokens.append(token)
            yield token
        self.result.stop_reason, self.result.seconds = self._stop_reason, 0.01

    def collect(self) -> GenerationResult:
        for _ in self:
            pass
        return self.result


def fake_generation(monkeypatch, answer=lambda messages: "Positive") -> list:
    """Replace ModelService.generate (answer: messages -> text); returns the list of messages it was asked."""
    from core.serving.model_service import ModelService

    calls = []

    def generate(self, messages, settings=None, model=None, prefill="", owner=None, replace=True):
        calls.append(messages)
        return FakeStream(answer(messages), settings.max_new_tokens if settings else 8)

    monkeypatch.setattr(ModelService, "generate", generate)
    return calls


def decoder_always_ready(monkeypatch, *views) -> None:
    """`ensure_decoder` in these view modules answers True without loading weights."""
    for view in views:
        monkeypatch.setattr(view, "ensure_decoder", lambda service, model: True)


def flat_next_token_logits(monkeypatch) -> None:
    """The sampling lab's cached forward pass: equal scores for every token of the vocabulary."""
    from components.common import cache as app_cache
    from components.labs.inference_configuration import cache

    def logits(ids, model):
        return np.zeros(len(app_cache.model_service().tokenizer(model)), dtype=np.float32)

    monkeypatch.setattr(cache, "next_token_logits", logits)
