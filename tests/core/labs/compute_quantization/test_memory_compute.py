"""The deck's memory and compute numbers, exactly; the 6·N·D and 20× rules; bad input."""
import math

import pytest

from core.labs.compute_quantization import compute as cp
from core.labs.compute_quantization import memory as mem


def test_deck_store_and_train_1b_at_32_bit():
    assert mem.weights_bytes(1e9, "FP32") == 4e9                      # 4 × 10^9 bytes
    assert mem.estimate(1e9).total_gb == 4
    train = mem.estimate(1e9, "FP32", "full training (Adam)")
    assert train.total_gb == 24
    assert train.per_param == {"weights": 4, "Adam optimizer (2 states)": 8, "gradients": 4,
                               "activations & temporaries": 8}


@pytest.mark.parametrize("n,gb", [(175e9, 4200), (500e9, 12000)])
def test_deck_large_models_at_32_bit(n, gb):
    assert mem.estimate(n, "FP32", "full training (Adam)").total_gb == gb


def test_deck_gpu_ram_to_store_1b_per_precision():
    got = {p: mem.weights_bytes(1e9, p) / mem.GB for p in mem.PRECISIONS}
    assert got == {"FP32": 4, "FP16": 2, "BF16": 2, "INT8": 1, "INT4": 0.5}
    assert mem.weights_bytes(1e9, "FP32") / mem.GIB == pytest.approx(3.725, abs=1e-3)   # why GB, not GiB


def test_gpus_needed_matches_lesson():
    assert mem.gpus_needed(4200e9, 80) == 53
    assert mem.gpus_needed(80e9, 80) == 1
    assert mem.gpus_needed(80.1e9, 80) == 2
    assert mem.fewest_gpus(175e9, 80)[mem.SHARDING[-1]] == 53
    assert mem.fewest_gpus(175e9, 80)[mem.SHARDING[0]] is None        # data parallel never fits
    assert mem.fewest_gpus(1e9, 80)[mem.SHARDING[0]] == 1


def test_sharding_divides_the_right_parts():
    per = mem.per_gpu_training_bytes(1e9, 4)
    dp, z1, z2, z3 = (per[s] for s in mem.SHARDING)
    assert sum(dp.values()) == 4e9 + 8e9 + 4e9 + 2e9                  # only activations split
    assert z1["Adam optimizer (2 states)"] == 2e9 and z1["gradients"] == 4e9
    assert z2["gradients"] == 1e9 and z2["weights"] == 4e9
    assert sum(z3.values()) == 24e9 / 4


def test_data_parallel_fits_when_the_replicated_parts_fit_one_gpu():
    # 4B at FP32: 96 GB to train does not fit one 80 GB GPU, but weights + gradients + Adam (16 bytes/param
    # = 64 GB) do; only the activations (32 GB) shrink with each GPU's share of the batch.
    assert mem.gpus_needed(mem.estimate(4e9, "FP32", "full training (Adam)").total_bytes, 80) == 2
    assert mem.fewest_gpus(4e9, 80)[mem.SHARDING[0]] == 2
    dp = mem.per_gpu_training_bytes(4e9, 2)[mem.SHARDING[0]]
    assert sum(dp.values()) == 64e9 + 16e9 <= 80e9
    # 5B: the replicated 80 GB alone fill the GPU, so data parallelism never fits
    assert mem.fewest_gpus(5e9, 80)[mem.SHARDING[0]] is None


def test_mixed_precision_and_lora_and_kv_cache():
    assert sum(mem.training_bytes_per_param("BF16").values()) == 20
    with pytest.raises(mem.InputError, match="LoRA"):
        mem.estimate(1e9, "INT4", "full training (Adam)")
    lora = mem.estimate(1e9, "INT4", "LoRA training", lora_fraction=0.01)
    assert lora.parts["weights"] == 0.5e9 and lora.parts["LoRA adapters + Adam + gradients"] == pytest.approx(0.16e9)
    # SmolLM2: 30 layers, 576 hidden, 9 heads, 3 KV heads -> 192 values per token per layer for K and for V.
    shape = mem.KvCacheShape(30, 576, 9, 3)
    assert shape.kv_width == 192
    assert mem.kv_cache_bytes(shape, 8192, 1, 2) == 2 * 30 * 8192 * 192 * 2
    est = mem.estimate(134.5e6, "BF16", "inference", kv_shape=shape, context_length=8192, batch=2)
    assert est.parts["KV cache"] == 2 * 30 * 2 * 8192 * 192 * 2


