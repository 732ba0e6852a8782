"""Pages 1 (hallucination) and 5 (architectures, objectives, model cards) under AppTest."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages import apptest

ROOT = Path(__file__).resolve().parents[2]
PAGE1, PAGE5 = "app_pages/01_generative_ai.py", "app_pages/05_model_cards_architectures.py"
BAD_TEXT = ["", "   ", "<script>alert(1)</script><img src=x onerror=alert(2)>", "🍕👨‍👩‍👧 東京 مرحبا", "word " * 3000]


def open_page(page: str) -> AppTest:
    return apptest.open_page(page, timeout=180)


def table_with(at: AppTest, column: str):
    """The dataframe that has this column (AppTest does not expose a dataframe's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def test_page5_renders_table_cards_and_buttons_without_loading_models():
    at = open_page(PAGE5)
    table = table_with(at, "bundled")
    assert list(table["model"])[:3] == ["BERT-base", "RoBERTa-base", "GPT-2"]
    assert len(table) == 9 and int(table.loc[table["model"] == "GPT-2", "parameters"].iloc[0]) == 124_439_808
    headings = [m.value for m in at.markdown if m.value.startswith("##### ")]
    assert headings.count("##### 5. Evaluation") == 2            # one card per bundled model
    assert any("state no evaluation results" in c.value for c in at.caption)
    keys = {b.key for b in at.button}
    assert {"arch_families_causal-lm_load", "arch_families_sentence-encoder_load"} <= keys or \
        not any("not loaded yet" in c.value for c in at.caption)   # models already loaded by another test


def test_page5_span_corruption_and_masking_react_to_input():
    at = open_page(PAGE5)
    at.text_input(key="arch_objectives_span_text").input("one two three four five six seven eight nine ten").run()
    codes = [c.value for c in at.code]
    assert any("<extra_id_0>" in c for c in codes) and not at.exception
    at.text_input(key="arch_objectives_mlm_text").input("Paris is lovely").run()
    rows = table_with(at, "original token")
    assert len(rows) == 1 and rows["original token"].iloc[0] in ("paris", "is", "lovely")
    assert any("no masked-LM head" in i.value for i in at.info)


@pytest.mark.parametrize("text", BAD_TEXT)
def test_page5_bad_input(text):
    at = open_page(PAGE5)
    for key in ("arch_families_text", "arch_objectives_prefix", "arch_objectives_mlm_text", "arch_objectives_span_text"):
        at.text_input(key=key).input(text)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if not text.strip():
        assert len(at.info) >= 4
    if len(text) > 2000:
        assert any("only the first 2,000" in w.value for w in at.warning)


@pytest.mark.model
def test_page5_live_models():
    at = open_page(PAGE5)
    if any(b.key == "arch_objectives_clm_load" for b in at.button):
        button(at, "arch_objectives_clm_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Computed by SmolLM2 from your 5 token(s)" in c.value for c in at.caption)
    for kind in ("causal-lm", "sentence-encoder"):
        if any(b.key == f"arch_families_{kind}_load" for b in at.button):
            button(at, f"arch_families_{kind}_load").click().run()
    shares = [c.value for c in at.caption if "Share of attention on *later* tokens" in c.value]
    assert len(shares) == 2 and "**0.0%**" in shares[1]          # the decoder never looks ahead
    assert "**0.0%**" not in shares[0]                              # the encoder does
    at.text_input(key="arch_families_text").input("<b>Hi</b> 🍕 " * 40).run()
    assert not at.exception and any("first 24 of" in c.value for c in at.caption)


def test_page1_question_presets_and_empty_question():
    at = open_page(PAGE1)
    assert at.text_input(key="hallucination_question").value == "How is Batman?"
    at.selectbox(key="hallucination_preset").select("A made-up book").run()
    assert "Glass Orchard" in at.text_input(key="hallucination_question").value
    at.text_input(key="hallucination_question").input("   ").run()
    button(at, "hallucination_ask").click().run()
    assert not at.exception and any("Type a question first" in i.value for i in at.info)


@pytest.mark.model
@pytest.mark.parametrize("question", ["How is Batman?", "<script>alert('x')</script> 🍕?", "why " * 400])
def test_page1_hallucination_answers_with_probabilities(question):
    at = open_page(PAGE1)
    at.text_input(key="hallucination_question").input(question)
    at.select_slider(key="hallucination_temperature").set_value(0.0)
    at.slider(key="hallucination_length").set_value(16)
    button(at, "hallucination_ask").click().run()
    assert not at.exception, [e.value for e in at.exception]
    result = at.session_state["hallucination_result"]
    assert all(0.0 < p <= 1.0 and r >= 1 for _, p, r in result["tokens"])
    if not result["tokens"]:        # the model may end at once on a nonsense question: the page says so
        assert any("without a single visible token" in i.value for i in at.info)
        return
    assert result["question"] == question[:1000]
    if len(question) > 1000:
        assert any("only the first 1,000" in w.value for w in at.warning)
    assert result["tokens"] or len(question) > 1000
    labels = [m.label for m in at.metric]
    assert "Average probability" in labels
    # Greedy decoding: every token was the model's top choice.
    assert all(r == 1 for _, _, r in result["tokens"])


def test_page1_a_stopped_answer_is_kept_and_labelled():
    """A run that ended mid-answer (Stop, or any widget that reran the page) leaves its tokens in the session;
    the next run shows them as a stopped answer instead of losing them. (The browser test presses Stop for real.)"""
    at = open_page(PAGE1)
    at.session_state["hallucination_partial"] = {"question": "How is Batman?", "tokens": [("Batman", 0.4, 2),
                                                 (" is", 0.9, 1)], "stop": "cancelled", "temperature": 0.7,
                                                 "seed": 0, "length": 64}
    at.run()
    assert not at.exception
    assert at.session_state["hallucination_result"]["tokens"][0][0] == "Batman"
    assert "hallucination_partial" not in at.session_state
    assert any("Stopped before the end" in c.value for c in at.caption)


def test_answer_html_escapes_and_colours():
    from components.labs.generative_ai.hallucination_view import answer_html, band

    out = answer_html([("<script>x</script>", 0.95, 1), ("\nnext", 0.1, 7)])
    assert "<script>" not in out and "&lt;script&gt;" in out and "<br>next" in out
    assert band(0.95)[0] in out and band(0.1)[0] in out
    assert band(0.8)[1].startswith("80") and band(0.0)[1].startswith("under")
