"""The shared measurements (core/serving/measure.py): agreement of two models' logits, the free-memory check, the
size of a model with tied weights, and a timed forward pass and greedy continuation on a tiny model."""
import math

import numpy as np
import pytest
import torch

from core.serving import measure


def test_compare_logits():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(5, 11)).astype(np.float32)
    ids = [1, 2, 3, 4, 5]
    same = measure.compare_logits(ref, ref, ids)
    assert same.kl == 0 and same.top1 == 1 and same.perplexity == same.reference_perplexity
    lp = ref - np.log(np.exp(ref).sum(1, keepdims=True))
    assert same.perplexity == pytest.approx(math.exp(-np.mean([lp[i, ids[i + 1]] for i in range(4)])), rel=1e-6)
    other = measure.compare_logits(ref, ref[::-1].copy(), ids)
    assert other.kl > 0 and other.top1 < 1


def test_memory_check_refuses_with_a_message():
    with pytest.raises(measure.MemoryShortError, match="Not enough free memory"):
        measure.check_free_memory(600_000_000, available=700_000_000)
    measure.check_free_memory(1_000, available=10 ** 10)


def test_model_bytes_counts_a_tied_weight_once():
    net = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 10, bias=False))
    assert measure.model_bytes(net) == 2 * 10 * 4 * 4
    net[1].weight = net[0].weight                                    # tied, as a decoder's output head often is
    assert measure.model_bytes(net) == 10 * 4 * 4


def test_forward_logits_refuses_no_tokens():
    with pytest.raises(ValueError, match="no tokens"):
        measure.forward_logits(torch.nn.Linear(2, 2), [])
    with pytest.raises(ValueError, match="empty"):
        measure.greedy_generate(torch.nn.Linear(2, 2), [], 4, set())