@pytest.mark.parametrize("bad", [0, -5, 1e15, float("nan"), float("inf"), "abc", "", None, True, "1e15", "-3B"])
def test_bad_parameter_counts_are_refused_with_a_message(bad):
    with pytest.raises(mem.InputError) as info:
        mem.parse_parameter_count(bad)
    assert str(info.value)


@pytest.mark.parametrize("text,n", [("7B", 7e9), ("175 billion", 175e9), ("135M", 135e6), ("1.5e9", 1.5e9),
                                    ("70,000,000", 7e7), ("1T", 1e12), (2_000, 2e3)])
def test_parameter_counts_parse(text, n):
    assert mem.parse_parameter_count(text) == n


def test_known_models_come_from_configs_and_published_numbers():
    models = {m.name: m for m in mem.known_models()}
    assert models["SmolLM2-135M-Instruct"].parameters == 134_515_008
    assert models["SmolLM2-135M-Instruct"].kv_shape == mem.KvCacheShape(30, 576, 9, 3)
    assert models["GPT-3 175B"].parameters == 175e9 and "Brown" in models["GPT-3 175B"].source
    assert models["BERT-base"].kv_shape is None                       # an encoder keeps no KV cache


def test_encoder_decoder_kv_cache_counts_decoder_layers_plus_cross_attention():
    # T5-small: 6 encoder + 6 decoder layers, d_model 512, 8 heads of d_kv 64. Only the decoder caches.
    t5 = {m.name: m for m in mem.known_models()}["T5-small"]
    assert t5.layers == 12
    shape = t5.kv_shape
    assert shape == mem.KvCacheShape(6, 512, 8, 8, cross_attention=True) and shape.kv_width == 512
    parts = mem.kv_cache_parts(shape, context_length=100, batch=2, bytes_per_value=2, source_length=400)
    assert parts == {"self-attention": 2 * 6 * 2 * 100 * 512 * 2,        # grows with generated tokens
                     "cross-attention": 2 * 6 * 2 * 400 * 512 * 2}      # encoder output, projected once
    est = mem.estimate(60e6, "FP32", "inference", kv_shape=shape, context_length=100, batch=2, source_length=400)
    assert est.parts["KV cache"] == 2 * 6 * 2 * 4 * 512 * (100 + 400)
    assert any("encoder layers keep no cache" in note for note in est.assumptions)
    # a decoder-only shape has no cross-attention part
    assert set(mem.kv_cache_parts(mem.KvCacheShape(30, 576, 9, 3), 10, 1)) == {"self-attention"}
    # T5's head width d_kv need not be d_model / heads (as in T5-3B: d_model 1024, 32 heads × 128)
    assert mem.KvCacheShape(24, 1024, 32, 32, head_dim=128, cross_attention=True).kv_width == 4096


def test_six_n_d_and_petaflop_s_days():
    assert cp.PETAFLOP_S_DAY == 8.64e19
    flops = cp.training_flops(175e9, 300e9)
    assert flops == 6 * 175e9 * 300e9 == pytest.approx(3.15e23)
    assert round(cp.petaflop_s_days(flops)) == 3646
    assert cp.gpu_days(8.64e19, 1000, 1.0) == pytest.approx(1.0)      # 1 PF/s for a day
    assert cp.chips_for_one_pfs_day(125) == 8                          # the deck's 8 V100s
    with pytest.raises(mem.InputError):
        cp.gpu_days(1e20, 312, 0)
    with pytest.raises(mem.InputError):
        cp.training_flops(1e9, float("nan"))


def test_chinchilla_table_matches_the_deck():
    got = [(m.name, "~" + cp.round_like_deck(m.optimal_tokens), cp.round_like_deck(m.tokens)) for m in cp.DECK_TABLE]
    assert got == [("Chinchilla", "~1.4T", "1.4T"), ("LLaMA-65B", "~1.3T", "1.4T"), ("GPT-3", "~3.5T", "300B"),
                   ("OPT-175B", "~3.5T", "180B"), ("BLOOM", "~3.5T", "350B")]
    assert cp.compute_optimal_tokens(70e9) == 1.4e12


def test_budget_gives_optimal_n_and_d():
    plan = cp.chinchilla_plan(6 * 70e9 * 1.4e12)                       # Chinchilla's own budget
    assert plan.parameters == pytest.approx(70e9) and plan.tokens == pytest.approx(1.4e12)
    assert plan.tokens_per_param == pytest.approx(20)
    assert 6 * plan.parameters * plan.tokens == pytest.approx(plan.budget_flops)
    for bad in (0, -1, math.nan, math.inf, "x"):
        with pytest.raises(mem.InputError):
            cp.chinchilla_plan(bad)
