import pytest
import torch

from core.serving.sampling import SamplingSettings, choose_token, sampling_distribution

LOGITS = torch.tensor([2.0, 1.0, 0.0, -1.0])


def test_temperature_zero_is_greedy():
    probs = sampling_distribution(LOGITS, SamplingSettings(temperature=0))
    assert probs.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_temperature_one_is_softmax():
    probs = sampling_distribution(LOGITS, SamplingSettings(temperature=1.0))
    assert torch.allclose(probs, torch.softmax(LOGITS, -1))


def test_top_k_keeps_k_tokens_and_renormalises():
    probs = sampling_distribution(LOGITS, SamplingSettings(temperature=1.0, top_k=2))
    assert (probs > 0).sum() == 2 and abs(probs.sum().item() - 1) < 1e-6
    big_k = sampling_distribution(LOGITS, SamplingSettings(temperature=1.0, top_k=100))
    assert torch.allclose(big_k, torch.softmax(LOGITS, -1))


def test_top_p_keeps_smallest_set_reaching_p():
    full = torch.softmax(LOGITS, -1)  # [0.644, 0.237, 0.087, 0.032]
    probs = sampling_distribution(LOGITS, SamplingSettings(temperature=1.0, top_p=0.7))
    assert (probs > 0).tolist() == [True, True, False, False]
    assert torch.allclose(probs[:2], full[:2] / full[:2].sum())
    assert torch.allclose(sampling_distribution(LOGITS, SamplingSettings(temperature=1.0, top_p=1.0)), full)


# top_p=0 is valid since the processor pipeline: like transformers, it keeps just the top token.
@pytest.mark.parametrize("kwargs", [dict(temperature=-1), dict(top_k=-2), dict(top_p=-0.1), dict(top_p=1.5),
                                    dict(max_new_tokens=0), dict(max_new_tokens=100_000)])
def test_settings_are_validated(kwargs):
    with pytest.raises(ValueError):
        SamplingSettings(**kwargs)


def test_seeded_draws_repeat():
    probs = torch.softmax(LOGITS, -1)
    draws = lambda: [choose_token(probs, g) for g in [torch.Generator().manual_seed(7)] for _ in range(20)]
    assert draws() == draws()
