"""Quantize/de-quantize round trips on tiny tensors; one real run on the bundled decoder (the metrics it reads,
core/serving/measure.py, are tested in tests/core/serving/test_measure.py)."""
import pytest
import torch

from core.labs.compute_quantization import quantization as qz
from core.serving import measure


@pytest.fixture
def w():
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 96, generator=g) * torch.linspace(0.01, 2, 16).unsqueeze(1)   # rows of different scale


def test_int8_per_channel_round_trip_error_is_at_most_half_a_step(w):
    q, scale = qz.quantize_int8_per_channel(w)
    assert q.dtype == torch.int8 and q.shape == w.shape and scale.shape == (16, 1)
    assert q.abs().max() == 127                                      # each row's absmax maps to ±127
    err = (qz.dequantize_int8(q, scale) - w).abs()
    assert torch.all(err <= scale / 2 + 1e-6)


def test_int4_groupwise_round_trip_and_packing(w):
    packed, scales, shape = qz.quantize_int4_groupwise(w, 32)
    assert packed.dtype == torch.uint8 and packed.shape == (16, 48) and scales.shape == (16, 3)
    back = qz.dequantize_int4(packed, scales, shape, 32)
    err = (back - w).abs().reshape(16, 3, 32)
    assert torch.all(err <= scales.float().unsqueeze(2) / 2 * 1.01 + 1e-6)
    # the 4-bit codes survive packing: values on the grid come back exactly
    grid = torch.arange(-8, 8).float().repeat(2, 2)                  # (2, 32)
    p, s, sh = qz.quantize_int4_groupwise(grid, 32)
    assert torch.equal(qz.dequantize_int4(p, s, sh, 32) / s.float(), torch.round(grid / s.float()))


def test_int4_pads_a_ragged_last_group():
    x = torch.randn(3, 70)
    packed, scales, shape = qz.quantize_int4_groupwise(x, 32)
    assert scales.shape == (3, 3) and qz.dequantize_int4(packed, scales, shape, 32).shape == (3, 70)


def test_zero_rows_and_bad_shapes():
    z = torch.zeros(2, 64)
    assert torch.equal(qz.fake_quantize(z, "INT8"), z) and torch.equal(qz.fake_quantize(z, "INT4"), z)
    with pytest.raises(ValueError):
        qz.quantize_int8_per_channel(torch.zeros(3))
    with pytest.raises(ValueError):
        qz.quantize_int4_groupwise(torch.zeros(2, 4), 3)
    with pytest.raises(ValueError):
        qz.fake_quantize(z, "INT3")


def test_float_schemes_round_like_torch(w):
    assert torch.equal(qz.fake_quantize(w, "BF16"), w.bfloat16().float())
    assert torch.equal(qz.fake_quantize(w, "FP16"), w.half().float())


def test_more_bits_less_error(w):
    errs = [float((qz.fake_quantize(w, s) - w).abs().mean()) for s in ("FP16", "BF16", "INT8", "INT4")]
    assert errs[0] < errs[1] < errs[2] < errs[3]


@pytest.mark.model
def test_quantized_copy_of_the_real_decoder(decoder):
    shared = decoder.borrowed_decoder()
    with shared as net:
        before = net.model.layers[0].mlp.down_proj.weight.detach().clone()
    ids = decoder.encode_ids(measure.FIXED_TEXT)
    with decoder.borrowed_decoder() as net:
        ref = measure.forward_logits(net, ids)
    results = {}
    for scheme in ("BF16", "INT8", "INT4"):
        q = qz.quantize_copy(decoder.decoder_copy(), scheme)
        logits = measure.forward_logits(q.model, ids, q.lock).logits
        results[scheme] = (q, measure.compare_logits(ref.logits, logits, ids))
    with decoder.borrowed_decoder() as net:                           # the shared model is untouched
        assert torch.equal(net.model.layers[0].mlp.down_proj.weight, before)
        assert net.model.layers[0].mlp.down_proj.weight.dtype == torch.float32
    n = results["INT8"][0].n_params
    assert n == 134_515_008
    assert results["BF16"][0].stored_bytes == 2 * n
    # INT8: linear weights at 1 byte + one FP32 scale per row; the 28.3M-parameter embedding and norms at BF16.
    int8 = results["INT8"][0]
    assert int8.n_quantized == n - 28_311_552 - 35_136
    assert int8.stored_bytes == (int8.n_quantized + int8.stored_parts["scales (FP32, one per row)"]
                                 + (n - int8.n_quantized) * 2)
    assert results["INT4"][0].stored_bytes < int8.stored_bytes < results["BF16"][0].stored_bytes
    assert results["BF16"][1].kl < results["INT8"][1].kl < results["INT4"][1].kl
    assert results["INT8"][1].top1 > 0.9


@pytest.mark.model
def test_build_quantized_measures_the_copy(decoder):
    q = qz.build_quantized(decoder.decoder_copy, "BF16")
    assert q.stored_bytes == 2 * q.n_params and q.cuda_peak_bytes == 0
    assert q.rss_growth_bytes >= 0
