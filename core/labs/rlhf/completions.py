"""Completions sampled for RLHF labeling (page 9), once per prompt for the whole deployment: the app may run as
several replicas sharing one database, and two replicas sampling the same prompt on their own would give two
labelers of one room different answers to rank. The first replica to sample stores its answers (INSERT … ON CONFLICT
DO NOTHING); every replica, the first included, then uses the stored row."""
from __future__ import annotations

import hashlib
import json
import time

from core.storage.database import Database

Sample = tuple[str, float, int]          # (text, temperature, seed)


def _key(model: str, prompt: str, n: int, max_new_tokens: int) -> str:
    return hashlib.sha256(json.dumps([model, prompt, n, max_new_tokens]).encode("utf-8")).hexdigest()


class SampledCompletions:
    """The table sampled_completions: (model, prompt, n, max_new_tokens) → [(text, temperature, seed)]."""

    def __init__(self, db: Database):
        self.db = db

    def get(self, model: str, prompt: str, n: int, max_new_tokens: int) -> list[Sample] | None:
        """The stored samples, or None when none were stored yet."""
        rows = self.db.read("SELECT completions FROM sampled_completions WHERE key = ?",
                            (_key(model, prompt, n, max_new_tokens),))
        if not rows:
            return None
        return [(str(text), float(temperature), int(seed)) for text, temperature, seed in
                json.loads(rows[0]["completions"])]

    def keep(self, model: str, prompt: str, n: int, max_new_tokens: int, samples: list[Sample]) -> list[Sample]:
        """Store `samples` unless another replica stored this prompt's first; returns the stored ones (theirs or
        these), which every replica then shows."""
        with self.db.write() as conn:
            conn.execute("INSERT INTO sampled_completions (key, model, prompt, n, max_new_tokens, completions, "
                         "sampled_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                         (_key(model, prompt, n, max_new_tokens), model, prompt, n, max_new_tokens,
                          json.dumps([list(s) for s in samples]), time.time()))
        return self.get(model, prompt, n, max_new_tokens)
