"""Page 9's reward model: MiniLM reads prompt + reply (frozen), one linear layer on its sentence vector gives a
score, and pairs of replies train that layer with the Bradley–Terry loss −log σ(r_j − r_k) (Stiennon et al. 2020).

Freezing the encoder keeps training to a second on a CPU: the vectors of the shipped pairs are computed once (the
encoder is the app's shared MiniLM) and only 385 numbers learn. The page states the price: the reward model can only
prefer what MiniLM's sentence vectors already separate, and it judges the words, not whether an answer is true.

Shipped data (lessons/data/rlhf/preferences.jsonl, written for this app): 240 pairs along three axes — helpful vs
unhelpful, polite vs rude, succinct vs rambling — 180 to train and 60 to test.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

DATA = Path(__file__).resolve().parents[3] / "lessons" / "data" / "rlhf"
AXES = ("helpful", "polite", "succinct")
MAX_TEXT_CHARS = 2_000


class RewardError(ValueError):
    """Settings or text the reward model cannot use; the message is one sentence for the learner."""


@dataclass(frozen=True)
class PreferencePair:
    prompt: str
    chosen: str
    rejected: str
    axis: str = "room"
    split: str = "train"


@lru_cache(maxsize=1)
def shipped_pairs() -> tuple[PreferencePair, ...]:
    with open(DATA / "preferences.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return tuple(PreferencePair(r["prompt"], r["chosen"], r["rejected"], r["axis"], r["split"]) for r in rows)


def text_of(prompt: str, reply: str) -> str:
    """What the reward model reads: the prompt, then the reply."""
    return f"Question: {prompt.strip()}\nAnswer: {reply.strip()}"


def check_text(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise RewardError("Type a text to score.")
    if len(text) > MAX_TEXT_CHARS:
        raise RewardError(f"The text has {len(text):,} characters; the reward model reads at most "
                          f"{MAX_TEXT_CHARS:,} (MiniLM itself stops after 256 tokens).")
    return text


def bradley_terry_loss(r_preferred: torch.Tensor, r_other: torch.Tensor) -> torch.Tensor:
    """Mean of −log σ(r_j − r_k): small when the preferred reply scores well above the other."""
    return -F.logsigmoid(r_preferred - r_other).mean()


@dataclass
class RewardModel:
    weight: np.ndarray           # (dim,)
    bias: float = 0.0

    def score(self, vectors: np.ndarray) -> np.ndarray:
        """The reward of each (n, dim) sentence vector."""
        return np.asarray(vectors, dtype=np.float32) @ self.weight + self.bias


@dataclass
class Training:
    model: RewardModel
    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    train_accuracy: float = 0.0
    test_accuracy: float = 0.0
    seconds: float = 0.0
    n_train: int = 0
    n_test: int = 0


def check_settings(epochs, lr) -> tuple[int, float]:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 2_000:
        raise RewardError("Training needs 1 to 2,000 epochs.")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= 10:
        raise RewardError("The learning rate must be a number above 0 and at most 10.")
    return epochs, float(lr)


def accuracy(model: RewardModel, preferred: np.ndarray, other: np.ndarray) -> float:
    """Share of pairs where the preferred reply gets the higher reward."""
    if len(preferred) == 0:
        return float("nan")
    return float(np.mean(model.score(preferred) > model.score(other)))


def train(train_preferred: np.ndarray, train_other: np.ndarray, test_preferred: np.ndarray, test_other: np.ndarray,
          *, epochs: int = 300, lr: float = 0.05, weight_decay: float = 1e-3, seed: int = 0) -> Training:
    """Fit w·v + b with Adam on the full batch of pairs (the vectors are the encoder's, computed once)."""
    epochs, lr = check_settings(epochs, lr)
    if len(train_preferred) == 0:
        raise RewardError("There are no training pairs.")
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    dim = train_preferred.shape[1]
    weight = (torch.randn(dim, generator=generator) * 0.01).requires_grad_(True)
    bias = torch.zeros((), requires_grad=True)
    a, b = torch.tensor(train_preferred, dtype=torch.float32), torch.tensor(train_other, dtype=torch.float32)
    ta, tb = torch.tensor(test_preferred, dtype=torch.float32), torch.tensor(test_other, dtype=torch.float32)
    optimizer = torch.optim.Adam([weight, bias], lr=lr, weight_decay=weight_decay)
    run = Training(RewardModel(np.zeros(dim, dtype=np.float32)), n_train=len(a), n_test=len(ta))
    for epoch in range(1, epochs + 1):
        loss = bradley_terry_loss(a @ weight + bias, b @ weight + bias)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch == 1 or epoch % 5 == 0 or epoch == epochs:
            run.epochs.append(epoch)
            run.train_loss.append(float(loss.detach()))
            if len(ta):
                with torch.no_grad():
                    run.test_loss.append(float(bradley_terry_loss(ta @ weight + bias, tb @ weight + bias)))
    run.model = RewardModel(weight.detach().numpy().astype(np.float32), float(bias.detach()))
    run.train_accuracy = accuracy(run.model, train_preferred, train_other)
    run.test_accuracy = accuracy(run.model, test_preferred, test_other) if len(ta) else float("nan")
    run.seconds = time.perf_counter() - started
    return run


def longer_wins(pairs: list[PreferencePair]) -> float:
    """A baseline with no model at all: the share of pairs where the preferred reply is the longer one (in words)."""
    if not pairs:
        return float("nan")
    return float(np.mean([len(p.chosen.split()) > len(p.rejected.split()) for p in pairs]))
