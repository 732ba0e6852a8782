"""Text a learner types is echoed as literal text: captions and Markdown never read it as markup.

The model's forward pass is stubbed (tests/pages/stubs.py): these run in the fast tier and take seconds."""
from __future__ import annotations

import numpy as np

from components.common.text import literal
from core.serving.tokens import make_visible
from tests.pages import apptest, stubs

MARKUP = "**bold** :red[x] $x^2$ [a](http://e.com)"
RAW = ("**bold**", ":red[x]", "$x^2$", "[a](http://e.com)")


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def assert_literal(values: list[str], expected: str) -> None:
    """One of `values` (markdown bodies) holds `expected` (the escaped text) and none holds the raw markup."""
    assert any(expected in v for v in values), (expected, values)
    for v in values:
        assert not any(raw in v for raw in RAW), v


def test_literal_escapes_every_piece_of_the_markup():
    escaped = literal(MARKUP)
    assert escaped == r"\*\*bold\*\* \:red\[x\] \$x\^2\$ \[a\]\(http\://e\.com\)"
    assert not any(raw in escaped for raw in RAW)


def test_stop_sequence_caption_is_literal(monkeypatch):
    """Page 4: the stop sequences typed are listed in a caption when none of them ended the answer."""
    from components.labs.inference_configuration import sampling_lab_view

    stubs.decoder_always_ready(monkeypatch, sampling_lab_view)
    stubs.flat_next_token_logits(monkeypatch)
    stubs.fake_generation(monkeypatch, lambda messages: "Once upon a time")
    at = apptest.open_page("app_pages/04_inference_configuration.py", timeout=120)
    at.text_area(key="sampling_prompt").input(MARKUP).run()
    at.number_input(key="generation_max_new").set_value(4).run()
    at.text_area(key="generation_stops").input(MARKUP).run()
    next(b for b in ok(at).button if b.key == "generation_run").click().run()
    captions = [c.value for c in ok(at).caption]
    stop_caption = [c for c in captions if c.startswith("None of your stop sequences appeared")]
    assert_literal(stop_caption, literal(make_visible(MARKUP)))
    prompt_caption = [c for c in captions if c.startswith("Prompt: ")]
    assert_literal(prompt_caption, literal(MARKUP))


def test_embeddings_word_caption_is_literal(monkeypatch):
    """Page 2: a word of several tokens is named in a caption next to the neighbours chart."""
    from components.labs.inside_transformer import cache
    from core.serving.inspection import TokenEmbeddings

    rng = np.random.default_rng(0)
    monkeypatch.setattr(cache, "token_embeddings", lambda text, max_tokens: TokenEmbeddings(
        ids=(504, 3287), tokens=("The", " king"), vectors=rng.normal(size=(2, 64)).astype(np.float32),
        truncated_from=0))
    monkeypatch.setattr(cache, "nearest_tokens", lambda token_id, n: [(token_id, "king", 1.0), (7, "queen", 0.5)])
    at = apptest.open_page("app_pages/02_inside_transformer.py", timeout=120, check=False)
    at.text_input(key="embeddings_word").input(MARKUP).run()
    captions = [c.value for c in at.caption if "showing the neighbours of the first" in c.value]
    assert_literal(captions, f"“{literal(make_visible(MARKUP))}” is ")


def test_quantization_prompt_echo_is_literal(monkeypatch):
    """Page 6: the results repeat the prompt their answers belong to."""
    from components.labs.compute_quantization import quantization_view
    from core.serving.model_service import ModelService

    def run(service, schemes, group, prompt, new_tokens):
        row = {"scheme": "FP32", "size": 1e6, "estimate": 1e6, "quantize s": 0.0, "tok/s (fixed text)": 1.0,
               "gen tok/s": 1.0, "KL (fixed text)": 0.0, "top-1 (fixed text)": 1.0, "perplexity": 1.0,
               "KL (your prompt)": 0.0, "top-1 (your prompt)": 1.0}
        return {"rows": [row], "answers": {"FP32": "Paris."}, "notes": {}, "prompt": prompt, "group": group,
                "fixed_tokens": 3}

    monkeypatch.setattr(ModelService, "load", lambda self, *args, **kwargs: None)
    monkeypatch.setattr(quantization_view, "_run", run)
    at = apptest.open_page("app_pages/06_compute_quantization.py", timeout=120)
    at.text_input(key="quant_prompt").input(MARKUP).run()
    at.button(key="quant_run").click().run()
    echoes = [m.value for m in ok(at).markdown if m.value.startswith("**Greedy answers to:**")]
    assert_literal(echoes, f"**Greedy answers to:** {literal(MARKUP)}")


# ---- page 3: saved comparison answers belong to the exact prompts sent -----------------------------------
def answer_captions(at) -> list[str]:
    return [c.value for c in ok(at).caption if " · prompt " in c.value]


def test_prompt_builder_comparison_goes_stale_when_the_examples_change(monkeypatch):
    from components.labs.prompt_engineering import prompt_builder_view

    stubs.decoder_always_ready(monkeypatch, prompt_builder_view)
    asked = stubs.fake_generation(monkeypatch, lambda messages: "Positive")
    at = apptest.open_page("app_pages/03_prompt_engineering.py", timeout=120)
    next(b for b in at.button if b.key == "prompt_builder_compare").click().run()
    assert len(answer_captions(at)) == 3 and len(asked) == 3
    at.run()
    assert len(answer_captions(at)) == 3 and len(asked) == 3          # nothing changed: the answers stay, not rerun

    examples = [dict(e) for e in at.session_state["prompt_builder_examples_sentiment"]]
    examples[0]["input"] = "The zebra-striped sofa arrived broken."   # an edited worked example
    at.session_state["prompt_builder_examples_sentiment"] = examples
    at.run()
    assert answer_captions(at) == [], "answers to the old examples must not be shown for the new prompts"

    next(b for b in at.button if b.key == "prompt_builder_compare").click().run()
    assert len(answer_captions(at)) == 3 and len(asked) == 6
    assert all("zebra-striped" in messages[0]["content"] for messages in asked[-2:])   # one- and few-shot


def test_prompt_builder_comparison_is_kept_per_model(monkeypatch):
    """The saved answers name the model that gave them: another decoder's answers are never shown as this one's."""
    from components.labs.prompt_engineering import prompt_builder_view

    stubs.decoder_always_ready(monkeypatch, prompt_builder_view)
    stubs.fake_generation(monkeypatch)
    at = apptest.open_page("app_pages/03_prompt_engineering.py", timeout=120)
    next(b for b in at.button if b.key == "prompt_builder_compare").click().run()
    assert len(answer_captions(at)) == 3
    model, prompts, max_new = at.session_state["prompt_builder_compare_key"]
    assert [name for name, _ in prompts] == ["zero-shot", "one-shot", "few-shot"]
    assert all(messages[0][0] == "user" for _, messages in prompts)
    at.session_state["prompt_builder_compare_key"] = ("another-decoder", prompts, max_new)   # saved by another model
    at.run()
    assert answer_captions(at) == []
