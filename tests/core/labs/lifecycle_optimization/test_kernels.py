"""Real int8 kernels (torch dynamic quantization) on a tiny Llama: the variants build, run, keep the original
untouched, and stay close to FP32."""
from __future__ import annotations

import pytest
import torch

from core.labs.lifecycle_optimization import kernels


def test_this_cpu_has_an_int8_engine():
    assert kernels.int8_engine() is not None


@pytest.mark.parametrize("variant", kernels.VARIANTS)
def test_each_variant_runs_close_to_fp32_and_leaves_the_original_alone(tiny, variant):
    from core.serving.measure import forward_logits
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    ids = list(range(1, 40))                                        # the vocabulary has 64 tokens
    reference = forward_logits(tiny, ids).logits
    measured = kernels.measure(tiny, reference, ids, variant)
    assert measured.variant == variant and measured.generate_tokens_per_second > 0
    assert measured.kl < (1e-9 if variant == "FP32" else 0.05)
    assert all(torch.equal(before[k], v) for k, v in tiny.state_dict().items())


def test_int8_layers_are_really_quantized_and_smaller(tiny):
    every = kernels.build(tiny, "INT8, every linear layer")
    kept = kernels.build(tiny, "INT8, down_proj kept in FP32")
    quantized = torch.ao.nn.quantized.dynamic.Linear
    assert isinstance(every.model.layers[0].mlp.down_proj, quantized)
    assert isinstance(kept.model.layers[0].mlp.up_proj, quantized)
    assert isinstance(kept.model.layers[0].mlp.down_proj, torch.nn.Linear)
    assert not isinstance(every.lm_head, quantized)                       # the tied head stays as it is
    assert kernels.stored_bytes(every) < kernels.stored_bytes(kept) < kernels.stored_bytes(tiny)


def test_unknown_variant_is_refused(tiny):
    with pytest.raises(kernels.KernelError):
        kernels.build(tiny, "INT3")
