"""Parameter counts computed from the shipped config.json files on the meta device."""
from __future__ import annotations

import pytest

from core.labs.model_cards_architectures import architectures as arch

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
    assert (bert.layers, bert.heads, bert.hidden_size, bert.vocab_size, bert.context_length) == (12, 12, 768, 30522, 512)
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


# ---- masks and objectives ------------------------------------------------------------------------
def test_masks():
    assert arch.causal_mask(3).tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    assert arch.full_mask(2).tolist() == [[1, 1], [1, 1]]
    m = arch.encoder_decoder_mask(3, 2)
    assert m[:3, :3].all() and not m[:3, 3:].any()          # encoder: full over the source, never the target
    assert m[3:, :3].all()                                   # cross-attention: every source token
    assert m[3:, 3:].tolist() == [[1, 0], [1, 1]]            # decoder: causal over the target
    with pytest.raises(ValueError):
        arch.encoder_decoder_mask(0, 2)


TOKENS = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
SPECIAL = [True, False, False, False, False, False, False, True]


def test_mlm_masks_ordinary_tokens_only_and_is_repeatable():
    a = arch.mask_for_mlm(TOKENS, SPECIAL, ["dog", "house"], rate=0.5, seed=3)
    b = arch.mask_for_mlm(TOKENS, SPECIAL, ["dog", "house"], rate=0.5, seed=3)
    assert a == b
    assert len(a.chosen) == 3 and 0 not in a.chosen and 7 not in a.chosen
    for i in range(len(TOKENS)):
        if i in a.chosen:
            assert a.targets[i] == TOKENS[i] and a.actions[i] in ("masked", "random", "kept")
            assert (a.inputs[i] == "[MASK]") == (a.actions[i] == "masked")
        else:
            assert a.targets[i] is None and a.inputs[i] == TOKENS[i] and a.actions[i] == ""


def test_mlm_follows_the_80_10_10_recipe_on_average():
    tokens = ["w"] * 2000
    ex = arch.mask_for_mlm(tokens, [False] * 2000, ["x"], rate=0.5, seed=0)
    actions = [ex.actions[i] for i in ex.chosen]
    assert len(actions) == 1000
    assert 0.75 < actions.count("masked") / 1000 < 0.85
    assert 0.06 < actions.count("random") / 1000 < 0.14


def test_mlm_bad_input():
    with pytest.raises(ValueError, match="no ordinary token"):
        arch.mask_for_mlm(["[CLS]", "[SEP]"], [True, True], ["x"])
    with pytest.raises(ValueError):
        arch.mask_for_mlm(["a"], [False, False], ["x"])
    assert len(arch.mask_for_mlm(["a"], [False], ["x"], rate=0.01).chosen) == 1   # at least one


def test_span_corruption_round_trips():
    text = "Thank you for inviting me to your party last week it was a wonderful evening with friends"
    for seed in range(20):
        ex = arch.span_corruption(text, noise_density=0.3, seed=seed)
        assert ex == arch.span_corruption(text, noise_density=0.3, seed=seed)
        # Put the target's spans back into the input's sentinels: the original text comes back.
        pieces = ex.targets.split()
        fill, current = {}, None
        for w in pieces:
            if w.startswith("<extra_id_"):
                current = w
                fill[current] = []
            else:
                fill[current].append(w)
        rebuilt = " ".join(" ".join(fill[w]) if w in fill else w for w in ex.inputs.split())
        assert rebuilt == text
        assert ex.targets.split()[-1] == f"<extra_id_{len(ex.spans)}>"
        dropped = sum(b - a for a, b in ex.spans)
        assert dropped == round(len(ex.words) * 0.3)


def test_span_corruption_bad_input():
    with pytest.raises(ValueError, match="two words"):
        arch.span_corruption("   ")
    with pytest.raises(ValueError, match="two words"):
        arch.span_corruption("one")
    with pytest.raises(TypeError):
        arch.span_corruption(None)
    ex = arch.span_corruption("<script>alert(1)</script> 🍕 東京")   # odd text is just words
    assert "<extra_id_0>" in ex.inputs
