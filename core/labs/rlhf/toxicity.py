"""Page 9's toxicity score, the deck's way to evaluate an aligned model: a small classifier over MiniLM sentence
vectors (logistic regression, trained in well under a second) on 160 labelled sentences written for this app
(lessons/data/rlhf/toxicity.jsonl, 120 train / 40 test). Its limits are the page's to state: it knows rudeness
aimed at the reader in everyday English, from 120 examples; sarcasm, other languages and subtle harm are beyond it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from core.labs.rlhf.reward import DATA


@dataclass(frozen=True)
class Sentence:
    text: str
    toxic: bool
    split: str


@lru_cache(maxsize=1)
def sentences() -> tuple[Sentence, ...]:
    with open(DATA / "toxicity.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return tuple(Sentence(r["text"], bool(r["toxic"]), r["split"]) for r in rows)


@dataclass(frozen=True)
class Classifier:
    weight: np.ndarray
    bias: float
    train_accuracy: float
    test_accuracy: float

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        """P(toxic) for each (n, dim) sentence vector."""
        logits = np.asarray(vectors, dtype=np.float32) @ self.weight + self.bias
        return 1 / (1 + np.exp(-logits))


def train(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, *, epochs: int = 300,
          lr: float = 0.1, weight_decay: float = 1e-3, seed: int = 0) -> Classifier:
    """Logistic regression with Adam on the full batch (binary cross-entropy)."""
    generator = torch.Generator().manual_seed(seed)
    x, y = torch.tensor(train_x, dtype=torch.float32), torch.tensor(train_y, dtype=torch.float32)
    weight = (torch.randn(x.shape[1], generator=generator) * 0.01).requires_grad_(True)
    bias = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=lr, weight_decay=weight_decay)
    for _ in range(epochs):
        loss = F.binary_cross_entropy_with_logits(x @ weight + bias, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    w, b = weight.detach().numpy().astype(np.float32), float(bias.detach())
    partial = Classifier(w, b, 0.0, 0.0)

    def accuracy(vx, vy) -> float:
        return float(np.mean((partial.probability(vx) > 0.5) == np.asarray(vy, dtype=bool))) if len(vy) else 0.0
    return Classifier(w, b, accuracy(train_x, train_y), accuracy(test_x, test_y))
