"""Parameter counts computed from the shipped config.json files on the meta device (core/architectures.py)."""
from __future__ import annotations

import pytest

from core import architectures as arch

# Exact totals of the Hugging Face classes named in the configs (tied weights counted once).
EXACT = {
    "GPT-2": 124_439_808,
    "T5-small": 60_506_624,
    "FLAN-T5-base": 247_577_856,
    "BLOOM-176B": 176_247_271_424,
    "LLaMA-65B": 65_285_660_672,
    "SmolLM2-135M-Instruct": 134_515_008,
    "all-MiniLM-L6-v2": 22_713_216,
}


def test_known_models_lists_the_issue_models():
    names = arch.known_models()
    for n in ("BERT-base", "RoBERTa-base", "GPT-2", "BLOOM-176B", "T5-small", "FLAN-T5-base", "LLaMA-65B",
              "SmolLM2-135M-Instruct", "all-MiniLM-L6-v2"):
        assert n in names
    assert {arch.entry(n).family for n in names} == set(arch.FAMILIES)


@pytest.mark.parametrize("name", arch.known_models())
def test_totals_match_the_published_counts_within_one_percent(name):
    b = arch.parameter_breakdown(name)
    published = arch.entry(name).published
    assert abs(b.total - published) / published < 0.01, (name, b.total, published)
    assert b.total == sum(getattr(b, k) for k in arch.BUCKETS)
    assert all(getattr(b, k) >= 0 for k in arch.BUCKETS)
    assert b.layers > 0 and b.heads > 0 and b.hidden_size > 0 and b.vocab_size > 0 and b.context_length > 0


@pytest.mark.parametrize("name,total", EXACT.items())
def test_exact_totals(name, total):
    assert arch.parameter_breakdown(name).total == total


def test_tied_embeddings_are_counted_once():
    gpt2 = arch.parameter_breakdown("GPT-2")
    assert gpt2.embeddings == 50257 * 768 + 1024 * 768    # wte (shared with the LM head) + wpe
    assert gpt2.other == 0
    t5 = arch.parameter_breakdown("T5-small")              # tied in its config
    flan = arch.parameter_breakdown("FLAN-T5-base")        # config says tie_word_embeddings=false
    assert t5.other == 0
    assert flan.other == 32128 * 768


def test_structure_from_the_configs():
    bert = arch.parameter_breakdown("BERT-base")
    assert ((bert.layers, bert.heads, bert.hidden_size, bert.vocab_size, bert.context_length)
            == (12, 12, 768, 30522, 512))
    llama = arch.parameter_breakdown("LLaMA-65B")
    assert (llama.layers, llama.heads, llama.hidden_size) == (80, 64, 8192)
    assert llama.mlp == 80 * 3 * 8192 * 22016
    assert llama.attention == 80 * 4 * 8192 * 8192
    t5 = arch.parameter_breakdown("T5-small")
    assert t5.layers == 12 and t5.family == "encoder-decoder"   # 6 encoder + 6 decoder blocks
    assert arch.parameter_breakdown("BLOOM-176B").context_length == 2048


def test_meta_models_hold_no_weights():
    model = arch.meta_model("LLaMA-65B")
    assert all(p.device.type == "meta" for p in model.parameters())


@pytest.mark.parametrize("pname,bucket", [
    ("bert.embeddings.word_embeddings.weight", "embeddings"),
    ("bert.embeddings.LayerNorm.weight", "norms"),
    ("bert.encoder.layer.0.attention.self.query.weight", "attention"),
    ("bert.encoder.layer.0.attention.output.dense.weight", "attention"),
    ("bert.encoder.layer.0.intermediate.dense.weight", "mlp"),
    ("bert.encoder.layer.0.output.dense.weight", "mlp"),
    ("bert.pooler.dense.weight", "other"),
    ("transformer.h.0.attn.c_attn.weight", "attention"),
    ("transformer.h.0.ln_1.weight", "norms"),
    ("transformer.h.0.mlp.c_fc.weight", "mlp"),
    ("transformer.word_embeddings_layernorm.weight", "norms"),
    ("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", "attention"),
    ("decoder.block.0.layer.2.DenseReluDense.wi_0.weight", "mlp"),
    ("shared.weight", "embeddings"),
    ("model.layers.0.self_attn.q_proj.weight", "attention"),
    ("model.layers.0.post_attention_layernorm.weight", "norms"),
    ("lm_head.weight", "other"),
])
def test_bucket_of(pname, bucket):
    assert arch.bucket_of(pname) == bucket


def test_unknown_model_is_a_clear_error():
    with pytest.raises(arch.ArchitectureError, match="unknown model"):
        arch.parameter_breakdown("GPT-5")


def test_human_count():
    assert arch.human_count(176_247_271_424) == "176.2 B"
    assert arch.human_count(124_439_808) == "124.4 M"
    assert arch.human_count(22_713_216) == "22.7 M"
    assert arch.human_count(512) == "512"


@pytest.mark.model
def test_counts_agree_with_the_loaded_bundled_encoder(encoder):
    """The teaching count (meta device, from config) equals the real loaded model's parameter count."""
    status = encoder.status("all-minilm-l6-v2")
    assert arch.parameter_breakdown("all-MiniLM-L6-v2").total == status.parameters


@pytest.mark.model
def test_counts_agree_with_the_loaded_bundled_decoder(decoder):
    status = decoder.status("smollm2-135m-instruct")
    assert arch.parameter_breakdown("SmolLM2-135M-Instruct").total == status.parameters
