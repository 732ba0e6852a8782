"""The attention masks of the three families and their pre-training objectives (masked tokens, span corruption)."""
from __future__ import annotations

import pytest

from core.labs.model_cards_architectures import architectures as arch


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
