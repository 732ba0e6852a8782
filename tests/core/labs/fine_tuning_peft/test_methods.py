"""Page 7's methods: LoRA arithmetic, trainable counts equal to peft's, and settings that cannot train."""
from __future__ import annotations

import copy
import math
from types import SimpleNamespace

import pytest

from core.labs.fine_tuning_peft import methods
from core.labs.fine_tuning_peft.methods import Method, MethodError

SMOLLM2 = SimpleNamespace(hidden_size=576, intermediate_size=1536, num_attention_heads=9, num_key_value_heads=3,
                          head_dim=64, num_hidden_layers=30)


def test_the_decks_lora_example_and_smollm2s_matrices():
    assert methods.lora_counts(512, 64, 8) == (32_768, 4_608)
    rows = {r.module: r for r in methods.lora_table(SMOLLM2, 8)}
    assert rows["q_proj"].shape == (576, 576) and rows["q_proj"].lora == 9_216 * 30
    assert rows["k_proj"].shape == (192, 576) and rows["down_proj"].shape == (576, 1536)
    with pytest.raises(MethodError):
        methods.lora_counts(512, 64, 0)
    with pytest.raises(MethodError, match="larger than"):
        methods.lora_counts(512, 64, 65)


@pytest.mark.parametrize("method", [
    Method("lora", lr=1e-3, rank=1, targets=("q_proj",)),
    Method("lora", lr=1e-3, rank=8),
    Method("lora", lr=1e-3, rank=4, targets=methods.LORA_TARGETS),
    Method("prompt", lr=1e-2, virtual_tokens=7),
])
def test_trainable_counts_equal_peft(tiny, tokenizer, method):
    model = methods.apply(copy.deepcopy(tiny), method, tokenizer)
    trainable, total = methods.count_parameters(model)
    assert (trainable, total) == model.get_nb_trainable_parameters()
    if method.kind == "prompt":
        assert trainable == 7 * 32


def test_full_and_selective_counts(tiny):
    full = methods.apply(copy.deepcopy(tiny), Method("full", lr=1e-4))
    assert methods.count_parameters(full)[0] == sum(p.numel() for p in tiny.parameters())
    selective = methods.apply(copy.deepcopy(tiny), Method("selective", lr=1e-4, last_layers=1))
    layer = sum(p.numel() for p in tiny.model.layers[-1].parameters()) + tiny.model.norm.weight.numel()
    assert methods.count_parameters(selective)[0] == layer


def test_prompt_tuning_starts_from_the_texts_embeddings(tiny, tokenizer):
    method = Method("prompt", lr=1e-2, virtual_tokens=3, init_text="hello world")
    model = methods.apply(copy.deepcopy(tiny), method, tokenizer)
    ids = tokenizer("hello world", add_special_tokens=False)["input_ids"]
    expected = tiny.get_input_embeddings().weight[(ids * 3)[:3]]
    assert (model.prompt_encoder["default"].embedding.weight - expected).abs().max() == 0


@pytest.mark.parametrize("method, message", [
    (Method("lora", lr=0.0), "above 0"), (Method("lora", lr=-1e-3), "above 0"),
    (Method("lora", lr=math.nan), "a number"), (Method("full", lr=1e9), "refused"),
    (Method("lora", lr=1e-3, rank=0), "at least 1"), (Method("lora", lr=1e-3, rank=600), "larger than"),
    (Method("lora", lr=1e-3, targets=()), "at least one module"),
    (Method("lora", lr=1e-3, targets=("wq",)), "not a module"),
    (Method("prompt", lr=1e-3, virtual_tokens=0), "1 to 100"),
    (Method("selective", lr=1e-3, last_layers=31), "1 to 30"),
])
def test_settings_that_cannot_train_get_one_sentence(method, message):
    with pytest.raises(MethodError, match=message):
        methods.check(method, SMOLLM2)
