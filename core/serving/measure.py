"""Measuring a model: its size, a timed forward pass, how far two models' next-token distributions agree, a timed
greedy continuation, and whether the machine has room for another copy.

Shared by every lab that builds a private copy of the decoder and compares it with the original (quantization,
pruning, distillation, fast kernels, training): each measures on the same fixed paragraph, `FIXED_TEXT`.
"""
from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import psutil
import torch

from core.serving.generation import greedy_continue

# A fixed English paragraph (written for this app) on which every copy of the model is compared with the original.
FIXED_TEXT = (
    "The river rises in the hills to the north and flows slowly through farmland before it reaches the city. "
    "In spring the water is high and brown with mud, and the old stone bridge is sometimes closed to traffic. "
    "Most people in the town work in small shops, at the hospital or at the school, and many of them cycle "
    "to work along the path beside the river. On Saturday mornings there is a market in the main square, "
    "where farmers sell bread, cheese, apples and fresh vegetables."
)


class MemoryShortError(RuntimeError):
    """Not enough free memory to make another copy of the model (message meant for the learner)."""


def model_bytes(model: torch.nn.Module) -> int:
    """Bytes of the parameters, a tied weight counted once (buffers such as rotary frequencies left out)."""
    seen, total = set(), 0
    for t in model.parameters():
        if t.data_ptr() in seen:
            continue
        seen.add(t.data_ptr())
        total += t.numel() * t.element_size()
    return total


def check_free_memory(needed_bytes: int, device: torch.device | str = "cpu", available: int | None = None) -> None:
    """MemoryShortError when fewer than needed_bytes (+ 500 MB headroom) are free on the machine or GPU."""
    headroom = 500 * 2 ** 20
    if available is None:
        available = psutil.virtual_memory().available
    if available < needed_bytes + headroom:
        raise MemoryShortError(
            f"Not enough free memory for another copy of the model: it needs about {needed_bytes / 1e6:,.0f} MB "
            f"plus {headroom / 1e6:,.0f} MB headroom, and {available / 1e6:,.0f} MB are free. Close other programs "
            "or compare fewer precisions at once.")
    if torch.device(device).type == "cuda":
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        if free < needed_bytes + headroom:
            raise MemoryShortError(f"The GPU has {free / 1e6:,.0f} MB free; another copy of the model needs about "
                                   f"{needed_bytes / 1e6:,.0f} MB plus headroom.")


@dataclass(frozen=True)
class Forward:
    logits: np.ndarray        # (seq, vocab) float32
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.logits.shape[0] / self.seconds if self.seconds > 0 else math.inf


def forward_logits(model: torch.nn.Module, ids: list[int], lock: threading.Lock | None = None) -> Forward:
    """One forward pass over `ids`; logits for every position, timed."""
    if not ids:
        raise ValueError("no tokens to run")
    device = next(model.parameters()).device
    x = torch.tensor([ids], device=device)                         # (1, seq)
    with (lock or contextlib.nullcontext()), torch.inference_mode():
        t0 = time.perf_counter()
        logits = model(input_ids=x).logits[0]                      # (seq, vocab)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
    return Forward(logits=logits.float().cpu().numpy(), seconds=seconds)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class Agreement:
    kl: float                 # mean KL(P_fp32 || P_quantized) over positions, in nats
    top1: float               # share of positions where both pick the same most likely next token
    perplexity: float         # exp(mean negative log-likelihood of the actual next tokens)
    reference_perplexity: float
    positions: int


def compare_logits(reference: np.ndarray, other: np.ndarray, ids: list[int]) -> Agreement:
    """Next-token distributions of a quantized model against the FP32 reference on the same tokens."""
    if reference.shape != other.shape or reference.shape[0] != len(ids):
        raise ValueError("both logit arrays must be (len(ids), vocab)")
    lp, lq = _log_softmax(reference), _log_softmax(other)                     # (seq, vocab)
    kl = float(np.mean(np.sum(np.exp(lp) * (lp - lq), axis=-1)))
    top1 = float(np.mean(reference.argmax(-1) == other.argmax(-1)))
    targets = np.asarray(ids[1:])
    if len(targets):
        nll_q = -lq[np.arange(len(targets)), targets]                          # each token given the ones before
        nll_p = -lp[np.arange(len(targets)), targets]
        ppl, ref_ppl = float(np.exp(nll_q.mean())), float(np.exp(nll_p.mean()))
    else:
        ppl = ref_ppl = math.nan
    return Agreement(kl=max(kl, 0.0), top1=top1, perplexity=ppl, reference_perplexity=ref_ppl,
                     positions=reference.shape[0])


@dataclass(frozen=True)
class Generation:
    ids: tuple[int, ...]
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return len(self.ids) / self.seconds if self.seconds > 0 else math.inf


def greedy_generate(model: torch.nn.Module, prompt_ids: list[int], max_new_tokens: int, stop_ids: set[int],
                    lock: threading.Lock | None = None) -> Generation:
    """Greedy continuation (always the most likely token), so differences come from the weights alone.

    The stop token that ends the answer is not part of `ids`."""
    if not prompt_ids:
        raise ValueError("the prompt is empty")
    device = next(model.parameters()).device
    x = torch.tensor([prompt_ids], device=device)                  # (1, seq)
    with lock or contextlib.nullcontext():                         # timed once the lock is ours
        t0 = time.perf_counter()
        out = greedy_continue(model, x, max_new_tokens, stop_ids)
        seconds = time.perf_counter() - t0
    new = [i for i in out if i not in stop_ids]
    return Generation(ids=tuple(new), seconds=seconds)
